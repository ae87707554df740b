/** deploy/kubernetes: every manifest validates against the Kubernetes API schemas, and the pieces fit the gateway and each other. */
import { describe, expect, test } from 'bun:test'
import { readFileSync, readdirSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler'
import { Deployment } from 'kubernetes-models/apps/v1/Deployment'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget'
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap'
import { Service } from 'kubernetes-models/v1/Service'
import { parseAllDocuments } from 'yaml'
import { checkGatewayConfig } from './gateway-config.ts'

const ROOT = resolve(import.meta.dir, '../..')
const DIR = join(ROOT, 'deploy/kubernetes')
/** The gateway's longest drain after SIGTERM (src/main.ts). */
const DRAIN_S = 30

interface Validatable {
  validate(): void
}
const MODELS: Record<string, new (data: never) => Validatable> = {
  'apps/v1/Deployment': Deployment,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
}

interface Manifest {
  readonly where: string
  readonly apiVersion: string
  readonly kind: string
  readonly obj: Record<string, any>
}

function loadManifests(): Manifest[] {
  const files = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f)).sort()
  return files.flatMap((file) =>
    parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((doc, i) => {
      const where = `${relative(ROOT, join(DIR, file))} document ${i + 1}`
      if (doc.errors.length > 0) throw new Error(`${where}: ${doc.errors.map((e) => e.message).join('; ')}`)
      const obj = doc.toJS() as Record<string, any>
      return { where, apiVersion: String(obj.apiVersion), kind: String(obj.kind), obj }
    }),
  )
}

/** Problems, each prefixed with the file and document, as `kubernetes-models` reports them (with the field path). */
function validationProblems(manifests: readonly Manifest[]): string[] {
  return manifests.flatMap(({ where, apiVersion, kind, obj }) => {
    const Model = MODELS[`${apiVersion}/${kind}`]
    if (!Model) return [`${where}: ${apiVersion} ${kind} is not a kind this test knows how to validate`]
    try {
      new Model(obj as never).validate()
      return []
    } catch (error) {
      return [`${where} (${kind} ${obj.metadata?.name}): ${(error as Error).message}`]
    }
  })
}

function only(manifests: readonly Manifest[], kind: string): Record<string, any> {
  const found = manifests.filter((m) => m.kind === kind)
  expect(found.map((m) => m.where)).toHaveLength(1)
  return found[0]!.obj
}

describe('deploy/kubernetes', () => {
  const manifests = loadManifests()

  test('every manifest is a valid Deployment, Service, ConfigMap, HorizontalPodAutoscaler or PodDisruptionBudget', () => {
    expect(manifests.map((m) => m.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service'])
    expect(validationProblems(manifests)).toEqual([])
  })

  test('a manifest with a wrong field type fails validation, naming the file and the field path', () => {
    const deployment = manifests.find((m) => m.kind === 'Deployment')!
    const broken = structuredClone(deployment.obj)
    broken.spec.template.spec.containers[0].ports[0].containerPort = 'http'
    const problems = validationProblems([{ ...deployment, obj: broken }])
    expect(problems).toHaveLength(1)
    expect(problems[0]).toStartWith('deploy/kubernetes/deployment.yaml document 1 (Deployment switchyard):')
    expect(problems[0]).toContain('spec/template/spec/containers/0/ports/0/containerPort must be integer')
  })

  test('the Deployment probes /health and /health/live, drains inside its grace period and runs as non-root', () => {
    const pod = only(manifests, 'Deployment').spec.template.spec
    const container = pod.containers[0]
    expect(container.readinessProbe.httpGet.path).toBe('/health')
    expect(container.livenessProbe.httpGet.path).toBe('/health/live')
    const preStop: string[] = container.lifecycle.preStop.exec.command
    expect(preStop[0]).toBe('sleep')
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(Number(preStop[1]) + DRAIN_S)
    expect(pod.securityContext.runAsNonRoot).toBe(true)
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0)
    expect(container.securityContext.allowPrivilegeEscalation).toBe(false)
    expect(container.resources.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) })
    expect(container.resources.limits.memory).toBeString()
    expect(container.args).toEqual(expect.arrayContaining(['--host', '0.0.0.0']))
  })

  test('the ConfigMap holds a config the gateway loads; the Deployment mounts it and sets the env it names', async () => {
    const configMap = only(manifests, 'ConfigMap')
    const pod = only(manifests, 'Deployment').spec.template.spec
    const container = pod.containers[0]
    const env = new Map<string, any>(container.env.map((e: { name: string }) => [e.name, e]))
    const file = Object.keys(configMap.data)[0]!
    const { config } = await checkGatewayConfig(JSON.parse(configMap.data[file]), `ConfigMap ${configMap.metadata.name}`, ROOT)
    expect(config.auth.keys.length).toBeGreaterThan(0)
    for (const key of config.auth.keys) expect(env.get(key.keyEnv!)?.valueFrom?.secretKeyRef).toBeDefined()
    const configVolume = pod.volumes.find((v: any) => v.configMap?.name === configMap.metadata.name)
    const mount = container.volumeMounts.find((m: any) => m.name === configVolume.name)
    // A directory mount (no subPath), so edits reach the pod and `server.watchConfig` reloads them.
    expect(mount.subPath).toBeUndefined()
    expect(env.get('SWITCHYARD_CONFIG').value).toBe(`${mount.mountPath}/${file}`)
    const stateMount = container.volumeMounts.find((m: any) => m.mountPath === env.get('SWITCHYARD_STATE_DIR').value)
    expect(pod.volumes.find((v: any) => v.name === stateMount.name)).toBeDefined()
  })

  test('the Service, autoscaler and disruption budget point at the Deployment and its pods', () => {
    const deployment = only(manifests, 'Deployment')
    const labels = deployment.spec.template.metadata.labels
    const service = only(manifests, 'Service')
    expect(labels).toMatchObject(service.spec.selector)
    expect(deployment.spec.template.spec.containers[0].ports.map((p: { name: string }) => p.name)).toContain(service.spec.ports[0].targetPort)
    expect(labels).toMatchObject(only(manifests, 'PodDisruptionBudget').spec.selector.matchLabels)
    const hpa = only(manifests, 'HorizontalPodAutoscaler')
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name })
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2)
  })
})
