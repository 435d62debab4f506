import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STATEFULSET_CHECKS } from './statefulsets.js';
import { brief, runChecks, service, workload } from './testing.js';
import type { KObject } from '../../types.js';

function sts(serviceName?: string): KObject {
  const o = workload('db', { kind: 'StatefulSet', replicas: 3 });
  if (serviceName !== undefined) (o['spec'] as Record<string, unknown>)['serviceName'] = serviceName;
  return o;
}
const headless = (name: string, selector: Record<string, string> = { app: 'db' }): KObject =>
  service(name, { clusterIP: 'None', selector, ports: [{ port: 5432 }] });

const cases: { name: string; objs: KObject[]; want: string[] }[] = [
  { name: 'headless Service selecting the pods: nothing', objs: [sts('db'), headless('db')], want: [] },
  { name: 'no serviceName: nothing to check here', objs: [sts()], want: [] },
  { name: 'missing Service', objs: [sts('db'), headless('dbs')], want: ['statefulset-service-missing warning StatefulSet/db spec.serviceName'] },
  {
    name: 'Service is not headless',
    objs: [sts('db'), service('db', { selector: { app: 'db' }, ports: [{ port: 5432 }] })],
    want: ['statefulset-service-not-headless warning StatefulSet/db spec.serviceName'],
  },
  {
    name: 'headless Service selects other pods',
    objs: [sts('db'), headless('db', { app: 'cache' })],
    want: ['statefulset-service-not-headless warning StatefulSet/db spec.serviceName'],
  },
  { name: 'Service in another namespace does not count', objs: [sts('db'), service('db', { clusterIP: 'None' }, 'other')], want: ['statefulset-service-missing warning StatefulSet/db spec.serviceName'] },
];

describe('statefulset checks', () => {
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(brief(runChecks(STATEFULSET_CHECKS, c.objs)), c.want);
    });
  }
  it('messages say how to fix', () => {
    const [f] = runChecks(STATEFULSET_CHECKS, [sts('db')]);
    assert.match(f.message, /create a headless Service 'db' \(clusterIP: None\)/);
  });
});
