import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderRuleset } from '../nftables/render.js';
import { CASES } from '../nftables/fixtures.js';
import { parseRuleset, type Ruleset } from './parse.js';
import { tracePacket, type Candidate, type TracePacket, type TraceResult, TraceError } from './trace.js';
import { formatTrace, traceToJSON } from './format.js';
import { checkPlans, NODE_IP, worldState } from './cases.js';

const state = worldState();
/** The rules the applier loads (numgen cascades DNATing in the service chain); kube-proxy's vmap form is traced from a hand-written script below. */
const rules = parseRuleset(renderRuleset(state));
const RULES: Record<string, Ruleset> = { cascade: rules };
const local = state.node.addresses;

type Origin = TracePacket['origin'];
const POD = '10.244.0.9';
const EXT = '203.0.113.99';
const from = (origin: Origin, src: string, to: string, protocol: TracePacket['protocol'] = 'TCP'): TracePacket => {
  const [dst, port] = to.split(':');
  return { src, dst: dst!, dport: Number(port), protocol, origin };
};

interface Case {
  name: string;
  packet: TracePacket;
  /** The endpoint the chooser should pick (default: the first candidate). */
  pick?: string;
  kind: 'dnat' | 'accept' | 'drop' | 'reject';
  endpoint?: string;
  masquerade?: boolean;
  candidates?: string[];
  /** Regexps the text output must contain (which map/chain/why). */
  shows?: RegExp[];
  /** Known renderer bug: the case documents kube's behaviour and is reported, not counted. */
  todo?: string;
}

const WEB3 = ['10.244.0.4:8080', '10.244.1.2:8080', '10.244.1.3:8080'];

