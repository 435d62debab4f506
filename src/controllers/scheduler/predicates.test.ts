import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../api/types.js';
import { checkTaints, effectiveTaints, filterNode, matchRequirement, matchesNodeSelectorAndAffinity, toleratesTaint, untoleratedTaintReason, type Taint } from './predicates.js';
import { insufficientResources, leastAllocatedScore, podRequests } from './resources.js';
import { fitErrorMessage, schedulePod, withUnschedulableCondition, type NodeState } from './schedule.js';
import type { Toleration } from './resources.js';

type Res = Record<string, string>;

function node(name: string, o: { cpu?: string; memory?: string; pods?: string; labels?: Record<string, string>; taints?: Taint[]; unschedulable?: boolean; ready?: string | null } = {}): KObject {
  const alloc = { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: o.pods ?? '110' };
  const conditions = o.ready === null ? [] : [{ type: 'Ready', status: o.ready ?? 'True' }];
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(o.labels ?? {}) } },
    spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) },
    status: { allocatable: alloc, capacity: alloc, conditions },
  };
}

function pod(name: string, spec: Record<string, unknown> = {}, requests?: Res): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `uid-${name}` },
    spec: { containers: [{ name: 'c', image: 'x', ...(requests ? { resources: { requests } } : {}) }], ...spec },
  };
}

describe('pod requests', () => {
  const cases: { name: string; spec: Record<string, unknown>; want: Record<string, number> }[] = [
    { name: 'sums containers', spec: { containers: [{ name: 'a', resources: { requests: { cpu: '250m', memory: '64Mi' } } }, { name: 'b', resources: { requests: { cpu: '0.5' } } }] }, want: { cpu: 750, memory: 64 * 2 ** 20 } },
    { name: 'limits stand in for missing requests', spec: { containers: [{ name: 'a', resources: { limits: { cpu: '1' } } }] }, want: { cpu: 1000 } },
    {
      name: 'init containers: max(init) vs sum(containers)',
      spec: {
        containers: [{ name: 'a', resources: { requests: { cpu: '200m', memory: '1Gi' } } }, { name: 'b', resources: { requests: { cpu: '200m' } } }],
        initContainers: [{ name: 'i1', resources: { requests: { cpu: '1' } } }, { name: 'i2', resources: { requests: { cpu: '300m', memory: '2Gi' } } }],
      },
      want: { cpu: 1000, memory: 2 * 2 ** 30 },
    },
    {
      name: 'sidecar init containers run alongside everything after them',
      spec: {
        containers: [{ name: 'a', resources: { requests: { cpu: '100m' } } }],
        initContainers: [{ name: 'side', restartPolicy: 'Always', resources: { requests: { cpu: '200m' } } }, { name: 'i', resources: { requests: { cpu: '500m' } } }],
      },
      want: { cpu: 700 },
    },
    { name: 'overhead is added', spec: { containers: [{ name: 'a', resources: { requests: { cpu: '100m' } } }], overhead: { cpu: '250m', memory: '120Mi' } }, want: { cpu: 350, memory: 120 * 2 ** 20 } },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(Object.fromEntries(podRequests({ metadata: { name: 'p' }, spec: c.spec })), c.want));
  }
  it('nonZero applies scoring defaults to containers that request nothing', () => {
    assert.deepEqual(Object.fromEntries(podRequests(pod('p'), { nonZero: true })), { cpu: 100, memory: 200 * 2 ** 20 });
  });
});

