#!/usr/bin/env bash
# Before `npm test`: the suite talks to a real redis-server, PostgreSQL, promtool and Debian's chromium, and validates
# deploy/compose.yaml with Debian's docker-compose (no Docker engine needed).
# Install whichever is missing through apt-get when that is possible (root, Debian); otherwise say what to install.
set -u
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing test dependencies with apt-get: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 || echo "warning: apt-get could not install ${need[*]}"
  # The packages start their own daemons; tests start theirs on free ports.
  for s in redis-server postgresql prometheus; do (service "$s" stop || true) >/dev/null 2>&1; done
else
  echo "warning: tests need ${need[*]} (Debian packages); install them, e.g.: sudo apt-get install -y ${need[*]}"
fi
exit 0