const cases: Case[] = [
  // ClusterIP
  { name: 'ClusterIP from a pod: 3 candidates, not masqueraded', packet: from('pod', POD, '10.96.0.10:80'), kind: 'dnat', endpoint: '10.244.1.2:8080', masquerade: false, candidates: WEB3, shows: [/map\/set: service-ips/, /numgen random mod 3/, /endpoint: 10\.244\.1\.2:8080/] },
  { name: 'ClusterIP from a pod: chooser picks the third', packet: from('pod', POD, '10.96.0.10:80'), pick: '10.244.1.3:8080', kind: 'dnat', endpoint: '10.244.1.3:8080', candidates: WEB3 },
  { name: 'hairpin of another endpoint: a pod reaching a different pod is not masqueraded', packet: from('pod', '10.244.1.2', '10.96.0.10:80'), pick: '10.244.1.3:8080', kind: 'dnat', endpoint: '10.244.1.3:8080', masquerade: false },
  { name: 'ClusterIP from the node: 3 candidates, masqueraded', packet: from('node', NODE_IP, '10.96.0.10:80'), kind: 'dnat', endpoint: '10.244.1.2:8080', masquerade: true, candidates: WEB3 },
  { name: 'hairpin: pod to its own service is masqueraded', packet: from('pod', '10.244.1.2', '10.96.0.10:80'), pick: '10.244.1.2:8080', kind: 'dnat', endpoint: '10.244.1.2:8080', masquerade: true, shows: [/ct status dnat: the connection was DNATed \(to 10\.244\.1\.2:8080\)/, /ip saddr \. ip daddr = 10\.244\.1\.2 \. 10\.244\.1\.2 matches @hairpin/, /\[postrouting\][^]*marked for masquerade/] },
  { name: 'ClusterIP on an unserved port is rejected', packet: from('pod', POD, '10.96.0.10:81'), kind: 'reject', shows: [/@cluster-ips/] },
  // NodePort, LoadBalancer, externalIPs (externalTrafficPolicy Cluster: masqueraded)
  { name: 'NodePort on the node address from outside', packet: from('external', EXT, `${NODE_IP}:30080`), kind: 'dnat', endpoint: '10.244.1.5:8080', masquerade: true, shows: [/map\/set: service-nodeports/, /external-/] },
  { name: 'NodePort on the node address from the node', packet: from('node', NODE_IP, `${NODE_IP}:30080`), kind: 'dnat', endpoint: '10.244.1.5:8080', masquerade: true },
  { name: 'NodePort from a pod', packet: from('pod', POD, `${NODE_IP}:30080`), kind: 'dnat', endpoint: '10.244.1.5:8080', masquerade: true },
  { name: 'NodePort port not in use on the node: untouched', packet: from('external', EXT, `${NODE_IP}:30999`), kind: 'accept', masquerade: false },
  { name: 'LoadBalancer IP from an allowed source range', packet: from('external', '198.51.100.7', '203.0.113.5:80'), kind: 'dnat', endpoint: '10.244.1.6:8080', masquerade: true },
  { name: 'LoadBalancer IP from outside the source ranges is dropped', packet: from('external', EXT, '203.0.113.5:80'), kind: 'drop' },
  { name: 'LoadBalancer ClusterIP ignores source ranges', packet: from('pod', POD, '10.96.0.12:80'), kind: 'dnat', endpoint: '10.244.1.6:8080', masquerade: false },
  { name: 'externalIP from outside', packet: from('external', EXT, '192.0.2.7:80'), kind: 'dnat', endpoint: '10.244.1.7:8080', masquerade: true, shows: [/map\/set: service-ips/] },
  // externalTrafficPolicy Local
  { name: 'ETP Local NodePort from outside: local endpoint only, client IP kept', packet: from('external', EXT, `${NODE_IP}:30083`), kind: 'dnat', endpoint: '10.244.0.5:8080', masquerade: false, candidates: ['10.244.0.5:8080'] },
  { name: 'ETP Local NodePort from a pod: any endpoint', packet: from('pod', POD, `${NODE_IP}:30083`), kind: 'dnat', candidates: ['10.244.1.12:8080', '10.244.0.5:8080'], masquerade: false },
  { name: 'ETP Local NodePort from the node: any endpoint, masqueraded', packet: from('node', NODE_IP, `${NODE_IP}:30083`), kind: 'dnat', candidates: ['10.244.1.12:8080', '10.244.0.5:8080'], masquerade: true },
  { name: 'ETP Local ClusterIP from a pod: every endpoint', packet: from('pod', POD, '10.96.0.16:80'), kind: 'dnat', candidates: ['10.244.1.12:8080', '10.244.0.5:8080'] },
  { name: 'ETP Local NodePort without a local endpoint: dropped (not rejected)', packet: from('external', EXT, `${NODE_IP}:30084`), kind: 'drop' },
  // internalTrafficPolicy Local
  { name: 'ITP Local from a pod: local endpoints only', packet: from('pod', POD, '10.96.0.18:80'), kind: 'dnat', endpoint: '10.244.0.6:8080', candidates: ['10.244.0.6:8080'] },
  { name: 'ITP Local without a local endpoint: dropped', packet: from('pod', POD, '10.96.0.19:80'), kind: 'drop' },
  // No endpoints, unused addresses, other traffic
  { name: 'no endpoints: ClusterIP rejected at once', packet: from('pod', POD, '10.96.0.15:80'), kind: 'reject', shows: [/no-endpoint-services/] },
  { name: 'no endpoints: NodePort rejected at once', packet: from('external', EXT, `${NODE_IP}:30082`), kind: 'reject', shows: [/no-endpoint-nodeports/] },
  { name: 'unused service-CIDR address dropped', packet: from('pod', POD, '10.96.0.99:80'), kind: 'drop', shows: [/10\.96\.0\.0\/12 drop/] },
  { name: 'unused service-CIDR address from the node dropped', packet: from('node', NODE_IP, '10.96.5.5:443'), kind: 'drop' },
  { name: 'non-service address: untouched', packet: from('pod', POD, '8.8.8.8:53', 'UDP'), kind: 'accept', masquerade: false },
  { name: 'pod to pod: untouched', packet: from('pod', POD, '10.244.1.2:8080'), kind: 'accept', masquerade: false },
  // Protocols and ports
  { name: 'UDP port of a TCP+UDP service', packet: from('pod', POD, '10.96.0.53:53', 'UDP'), kind: 'dnat', endpoint: '10.244.1.9:5353' },
  { name: 'TCP port of a TCP+UDP service', packet: from('pod', POD, '10.96.0.53:53', 'TCP'), kind: 'dnat', endpoint: '10.244.1.9:5354' },
  { name: 'UDP to a TCP-only service port: rejected', packet: from('pod', POD, '10.96.0.10:80', 'UDP'), kind: 'reject' },
  { name: 'multiple ports: first', packet: from('pod', POD, '10.96.0.20:80'), kind: 'dnat', endpoint: '10.244.1.16:8080' },
  { name: 'multiple ports: second', packet: from('pod', POD, '10.96.0.20:9090'), kind: 'dnat', endpoint: '10.244.1.16:9100' },
  { name: 'named targetPort: resolved per pod from the slices', packet: from('pod', POD, '10.96.0.21:80'), kind: 'dnat', candidates: ['10.244.1.17:8080', '10.244.1.18:9090'] },
  { name: 'named targetPort: second pod on its own port', packet: from('pod', POD, '10.96.0.21:80'), pick: '10.244.1.18:9090', kind: 'dnat', endpoint: '10.244.1.18:9090' },
  // Terminating endpoints
  { name: 'only terminating endpoints: the serving one is used', packet: from('pod', POD, '10.96.0.22:80'), kind: 'dnat', endpoint: '10.244.1.19:8080', candidates: ['10.244.1.19:8080'] },
  { name: 'ready and terminating: only the ready one', packet: from('pod', POD, '10.96.0.23:80'), kind: 'dnat', candidates: ['10.244.1.21:8080'] },
  // Not proxied: headless (its pods are reached directly)
  { name: 'headless: pod address untouched', packet: from('pod', POD, '10.244.1.23:8080'), kind: 'accept', masquerade: false },
];

