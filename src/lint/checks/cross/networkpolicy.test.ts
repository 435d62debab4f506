import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NETWORKPOLICY_CHECKS } from './networkpolicy.js';
import { brief, object, runChecks, workload } from './testing.js';
import type { KObject } from '../../types.js';

const np = (name: string, podSelector: unknown, spec: Record<string, unknown> = {}, ns?: string): KObject =>
  object('NetworkPolicy', name, { apiVersion: 'networking.k8s.io/v1', spec: { podSelector, ...spec } }, ns);
const both = { policyTypes: ['Ingress', 'Egress'] };
const LABELS = 'spec.template.metadata.labels';

const cases: { name: string; objs: KObject[]; want: string[]; mode?: 'cli' | 'admission' }[] = [
  { name: 'selected by an ingress+egress policy: nothing', objs: [workload('web'), np('p', { matchLabels: { app: 'web' } }, both)], want: [] },
  { name: 'no policy at all', objs: [workload('web')], want: [`workload-no-networkpolicy warning Deployment/web ${LABELS}`] },
  { name: 'admission mode skips it', objs: [workload('web')], want: [], mode: 'admission' },
  { name: 'a bare Pod is checked at its own labels', objs: [object('Pod', 'p', { metadata: { name: 'p', labels: { a: 'b' } }, spec: { containers: [] } })], want: ['workload-no-networkpolicy warning Pod/p metadata.labels'] },
  { name: 'namespace-wide {} policy covers every pod', objs: [workload('web'), np('deny', {}, both)], want: [] },
  {
    name: 'matchExpressions are evaluated',
    objs: [workload('web', { labels: { app: 'web', tier: 'front' } }), np('p', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'edge'] }] }, both)],
    want: [],
  },
  {
    name: 'a policy in another namespace does not count',
    objs: [workload('web'), np('p', { matchLabels: { app: 'web' } }, both, 'other')],
    want: [`workload-no-networkpolicy warning Deployment/web ${LABELS}`, 'networkpolicy-selects-nothing warning NetworkPolicy/p spec.podSelector'],
  },
  {
    name: 'ingress-only policy: info about egress',
    objs: [workload('web'), np('p', { matchLabels: { app: 'web' } })],
    want: [`workload-no-networkpolicy info Deployment/web ${LABELS}`],
  },
  {
    name: 'policy selecting nothing',
    objs: [workload('web'), np('p', { matchLabels: { app: 'wbe' } }, both)],
    want: [`workload-no-networkpolicy warning Deployment/web ${LABELS}`, 'networkpolicy-selects-nothing warning NetworkPolicy/p spec.podSelector'],
  },
  {
    name: 'NotIn expression that excludes the only workload',
    objs: [workload('web'), np('p', { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] }, both)],
    want: [`workload-no-networkpolicy warning Deployment/web ${LABELS}`, 'networkpolicy-selects-nothing warning NetworkPolicy/p spec.podSelector'],
  },
  { name: '{} policy with no workloads yet is fine', objs: [np('deny', {}, both)], want: [] },
  { name: 'invalid operator: not evaluated, not reported', objs: [np('p', { matchExpressions: [{ key: 'a', operator: 'Bogus' }] })], want: [] },
  { name: 'selects-nothing is skipped in admission mode', objs: [np('p', { matchLabels: { app: 'x' } })], want: [], mode: 'admission' },
];

describe('networkpolicy checks', () => {
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(brief(runChecks(NETWORKPOLICY_CHECKS, c.objs, c.mode)), c.want);
    });
  }
  it('the no-policy message says how to fix', () => {
    const [f] = runChecks(NETWORKPOLICY_CHECKS, [workload('web')]);
    assert.match(f.message, /no NetworkPolicy in namespace default selects these pods; add one whose podSelector matches/);
  });
});
