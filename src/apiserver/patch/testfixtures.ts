/**
 * Small fake definitions for the patch tests: a Deployment and a Service shaped like kube's,
 * with the patch metadata that matters (containers merged by name, container ports keyed by
 * containerPort+protocol, service ports merged by port, an atomic selector, a retainKeys
 * strategy, a set of finalizers, labels maps and an untyped field). Test-only.
 */
import { any, arr, bool, int32, int64, map, obj, ref, str, type Definitions } from '../../api/schema.js';

const M = 'test.meta.';
const A = 'test.apps.';
const C = 'test.core.';

export const DEPLOYMENT = `${A}Deployment`;
export const SERVICE = `${C}Service`;
export const CONFIGMAP = `${C}ConfigMap`;

const meta = ref(`${M}ObjectMeta`);

export const DEFS: Definitions = {
  [`${M}ObjectMeta`]: obj({
    name: str(),
    namespace: str(),
    uid: str(),
    resourceVersion: str(),
    generation: int64(),
    creationTimestamp: str(),
    labels: map(str()),
    annotations: map(str()),
    finalizers: arr(str(), { patchStrategy: 'merge' }),
    managedFields: arr(any()),
    ownerReferences: arr(obj({ uid: str(), name: str(), kind: str() }), { listType: 'map', listMapKeys: ['uid'], patchStrategy: 'merge', patchMergeKey: 'uid' }),
  }),
  [`${M}LabelSelector`]: obj({ matchLabels: map(str()) }, { mapType: 'atomic' }),
  [DEPLOYMENT]: obj(
    { apiVersion: str(), kind: str(), metadata: meta, spec: ref(`${A}DeploymentSpec`), status: ref(`${A}DeploymentStatus`) },
    { gvk: [{ group: 'apps', version: 'v1', kind: 'Deployment' }] },
  ),
  [`${A}DeploymentSpec`]: obj({
    replicas: int32(),
    paused: bool(),
    progressDeadlineSeconds: int32(),
    selector: ref(`${M}LabelSelector`),
    template: ref(`${C}PodTemplateSpec`),
    strategy: ref(`${A}DeploymentStrategy`, { patchStrategy: 'retainKeys' }),
  }, { required: ['selector', 'template'] }),
  [`${A}DeploymentStrategy`]: obj({ type: str(), rollingUpdate: obj({ maxSurge: str(), maxUnavailable: str() }) }),
  [`${A}DeploymentStatus`]: obj({ replicas: int32(), readyReplicas: int32() }),
  [`${C}PodTemplateSpec`]: obj({ metadata: meta, spec: ref(`${C}PodSpec`) }),
  [`${C}PodSpec`]: obj({
    containers: arr(ref(`${C}Container`), { listType: 'map', listMapKeys: ['name'], patchStrategy: 'merge', patchMergeKey: 'name' }),
    volumes: arr(ref(`${C}Volume`), { listType: 'map', listMapKeys: ['name'], patchStrategy: 'merge,retainKeys', patchMergeKey: 'name' }),
    dnsPolicy: str(),
    restartPolicy: str(),
    securityContext: obj({ runAsUser: int64() }),
    nodeSelector: map(str(), { mapType: 'atomic' }),
  }, { required: ['containers'] }),
  [`${C}Container`]: obj({
    name: str(),
    image: str(),
    args: arr(str(), { listType: 'atomic' }),
    env: arr(ref(`${C}EnvVar`), { listType: 'map', listMapKeys: ['name'], patchStrategy: 'merge', patchMergeKey: 'name' }),
    ports: arr(ref(`${C}ContainerPort`), {
      listType: 'map',
      listMapKeys: ['containerPort', 'protocol'],
      patchStrategy: 'merge',
      patchMergeKey: 'containerPort',
    }),
    resources: obj({ limits: map(str()), requests: map(str()) }),
  }),
  [`${C}EnvVar`]: obj({ name: str(), value: str() }),
  [`${C}ContainerPort`]: obj({ containerPort: int32(), protocol: str(), name: str() }),
  [`${C}Volume`]: obj({ name: str(), configMap: obj({ name: str() }), emptyDir: obj({ medium: str() }) }),
  [SERVICE]: obj(
    { apiVersion: str(), kind: str(), metadata: meta, spec: ref(`${C}ServiceSpec`), status: obj({ loadBalancer: obj({}) }) },
    { gvk: [{ group: '', version: 'v1', kind: 'Service' }] },
  ),
  [`${C}ServiceSpec`]: obj({
    type: str(),
    clusterIP: str(),
    selector: map(str()),
    ports: arr(ref(`${C}ServicePort`), { listType: 'map', listMapKeys: ['port', 'protocol'], patchStrategy: 'merge', patchMergeKey: 'port' }),
    extra: any(),
  }),
  [`${C}ServicePort`]: obj({ name: str(), port: int32(), protocol: str(), targetPort: str() }),
  [CONFIGMAP]: obj({ apiVersion: str(), kind: str(), metadata: meta, data: map(str()) }, { gvk: [{ group: '', version: 'v1', kind: 'ConfigMap' }] }),
};

/** A live Deployment as a cluster would store it. */
export function liveDeployment(): Record<string, any> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', uid: 'u1', resourceVersion: '5', labels: { app: 'web' } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            {
              name: 'nginx',
              image: 'nginx:1.0',
              env: [
                { name: 'A', value: '1' },
                { name: 'B', value: '2' },
              ],
              ports: [{ containerPort: 80, protocol: 'TCP' }],
            },
            { name: 'sidecar', image: 'busybox' },
          ],
          dnsPolicy: 'ClusterFirst',
        },
      },
    },
    status: { replicas: 2 },
  };
}
