import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readinessProbeTargeted } from './readiness.js';
import { brief, runChecks, service, workload } from './testing.js';
import type { KObject } from '../../types.js';

const web = (): KObject => workload('web');

describe('readiness-probe-targeted', () => {
  const noProbe = workload('web', { containers: [{ name: 'app', image: 'nginx:1.27' }] });
  const table: { name: string; objs: KObject[]; want: string[] }[] = [
    { name: 'targeted and probed: nothing', objs: [web(), service('s', { selector: { app: 'web' } })], want: [] },
    { name: 'targeted by a Service in another namespace: skipped', objs: [noProbe, service('s', { selector: { app: 'web' } }, 'other')], want: [] },
    {
      name: 'targeted without readiness probe',
      objs: [noProbe, service('s', { selector: { app: 'web' } })],
      want: ['readiness-probe-targeted warning Deployment/web spec.template.spec.containers.0.readinessProbe [app]'],
    },
    { name: 'not targeted by any Service: skipped', objs: [noProbe], want: [] },
    { name: 'targeted only by an ExternalName Service: skipped', objs: [noProbe, service('s', { type: 'ExternalName', selector: { app: 'web' } })], want: [] },
    {
      name: 'one probed container is enough',
      objs: [workload('web', { containers: [{ name: 'a', image: 'x:1' }, { name: 'b', image: 'y:1', readinessProbe: { exec: { command: ['true'] } } }] }), service('s', { selector: { app: 'web' } })],
      want: [],
    },
  ];
  for (const c of table) {
    it(c.name, () => {
      assert.deepEqual(brief(runChecks([readinessProbeTargeted], c.objs)), c.want);
    });
  }
});

it('readiness-probe-targeted names the Services', () => {
  const objs = [workload('web', { containers: [{ name: 'app', image: 'x:1' }] }), service('a', { selector: { app: 'web' } }), service('b', { selector: { app: 'web' } })];
  const [f] = runChecks([readinessProbeTargeted], objs);
  assert.match(f.message, /targeted by Service\/a, Service\/b but no container has a readinessProbe; add one/);
});

it('readiness-probe-targeted never throws on malformed workloads', () => {
  const bad: KObject[] = [{ kind: 'Deployment' }, { kind: 'Deployment', spec: { template: { spec: { containers: 'x' } } } }, service('s', { selector: { app: 'web' } })];
  assert.doesNotThrow(() => runChecks([readinessProbeTargeted], bad));
});