describe('resource fit', () => {
  const n = node('n', { cpu: '2', memory: '1Gi', pods: '2' });
  const cases: { name: string; pod: KObject; existing: KObject[]; want: string[] }[] = [
    { name: 'fits exactly', pod: pod('p', {}, { cpu: '1' }), existing: [pod('e', {}, { cpu: '1' })], want: [] },
    { name: 'cpu over by one milli', pod: pod('p', {}, { cpu: '1001m' }), existing: [pod('e', {}, { cpu: '1' })], want: ['Insufficient cpu'] },
    { name: 'cpu and memory', pod: pod('p', {}, { cpu: '3', memory: '2Gi' }), existing: [], want: ['Insufficient cpu', 'Insufficient memory'] },
    { name: 'too many pods', pod: pod('p'), existing: [pod('a'), pod('b')], want: ['Too many pods'] },
    { name: 'zero request fits an overcommitted node', pod: pod('p'), existing: [pod('e', {}, { cpu: '5' })], want: [] },
    { name: 'extended resource the node lacks', pod: pod('p', {}, { 'example.com/gpu': '1' }), existing: [], want: ['Insufficient example.com/gpu'] },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(insufficientResources(c.pod, { node: n, pods: c.existing }), c.want));

  it('least allocated prefers the emptier node', () => {
    const p = pod('p', {}, { cpu: '1', memory: '1Gi' });
    assert.ok(leastAllocatedScore(p, { node: node('big', { cpu: '8', memory: '16Gi' }), pods: [] }) > leastAllocatedScore(p, { node: node('small', { cpu: '2', memory: '2Gi' }), pods: [] }));
  });
});

describe('node selector and affinity', () => {
  const n = node('n1', { labels: { zone: 'a', disk: 'ssd', gen: '5' } });
  const req = (key: string, operator: string, values?: string[]): Record<string, unknown> => ({ key, operator, ...(values ? { values } : {}) });
  const affinity = (...terms: Record<string, unknown>[]): Record<string, unknown> => ({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } });
  const cases: { name: string; spec: Record<string, unknown>; want: boolean }[] = [
    { name: 'no constraints', spec: {}, want: true },
    { name: 'nodeSelector match', spec: { nodeSelector: { zone: 'a', disk: 'ssd' } }, want: true },
    { name: 'nodeSelector mismatch', spec: { nodeSelector: { zone: 'b' } }, want: false },
    { name: 'In', spec: affinity({ matchExpressions: [req('zone', 'In', ['a', 'b'])] }), want: true },
    { name: 'In missing label', spec: affinity({ matchExpressions: [req('rack', 'In', ['1'])] }), want: false },
    { name: 'NotIn', spec: affinity({ matchExpressions: [req('zone', 'NotIn', ['a'])] }), want: false },
    { name: 'NotIn absent label matches', spec: affinity({ matchExpressions: [req('rack', 'NotIn', ['1'])] }), want: true },
    { name: 'Exists', spec: affinity({ matchExpressions: [req('disk', 'Exists')] }), want: true },
    { name: 'DoesNotExist', spec: affinity({ matchExpressions: [req('disk', 'DoesNotExist')] }), want: false },
    { name: 'Gt', spec: affinity({ matchExpressions: [req('gen', 'Gt', ['4'])] }), want: true },
    { name: 'Lt', spec: affinity({ matchExpressions: [req('gen', 'Lt', ['5'])] }), want: false },
    { name: 'Gt non-integer', spec: affinity({ matchExpressions: [req('zone', 'Gt', ['1'])] }), want: false },
    { name: 'expressions in a term are ANDed', spec: affinity({ matchExpressions: [req('zone', 'In', ['a']), req('disk', 'In', ['hdd'])] }), want: false },
    { name: 'terms are ORed', spec: affinity({ matchExpressions: [req('zone', 'In', ['b'])] }, { matchExpressions: [req('disk', 'In', ['ssd'])] }), want: true },
    { name: 'empty term matches nothing', spec: affinity({}), want: false },
    { name: 'matchFields metadata.name In', spec: affinity({ matchFields: [req('metadata.name', 'In', ['n1'])] }), want: true },
    { name: 'matchFields metadata.name NotIn', spec: affinity({ matchFields: [req('metadata.name', 'NotIn', ['n1'])] }), want: false },
    { name: 'nodeSelector AND affinity', spec: { nodeSelector: { zone: 'b' }, ...affinity({ matchExpressions: [req('zone', 'Exists')] }) }, want: false },
  ];
  for (const c of cases) it(c.name, () => assert.equal(matchesNodeSelectorAndAffinity(pod('p', c.spec), n), c.want));
  it('unknown operator never matches', () => assert.equal(matchRequirement({ key: 'zone', operator: 'Like', values: ['a'] }, { zone: 'a' }), false));
});