function chooser(pick: string | undefined): ((c: readonly Candidate[]) => number) | undefined {
  if (pick === undefined) return undefined;
  return (cands) => {
    const i = cands.findIndex((c) => c.endpoint === pick);
    if (i < 0) throw new Error(`${pick} is not a candidate: ${cands.map((c) => c.endpoint).join(', ')}`);
    return i;
  };
}

for (const [lb, rules] of Object.entries(RULES)) for (const c of cases) {
  test(`trace (${lb}): ${c.name}`, c.todo ? { todo: c.todo } : {}, () => {
    const choose = chooser(c.pick);
    const r: TraceResult = tracePacket(rules, c.packet, { localAddresses: local, ...(choose ? { choose } : {}) });
    const text = formatTrace(r);
    const ctx = `\n${text}`;
    assert.equal(r.verdict.kind, c.kind, ctx);
    if (c.endpoint !== undefined) assert.equal(r.verdict.endpoint, c.endpoint, ctx);
    if (c.kind !== 'dnat') assert.equal(r.verdict.endpoint, undefined, ctx);
    if (c.masquerade !== undefined) assert.equal(r.verdict.masquerade, c.masquerade, ctx);
    if (c.candidates !== undefined) {
      // A single endpoint needs no numgen: the chain just DNATs to it.
      const got = r.verdict.candidates ?? (c.candidates.length === 1 ? [r.verdict.endpoint] : []);
      assert.deepEqual([...got].sort(), [...c.candidates].sort(), ctx);
    }
    if (c.kind === 'dnat') {
      assert.equal(`${r.final.dst}:${r.final.dport}`, r.verdict.endpoint, ctx);
      assert.ok(r.steps.some((s) => s.endpoint === r.verdict.endpoint), `a step names the endpoint${ctx}`);
    }
    for (const re of c.shows ?? []) assert.match(text, re);
  });
}

test('ExternalName and headless services are not programmed', () => {
  const ids = [...state.services.keys()];
  assert.ok(!ids.some((id) => id.startsWith('default/extname:') || id.startsWith('default/headless:')), ids.join(' '));
  assert.ok(ids.some((id) => id.startsWith('default/web:')));
});

for (const [lb, rules] of Object.entries(RULES)) test(`sessionAffinity ClientIP (${lb}): the second trace sticks to the first endpoint`, () => {
  const client = from('pod', POD, '10.96.0.14:80');
  const first = tracePacket(rules, client, { localAddresses: local, choose: chooser('10.244.1.11:8080')! });
  assert.equal(first.verdict.endpoint, '10.244.1.11:8080');
  assert.deepEqual([...first.verdict.candidates!].sort(), ['10.244.1.10:8080', '10.244.1.11:8080']);
  assert.ok(first.steps.some((s) => /affinity/.test(s.map ?? '') && /stick/.test(s.why)), formatTrace(first));
  // The default chooser would pick 10.244.1.10; the affinity set must win.
  const second = tracePacket(rules, client, { localAddresses: local, affinity: first.affinity });
  assert.equal(second.verdict.endpoint, '10.244.1.11:8080', formatTrace(second));
  assert.equal(second.verdict.candidates, undefined, 'an affinity hit never reaches numgen');
  // Another client is balanced normally; the input affinity state is not mutated.
  const other = tracePacket(rules, from('pod', '10.244.0.77', '10.96.0.14:80'), { localAddresses: local, affinity: first.affinity });
  assert.equal(other.verdict.endpoint, '10.244.1.10:8080');
  assert.deepEqual([...first.affinity.values()].map((s) => [...s]), [[POD]]);
  // Without affinity (a plain service) no set is touched.
  assert.equal(tracePacket(rules, from('pod', POD, '10.96.0.10:80'), { localAddresses: local }).affinity.size, 0);
});

