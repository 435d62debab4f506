import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { REFERENCE_CHECKS, configReferenceMissing } from './references.js';
import { brief, object, runChecks, workload } from './testing.js';
import type { KObject } from '../../types.js';

const C = 'spec.template.spec.containers.0';
const V = 'spec.template.spec.volumes.0';
const app = (container: Record<string, unknown>, pod: Record<string, unknown> = {}): KObject =>
  workload('web', { containers: [{ name: 'app', image: 'x:1', ...container }], pod });
const cm = object('ConfigMap', 'cfg', { data: { LEVEL: 'debug' } });
const secret = object('Secret', 'creds', { stringData: { password: 'x' } });
const envFrom = (kind: 'configMapKeyRef' | 'secretKeyRef', name: string, key: string, optional?: boolean): Record<string, unknown> => ({
  env: [{ name: 'V', valueFrom: { [kind]: { name, key, ...(optional ? { optional } : {}) } } }],
});

const cases: { name: string; objs: KObject[]; want: string[]; mode?: 'cli' | 'admission' }[] = [
  { name: 'configMapKeyRef to an existing key: nothing', objs: [cm, app(envFrom('configMapKeyRef', 'cfg', 'LEVEL'))], want: [] },
  { name: 'secretKeyRef via stringData: nothing', objs: [secret, app(envFrom('secretKeyRef', 'creds', 'password'))], want: [] },
  { name: 'missing ConfigMap in cli mode: info', objs: [app(envFrom('configMapKeyRef', 'cfg', 'LEVEL'))], want: [`config-reference-missing info Deployment/web ${C}.env.0.valueFrom.configMapKeyRef.name [app]`] },
  { name: 'missing ConfigMap in admission mode: warning', objs: [app(envFrom('configMapKeyRef', 'cfg', 'LEVEL'))], want: [`config-reference-missing warning Deployment/web ${C}.env.0.valueFrom.configMapKeyRef.name [app]`], mode: 'admission' },
  { name: 'optional reference: nothing', objs: [app(envFrom('secretKeyRef', 'creds', 'password', true))], want: [] },
  { name: 'existing Secret without the key: warning', objs: [secret, app(envFrom('secretKeyRef', 'creds', 'token'))], want: [`config-reference-missing warning Deployment/web ${C}.env.0.valueFrom.secretKeyRef.key [app]`] },
  { name: 'envFrom secretRef missing', objs: [app({ envFrom: [{ secretRef: { name: 'creds' } }] })], want: [`config-reference-missing info Deployment/web ${C}.envFrom.0.secretRef.name [app]`] },
  { name: 'envFrom configMapRef present: nothing', objs: [cm, app({ envFrom: [{ configMapRef: { name: 'cfg' } }] })], want: [] },
  { name: 'ConfigMap in another namespace does not count', objs: [object('ConfigMap', 'cfg', {}, 'x'), app({ envFrom: [{ configMapRef: { name: 'cfg' } }] })], want: [`config-reference-missing info Deployment/web ${C}.envFrom.0.configMapRef.name [app]`] },
  { name: 'configMap volume missing', objs: [app({}, { volumes: [{ name: 'v', configMap: { name: 'cfg' } }] })], want: [`config-reference-missing info Deployment/web ${V}.configMap.name`] },
  { name: 'secret volume missing', objs: [app({}, { volumes: [{ name: 'v', secret: { secretName: 'tls' } }] })], want: [`config-reference-missing info Deployment/web ${V}.secret.secretName`] },
  { name: 'optional secret volume: nothing', objs: [app({}, { volumes: [{ name: 'v', secret: { secretName: 'tls', optional: true } }] })], want: [] },
  {
    name: 'projected sources',
    objs: [cm, app({}, { volumes: [{ name: 'v', projected: { sources: [{ configMap: { name: 'cfg' } }, { secret: { name: 'gone' } }, { serviceAccountToken: { path: 't' } }] } }] })],
    want: [`config-reference-missing info Deployment/web ${V}.projected.sources.1.secret.name`],
  },
  { name: 'init containers are checked', objs: [workload('web', { pod: { initContainers: [{ name: 'init', image: 'x:1', envFrom: [{ secretRef: { name: 's' } }] }] } })], want: ['config-reference-missing info Deployment/web spec.template.spec.initContainers.0.envFrom.0.secretRef.name [init]'] },
  // service-account-missing
  { name: 'default ServiceAccount: nothing', objs: [app({}, { serviceAccountName: 'default' })], want: [] },
  { name: 'existing ServiceAccount: nothing', objs: [object('ServiceAccount', 'robot'), app({}, { serviceAccountName: 'robot' })], want: [] },
  { name: 'missing ServiceAccount (cli): info', objs: [app({}, { serviceAccountName: 'robot' })], want: ['service-account-missing info Deployment/web spec.template.spec.serviceAccountName'] },
  { name: 'missing ServiceAccount (admission): warning', objs: [app({}, { serviceAccountName: 'robot' })], want: ['service-account-missing warning Deployment/web spec.template.spec.serviceAccountName'], mode: 'admission' },
];

describe('reference checks', () => {
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(brief(runChecks(REFERENCE_CHECKS, c.objs, c.mode)), c.want);
    });
  }
  it('messages name the reference and the fix', () => {
    const [f] = runChecks([configReferenceMissing], [app(envFrom('secretKeyRef', 'creds', 'password'))]);
    assert.match(f.message, /Secret 'creds' \(container app, env V\) is not in namespace default among the linted objects; create it, fix the name, or mark the reference optional: true/);
  });
  it('malformed references never throw', () => {
    const bad = app({ env: [null, { valueFrom: 'x' }, { valueFrom: { secretKeyRef: { name: 5 } } }], envFrom: 'x' }, { volumes: [null, { projected: { sources: 'x' } }] });
    assert.doesNotThrow(() => runChecks(REFERENCE_CHECKS, [bad]));
  });
});