describe('taints and tolerations', () => {
  const taint: Taint = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' };
  const cases: { name: string; tol: Toleration; want: boolean }[] = [
    { name: 'Equal same value', tol: { key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }, want: true },
    { name: 'default operator is Equal', tol: { key: 'dedicated', value: 'gpu' }, want: true },
    { name: 'Equal other value', tol: { key: 'dedicated', operator: 'Equal', value: 'cpu' }, want: false },
    { name: 'Exists by key', tol: { key: 'dedicated', operator: 'Exists' }, want: true },
    { name: 'empty key with Exists tolerates everything', tol: { operator: 'Exists' }, want: true },
    { name: 'other effect', tol: { key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }, want: false },
    { name: 'other key', tol: { key: 'zone', operator: 'Exists' }, want: false },
  ];
  for (const c of cases) it(c.name, () => assert.equal(toleratesTaint(c.tol, taint), c.want));

  const filterCases: { name: string; taints: Taint[]; ready?: string | null; tolerations?: Toleration[]; want?: string }[] = [
    { name: 'NoSchedule blocks', taints: [taint], want: 'node(s) had untolerated taint {dedicated: gpu}' },
    { name: 'NoExecute blocks', taints: [{ key: 'k', effect: 'NoExecute' }], want: 'node(s) had untolerated taint {k: }' },
    { name: 'PreferNoSchedule does not filter', taints: [{ key: 'k', value: 'v', effect: 'PreferNoSchedule' }] },
    { name: 'tolerated', taints: [taint], tolerations: [{ key: 'dedicated', operator: 'Exists' }] },
    { name: 'not ready node: implicit not-ready taint', taints: [], ready: 'False', want: 'node(s) had untolerated taint {node.kubernetes.io/not-ready: }' },
    { name: 'no Ready condition counts as not ready', taints: [], ready: null, want: 'node(s) had untolerated taint {node.kubernetes.io/not-ready: }' },
    { name: 'unknown node: implicit unreachable taint', taints: [], ready: 'Unknown', want: 'node(s) had untolerated taint {node.kubernetes.io/unreachable: }' },
    { name: 'not-ready tolerated', taints: [], ready: 'False', tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists' }] },
  ];
  for (const c of filterCases) {
    it(`filter: ${c.name}`, () => {
      const n = node('n', { taints: c.taints, ready: c.ready });
      assert.deepEqual(checkTaints(pod('p', { tolerations: c.tolerations }), n)?.reasons, c.want ? [c.want] : undefined);
    });
  }
  it('explicit not-ready taint is not duplicated', () => {
    const n = node('n', { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }], ready: 'False' });
    assert.equal(effectiveTaints(n).length, 1);
  });
  it('reason format', () => assert.equal(untoleratedTaintReason({ key: 'a', effect: 'NoSchedule' }), 'node(s) had untolerated taint {a: }'));
});