test('every computed plan traces to exactly its endpoints (fixtures and the cases world)', () => {
  let n = 0;
  for (const [name, st] of [...Object.entries(CASES), ['world', state] as const]) n += checkPlans(name, parseRuleset(renderRuleset(st)), st);
  assert.ok(n > 20, `${n} traces`);
});

test('the chooser must return a valid index', () => {
  for (const rs of Object.values(RULES)) assert.throws(() => tracePacket(rs, from('pod', POD, '10.96.0.10:80'), { choose: () => 3 }), TraceError);
});

test('bad packets are refused', () => {
  assert.throws(() => tracePacket(rules, from('pod', 'nope', '10.96.0.10:80')), TraceError);
  assert.throws(() => tracePacket(rules, from('pod', POD, '10.96.0.10:0')), TraceError);
});

test('JSON output carries steps, verdict and affinity', () => {
  const r = tracePacket(rules, from('pod', POD, '10.96.0.14:80'), { localAddresses: local });
  const j = JSON.parse(traceToJSON(r)) as { verdict: { kind: string; endpoint: string }; steps: unknown[]; affinity: Record<string, string[]> };
  assert.equal(j.verdict.kind, 'dnat');
  assert.equal(j.verdict.endpoint, '10.244.1.10:8080');
  assert.ok(j.steps.length > 3);
  assert.deepEqual(Object.values(j.affinity), [[POD]]);
});

test('text output names hooks, chains, maps, endpoint and verdict', () => {
  const text = formatTrace(tracePacket(rules, from('external', EXT, `${NODE_IP}:30080`), { localAddresses: local }));
  for (const re of [/^packet: 203\.0\.113\.99 → 192\.168\.1\.10:30080\/TCP \(from outside the cluster\)/, /\[prerouting\]/, /\[postrouting\]/, /map\/set: service-nodeports/, /fib daddr type local/, /marked for masquerade/, /endpoint: 10\.244\.1\.5:8080/, /^verdict: DNAT to 10\.244\.1\.5:8080; source masqueraded/m]) {
    assert.match(text, re);
  }
});

test('other load-balancing spellings: kube-proxy numgen vmap to endpoint chains, and a goto cascade', () => {
  const head = [
    'add table ip k',
    'add chain ip k nat-prerouting { type nat hook prerouting priority dstnat ; }',
    'add chain ip k svc',
    'add chain ip k ep-a',
    'add chain ip k ep-b',
    'add rule ip k nat-prerouting ip daddr 10.96.0.1 tcp dport 80 goto svc',
    'add rule ip k ep-a meta l4proto tcp dnat to 10.244.1.1:80',
    'add rule ip k ep-b meta l4proto tcp dnat to 10.244.1.2:80',
  ];
  const forms = {
    vmap: ['add rule ip k svc numgen random mod 2 vmap { 0 : goto ep-a, 1 : goto ep-b }'],
    gotoCascade: ['add rule ip k svc numgen random mod 2 0 goto ep-a', 'add rule ip k svc goto ep-b'],
  };
  for (const [name, lines] of Object.entries(forms)) {
    const rs = parseRuleset([...head, ...lines].join('\n'));
    const r = tracePacket(rs, from('pod', POD, '10.96.0.1:80'), { choose: (c) => c.findIndex((x) => x.endpoint === '10.244.1.2:80') });
    assert.equal(r.verdict.endpoint, '10.244.1.2:80', name);
    assert.deepEqual(r.verdict.candidates, ['10.244.1.1:80', '10.244.1.2:80'], name);
  }
});

test('ct status: only dnat is simulated; != dnat holds before any DNAT', () => {
  const rs = (rule: string): Ruleset => parseRuleset(['add table ip k', 'add chain ip k out { type filter hook prerouting priority 0 ; }', `add rule ip k out ${rule}`].join('\n'));
  assert.equal(tracePacket(rs('ct status != dnat drop'), from('pod', POD, '10.96.0.1:80')).verdict.kind, 'drop');
  assert.equal(tracePacket(rs('ct status dnat drop'), from('pod', POD, '10.96.0.1:80')).verdict.kind, 'accept');
  assert.throws(() => tracePacket(rs('ct status snat drop'), from('pod', POD, '10.96.0.1:80')), TraceError);
});
