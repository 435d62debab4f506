/**
 * A deterministic corpus of realistic manifests for the `kubelite lint` benchmark: "apps" of a
 * workload (Deployment, StatefulSet or Job) with the objects that usually come with it (Service,
 * ConfigMap, Secret, PDB, HPA, Ingress, NetworkPolicy), spread over namespaces. About a third of
 * the apps carry a typical mistake (latest tag, no probes, no resources, a Service selector or
 * named targetPort that matches nothing, an HPA naming a missing workload...), so checks find
 * real problems and the formatters have real output to write.
 *
 * Same seed, same corpus: the benchmark's numbers are comparable between runs.
 */

export type Obj = Record<string, unknown>;

/** A tiny PRNG (mulberry32) so the corpus is the same every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface CorpusOptions {
  objects: number;
  namespaces: number;
  seed?: number;
}

/** Objects per namespace, in file order; the total is exactly `objects`. */
export function generateCorpus(opts: CorpusOptions): Obj[][] {
  const rand = rng(opts.seed ?? 42);
  const perNs = Math.ceil(opts.objects / opts.namespaces);
  const out: Obj[][] = [];
  let total = 0;
  for (let n = 0; n < opts.namespaces && total < opts.objects; n++) {
    const ns = `team-${String(n).padStart(3, '0')}`;
    const objs: Obj[] = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }];
    const budget = Math.min(perNs, opts.objects - total);
    for (let app = 0; objs.length < budget; app++) objs.push(...appObjects(ns, `app-${app}`, rand));
    objs.length = budget;
    total += budget;
    out.push(objs);
  }
  return out;
}

const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

function appObjects(ns: string, name: string, rand: () => number): Obj[] {
  const r = rand();
  const kind = r < 0.7 ? 'Deployment' : r < 0.85 ? 'StatefulSet' : 'Job';
  const bad = rand() < 0.35 ? pick(rand, ['latest', 'noprobes', 'noresources', 'selector', 'namedport', 'hpa', 'root', 'configref'] as const) : undefined;
  const labels = { app: name, tier: pick(rand, ['web', 'api', 'worker', 'db']), 'app.kubernetes.io/part-of': `suite-${Math.floor(rand() * 5)}` };
  const port = pick(rand, [8080, 8000, 3000, 9090]);
  const container: Obj = {
    name: 'main',
    image: bad === 'latest' ? `registry.example.com/${name}:latest` : `registry.example.com/${name}:v1.${Math.floor(rand() * 20)}.${Math.floor(rand() * 10)}`,
    imagePullPolicy: 'IfNotPresent',
    ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }],
    env: [
      { name: 'LOG_LEVEL', value: 'info' },
      { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: bad === 'configref' ? `${name}-missing` : `${name}-secret`, key: 'password' } } },
    ],
    envFrom: [{ configMapRef: { name: `${name}-config` } }],
    securityContext: bad === 'root'
      ? { privileged: true }
      : { runAsNonRoot: true, runAsUser: 10001, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
    volumeMounts: [{ name: 'config', mountPath: '/etc/app', readOnly: true }, { name: 'tmp', mountPath: '/tmp' }],
  };
  if (bad !== 'noresources') {
    container['resources'] = { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } };
  }
  if (bad !== 'noprobes' && kind !== 'Job') {
    container['livenessProbe'] = { httpGet: { path: '/healthz', port: 'http' }, initialDelaySeconds: 10, periodSeconds: 20 };
    container['readinessProbe'] = { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 10 };
  }
  const podSpec: Obj = {
    serviceAccountName: 'default',
    automountServiceAccountToken: false,
    securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [container],
    volumes: [{ name: 'config', configMap: { name: `${name}-config` } }, { name: 'tmp', emptyDir: {} }],
  };
  if (rand() < 0.3) {
    podSpec['containers'] = [container, {
      name: 'sidecar',
      image: 'registry.example.com/proxy:2.4.1',
      resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
      securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true },
    }];
  }
  const meta = (n: string, extra: Obj = {}): Obj => ({ name: n, namespace: ns, labels: { ...labels }, ...extra });
  const out: Obj[] = [];
  out.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(`${name}-config`), data: { 'app.yaml': `name: ${name}\nport: ${port}\nfeatures:\n  - a\n  - b\n`, LOG_FORMAT: 'json' } });
  out.push({ apiVersion: 'v1', kind: 'Secret', metadata: meta(`${name}-secret`), type: 'Opaque', data: { password: Buffer.from(`${name}-pw`).toString('base64') } });
  const template = { metadata: { labels: { ...labels } }, spec: podSpec };
  if (kind === 'Job') {
    podSpec['restartPolicy'] = 'Never';
    out.push({ apiVersion: 'batch/v1', kind: 'Job', metadata: meta(name), spec: { backoffLimit: 3, ttlSecondsAfterFinished: 3600, template } });
    return out;
  }
  const replicas = pick(rand, [2, 3, 3, 5]);
  const selector = { matchLabels: { app: name } };
  if (kind === 'Deployment') {
    out.push({ apiVersion: 'apps/v1', kind, metadata: meta(name), spec: { replicas, revisionHistoryLimit: 5, selector, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }, template } });
  } else {
    out.push({ apiVersion: 'v1', kind: 'Service', metadata: meta(`${name}-headless`), spec: { clusterIP: 'None', selector: { app: name }, ports: [{ name: 'http', port }] } });
    out.push({ apiVersion: 'apps/v1', kind, metadata: meta(name), spec: { replicas, serviceName: `${name}-headless`, selector, template, volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } } }] } });
  }
  const svcSelector = bad === 'selector' ? { app: `${name}-typo` } : { app: name };
  const targetPort = bad === 'namedport' ? 'metrics' : pick(rand, ['http', port] as const);
  out.push({ apiVersion: 'v1', kind: 'Service', metadata: meta(name), spec: { type: 'ClusterIP', selector: svcSelector, ports: [{ name: 'http', port: 80, targetPort, protocol: 'TCP' }] } });
  if (rand() < 0.7) out.push({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: meta(name), spec: { minAvailable: 1, selector } });
  if (kind === 'Deployment' && rand() < 0.5) {
    out.push({
      apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: meta(name),
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: bad === 'hpa' ? `${name}-old` : name }, minReplicas: 2, maxReplicas: 10, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }] },
    });
  }
  if (rand() < 0.4) {
    out.push({
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: meta(name),
      spec: { ingressClassName: 'nginx', tls: [{ hosts: [`${name}.${ns}.example.com`], secretName: `${name}-tls` }], rules: [{ host: `${name}.${ns}.example.com`, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name, port: { number: 80 } } } }] } }] },
    });
  }
  if (rand() < 0.6) {
    out.push({
      apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: meta(name),
      spec: { podSelector: { matchLabels: { app: name } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'api'] }] } }], ports: [{ port, protocol: 'TCP' }] }] },
    });
  }
  return out;
}