describe('filterNode order and schedulePod', () => {
  it('cordoned node: unschedulable wins over everything else', () => {
    const f = filterNode(pod('p', { nodeSelector: { x: 'y' } }, { cpu: '100' }), { node: node('n', { unschedulable: true }), pods: [] });
    assert.deepEqual(f, { reasons: ["node(s) were unschedulable"], unresolvable: true });
  });
  it('cordoned node is fine for a pod tolerating the unschedulable taint', () => {
    const tol = [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }];
    assert.equal(filterNode(pod('p', { tolerations: tol }), { node: node('n', { unschedulable: true }), pods: [] }), undefined);
  });
  it('host port conflict', () => {
    const withPort = (name: string, hostIP?: string): KObject => pod(name, { containers: [{ name: 'c', ports: [{ containerPort: 80, hostPort: 8080, ...(hostIP ? { hostIP } : {}) }] }] });
    assert.deepEqual(filterNode(withPort('p'), { node: node('n'), pods: [withPort('e', '10.0.0.1')] })?.reasons, ["node(s) didn't have free ports for the requested pod ports"]);
    assert.equal(filterNode(withPort('p', '10.0.0.2'), { node: node('n'), pods: [withPort('e', '10.0.0.1')] }), undefined);
  });

  const states = (...ns: [KObject, KObject[]][]): NodeState[] => ns.map(([n, pods]) => ({ node: n, pods }));
  const cases: { name: string; pod: KObject; nodes: NodeState[]; want: string }[] = [
    { name: 'no nodes at all', pod: pod('p'), nodes: [], want: 'no nodes available to schedule pods' },
    { name: 'picks the emptier node', pod: pod('p', {}, { cpu: '1' }), nodes: states([node('a', { cpu: '2' }), []], [node('b', { cpu: '4' }), []]), want: 'node:b' },
    { name: 'ties break by name', pod: pod('p'), nodes: states([node('b'), []], [node('a'), []]), want: 'node:a' },
    { name: 'full node loses', pod: pod('p', {}, { cpu: '1' }), nodes: states([node('a', { cpu: '8' }), [pod('e', {}, { cpu: '7500m' })]], [node('b', { cpu: '2' }), []]), want: 'node:b' },
    { name: 'selector chooses', pod: pod('p', { nodeSelector: { disk: 'ssd' } }), nodes: states([node('a'), []], [node('b', { labels: { disk: 'ssd' } }), []]), want: 'node:b' },
    {
      name: 'preferred affinity wins over a little free space',
      pod: pod('p', { affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }] } }] } } }),
      nodes: states([node('a', { cpu: '8' }), []], [node('b', { cpu: '4', labels: { zone: 'z1' } }), []]),
      want: 'node:b',
    },
    {
      name: 'PreferNoSchedule steers away',
      pod: pod('p'),
      nodes: states([node('a', { taints: [{ key: 'k', effect: 'PreferNoSchedule' }] }), []], [node('b'), []]),
      want: 'node:b',
    },
    {
      name: 'kube message: mixed reasons',
      pod: pod('p', { nodeSelector: { disk: 'ssd' } }, { cpu: '3' }),
      nodes: states([node('a', { cpu: '2', labels: { disk: 'ssd' } }), []], [node('b'), []], [node('c'), []]),
      want: "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod., 2 Preemption is not helpful for scheduling.",
    },
    {
      name: 'kube message: taint and cordon',
      pod: pod('p'),
      nodes: states([node('a', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }), []], [node('b', { unschedulable: true }), []]),
      want: '0/2 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) were unschedulable. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.',
    },
    {
      name: 'kube message: cpu and memory both counted',
      pod: pod('p', {}, { cpu: '16', memory: '64Gi' }),
      nodes: states([node('a'), []], [node('b', { memory: '128Gi' }), []]),
      want: '0/2 nodes are available: 1 Insufficient memory, 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod..',
    },
    {
      name: 'kube message: preemptionPolicy Never',
      pod: pod('p', { preemptionPolicy: 'Never' }, { cpu: '16' }),
      nodes: states([node('a'), []]),
      want: '0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = schedulePod(c.pod, c.nodes);
      assert.equal('nodeName' in d ? `node:${d.nodeName}` : d.message, c.want);
    });
  }
  it('fitErrorMessage counts every node once per reason', () => {
    const failures = new Map([
      ['a', { reasons: ['Too many pods', 'Insufficient cpu'], unresolvable: false }],
      ['b', { reasons: ['Insufficient cpu'], unresolvable: false }],
    ]);
    assert.equal(fitErrorMessage(pod('p'), failures), '0/2 nodes are available: 1 Too many pods, 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod..');
  });
});

describe('PodScheduled condition', () => {
  const msg = '0/1 nodes are available: 1 Insufficient cpu.';
  it('adds the condition when absent', () => {
    const st = withUnschedulableCondition({ phase: 'Pending' }, { message: msg, now: 'T1' });
    assert.deepEqual(st, { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: msg, lastProbeTime: null, lastTransitionTime: 'T1' }] });
  });
  it('no change when identical', () => {
    const st = withUnschedulableCondition({}, { message: msg, now: 'T1' })!;
    assert.equal(withUnschedulableCondition(st, { message: msg, now: 'T2' }), undefined);
  });
  it('new message keeps the transition time', () => {
    const st = withUnschedulableCondition({}, { message: msg, now: 'T1' })!;
    const next = withUnschedulableCondition(st, { message: 'other', now: 'T2' })!;
    assert.deepEqual((next.conditions as { message: string; lastTransitionTime: string }[]).map((c) => [c.message, c.lastTransitionTime]), [['other', 'T1']]);
  });
});
