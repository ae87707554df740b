# syntax=docker/dockerfile:1
# switchyard gateway image: Bun runs the TypeScript sources directly (no build step today).
#
#   docker build -t switchyard:local .
#   docker run -p 3333:3333 -e SWITCHYARD_API_KEY=... \
#     -v "$PWD/switchyard.config.json:/etc/switchyard/switchyard.config.json:ro" \
#     -v switchyard-state:/var/lib/switchyard switchyard:local
#
# Inside a container the gateway must listen on 0.0.0.0 (loopback there is unreachable from outside), so the
# default command passes `--host 0.0.0.0`. A non-loopback bind without API keys logs a loud warning: anyone who
# can reach the port can use your models. Give the mounted config `auth.keys` (e.g. `{ "keyEnv":
# "SWITCHYARD_API_KEY" }` and the key in the container's environment), and `auth.adminKey`/`adminKeyEnv` to guard
# /metrics, /dashboard, /router/explain and /router/reload.
#
# Not built on the machine that wrote it (no Docker engine there); deploy/compose.yaml builds it.

ARG BUN_VERSION=1.4.5

FROM oven/bun:${BUN_VERSION} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Runtime dependencies only; Bun reads package-lock.json (migrating it to its own lockfile in the build stage).
RUN bun install --production
COPY src ./src
COPY plugins ./plugins
# data/ holds the labelled prompts a classifier retrain starts from.
COPY data ./data
# To ship the standalone executable instead (`dist/switchyard`, README "One binary"; weights and training data
# are inside it), also `COPY scripts ./scripts` (its explain and doctor) and `RUN bun run build` here (the production
# install suffices), and make the runtime stage copy just that file:
#   COPY --from=build /app/dist/switchyard /usr/local/bin/switchyard
#   ENTRYPOINT ["/usr/local/bin/switchyard"]
# (then node_modules, src, plugins and data stay behind; the HEALTHCHECK below uses `bun`, which the slim image
# still has; on an image without Bun it needs another fetcher).

FROM oven/bun:${BUN_VERSION}-slim AS runtime
WORKDIR /app
RUN groupadd --system --gid 10001 switchyard \
  && useradd --system --uid 10001 --gid switchyard --home-dir /var/lib/switchyard --no-create-home --shell /usr/sbin/nologin switchyard \
  && mkdir -p /etc/switchyard /var/lib/switchyard \
  && chown switchyard:switchyard /var/lib/switchyard
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/src ./src
COPY --from=build /app/plugins ./plugins
COPY --from=build /app/data ./data

# Config: mount a file at /etc/switchyard/switchyard.config.json, or point SWITCHYARD_CONFIG (or `--config`)
# elsewhere. State (the decision history `switchyard-history.db`, classifier versions) goes to
# SWITCHYARD_STATE_DIR unless the config sets `stateDir`: keep it on a volume.
# BUN_RUNTIME_TRANSPILER_CACHE_PATH=0: no transpiler cache writes, so the root filesystem can be read-only.
ENV NODE_ENV=production \
    PORT=3333 \
    SWITCHYARD_CONFIG=/etc/switchyard/switchyard.config.json \
    SWITCHYARD_STATE_DIR=/var/lib/switchyard \
    BUN_RUNTIME_TRANSPILER_CACHE_PATH=0
VOLUME ["/var/lib/switchyard"]
USER switchyard
EXPOSE 3333

# Slim images have no curl: Bun fetches the liveness endpoint itself (exit 0 on a 2xx, 1 otherwise).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["bun", "-e", "fetch(`http://127.0.0.1:${process.env.PORT || 3333}/health/live`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# SIGTERM drains in-flight requests and streams (30 s at most) before exiting; give `docker stop` longer (-t 40).
ENTRYPOINT ["bun", "src/main.ts"]
CMD ["--host", "0.0.0.0"]