const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./-]*$/;
const RESERVED = /^(true|false|yes|no|on|off|null|y|n|~)$/i;

function scalar(v: unknown): string {
  if (typeof v === 'string') return PLAIN.test(v) && !RESERVED.test(v) ? v : JSON.stringify(v);
  return String(v);
}

/** Block-style YAML the way people write it (2-space indent, lists not indented under their key). */
export function toYaml(v: unknown, indent = ''): string {
  let s = '';
  if (Array.isArray(v)) {
    for (const item of v) {
      if (item !== null && typeof item === 'object' && Object.keys(item).length) {
        const body = toYaml(item, indent + '  ');
        s += `${indent}- ${body.slice(indent.length + 2)}`;
      } else {
        s += `${indent}- ${typeof item === 'object' && item !== null ? (Array.isArray(item) ? '[]' : '{}') : scalar(item)}\n`;
      }
    }
    return s;
  }
  for (const [k, val] of Object.entries(v as Obj)) {
    if (val !== null && typeof val === 'object') {
      const empty = Array.isArray(val) ? val.length === 0 : Object.keys(val).length === 0;
      if (empty) s += `${indent}${scalar(k)}: ${Array.isArray(val) ? '[]' : '{}'}\n`;
      else if (Array.isArray(val)) s += `${indent}${scalar(k)}:\n${toYaml(val, indent)}`;
      else s += `${indent}${scalar(k)}:\n${toYaml(val, indent + '  ')}`;
    } else if (typeof val === 'string' && val.includes('\n')) {
      s += `${indent}${scalar(k)}: |\n${val.replace(/\n$/, '').split('\n').map((l) => `${indent}  ${l}`).join('\n')}\n`;
    } else {
      s += `${indent}${scalar(k)}: ${scalar(val)}\n`;
    }
  }
  return s;
}

/** A multi-document YAML file of the objects. */
export function toYamlFile(objs: readonly Obj[]): string {
  return objs.map((o) => `---\n${toYaml(o)}`).join('');
}
