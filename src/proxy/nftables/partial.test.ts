import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { planService } from '../compute.js';
import type { ProxyState, ServicePlan } from '../types.js';
import { serviceFragment, type ServiceFragment } from './fragment.js';
import { AppliedRuleset } from './partial.js';
import { renderRuleset, stateFragments } from './render.js';
import { bigState, ep, plan, state, svc } from './fixtures.js';
import { NftSim } from './nftsim.js';

const T = 'kubelite';

function fullDump(st: ProxyState): string {
  const sim = new NftSim();
  sim.apply(renderRuleset(st));
  return sim.dump(T);
}

/** Runs states[0] as a full sync, then each next state as a partial sync over every id of either side. */
function replay(states: ProxyState[]): { scripts: string[] } {
  const sim = new NftSim();
  sim.apply(renderRuleset(states[0]!));
  const applied = new AppliedRuleset(stateFragments(states[0]!));
  const scripts: string[] = [];
  for (let i = 1; i < states.length; i++) {
    const prev = states[i - 1]!;
    const st = states[i]!;
    const updates = new Map<string, ServiceFragment | null>();
    for (const id of new Set([...prev.services.keys(), ...st.services.keys()])) {
      const p = st.services.get(id);
      updates.set(id, p ? serviceFragment(p, st.node) : null);
    }
    const { script, commit } = applied.diff(updates, { table: T });
    scripts.push(script);
    try { sim.apply(script); } catch (e) { assert.fail(`step ${i}: ${(e as Error).message}\n${script}`); }
    commit();
    assert.equal(sim.dump(T), fullDump(st), `step ${i}: partial result differs from a full sync\n${script}`);
  }
  return { scripts };
}

const three = [ep('10.244.1.2'), ep('10.244.1.3'), ep('10.244.1.4')];
const web = (o: Parameters<typeof svc>[1] = {}): ReturnType<typeof svc> => svc('web', o);
const https = (o: Parameters<typeof svc>[1] = {}): ReturnType<typeof svc> => svc('web', { id: 'default/web:https/TCP', portName: 'https', port: 443, ...o });

const scenarios: Record<string, ProxyState[]> = {
  'add service': [state([]), state([plan(web(), three)])],
  'endpoint change': [state([plan(web(), three)]), state([plan(web(), three.slice(1))]), state([plan(web(), [ep('10.244.9.9')])])],
  'endpoints gone and back (reject)': [state([plan(web(), three)]), state([plan(web(), [])]), state([plan(web(), three)])],
  'remove service': [state([plan(web(), three)]), state([])],
  'shared cluster IP: add and remove a port': [
    state([plan(web(), three)]),
    state([plan(web(), three), plan(https(), three)]),
    state([plan(https(), three)]),
    state([]),
  ],
  'affinity on, timeout change, off': [
    state([plan(web(), three)]),
    state([plan(web({ sessionAffinity: { timeoutSeconds: 10800 } }), three)]),
    state([plan(web({ sessionAffinity: { timeoutSeconds: 60 } }), three)]),
    state([plan(web(), three)]),
  ],
  'type changes': [
    state([plan(web(), three)]),
    state([plan(web({ nodePort: 30080 }), three)]),
    state([plan(web({ nodePort: 30080, loadBalancerIPs: ['203.0.113.5'], loadBalancerSourceRanges: ['198.51.100.0/24'] }), three)]),
    state([plan(web({ nodePort: 30080, loadBalancerIPs: ['203.0.113.5'], externalTrafficPolicy: 'Local' }), three, { externalEndpoints: [] })]),
    state([plan(web(), three)]),
  ],
  'conflicting externalIP: loser takes over': [
    state([plan(svc('a', { clusterIPs: ['10.96.0.1'], externalIPs: ['192.0.2.1'] }), three), plan(svc('b', { clusterIPs: ['10.96.0.2'], externalIPs: ['192.0.2.1'] }), three)]),
    state([plan(svc('b', { clusterIPs: ['10.96.0.2'], externalIPs: ['192.0.2.1'] }), three)]),
  ],
};

for (const [name, states] of Object.entries(scenarios)) {
  test(`partial sync equals full sync: ${name}`, () => { replay(states); });
}

test('partial scripts touch only what changed', () => {
  const { scripts } = replay(scenarios['shared cluster IP: add and remove a port']!);
  // Adding the https port must not re-add the shared cluster IP; removing http must not delete it.
  assert.doesNotMatch(scripts[0]!, /cluster-ips/);
  assert.doesNotMatch(scripts[1]!, /cluster-ips/);
  assert.match(scripts[2]!, /^delete element ip kubelite cluster-ips \{ 10\.96\.0\.10 \}$/m);
  const [ep, ep2] = replay(scenarios['endpoint change']!).scripts;
  assert.doesNotMatch(ep!, /service-ips/, 'endpoint change keeps the map element');
  assert.match(ep!, /^flush chain ip kubelite service-/m);
  assert.doesNotMatch(ep!, /(add|delete) chain/, 'no chain per endpoint: the service chain is rewritten in place');
  assert.deepEqual(ep!.split('\n').filter((l) => /hairpin/.test(l)), ['delete element ip kubelite hairpin { 10.244.1.2 . 10.244.1.2 }']);
  assert.equal(ep!.split('\n').filter(Boolean).length, 4, ep); // delete element, flush, 2 rules
  assert.match(ep2!, /^add element ip kubelite hairpin \{ 10\.244\.9\.9 \. 10\.244\.9\.9 \}$/m);
  assert.match(ep2!, /^add rule ip kubelite service-\S+ meta l4proto tcp dnat to 10\.244\.9\.9:8080$/m);
  // Removing a service removes its hairpin elements; an endpoint shared with another service keeps its element.
  const gone = replay(scenarios['remove service']!).scripts[0]!;
  assert.match(gone, /^delete element ip kubelite hairpin \{ 10\.244\.1\.4 \. 10\.244\.1\.4 \}$/m);
  assert.match(gone, /^delete chain ip kubelite service-/m);
  const shared = replay(scenarios['shared cluster IP: add and remove a port']!).scripts;
  assert.doesNotMatch(shared[0]! + shared[1]!, /hairpin/, 'the other port still uses these endpoints');
  assert.match(shared[2]!, /^delete element ip kubelite hairpin /m);
});

test('no-op update yields an empty script', () => {
  const st = state([plan(web(), three)]);
  const a = new AppliedRuleset(stateFragments(st));
  const id = [...st.services.keys()][0]!;
  assert.equal(a.diff(new Map([[id, serviceFragment(st.services.get(id)!, st.node)]]), { table: T }).script, '');
});

// Random walks over a small universe (shared cluster IPs, conflicting externalIPs, policies,
// affinity, endpoints appearing on and off this node) — every partial step must equal a full sync.
const IPS = ['10.244.1.2', '10.244.1.3', '10.244.0.5', '10.244.0.6'];
const arbPlan = (i: number, port: { name: string; proto: 'TCP' | 'UDP'; port: number }): fc.Arbitrary<ServicePlan> =>
  fc.record({
    eps: fc.subarray(IPS), nodePort: fc.boolean(), ext: fc.boolean(), lb: fc.boolean(), ranges: fc.boolean(),
    etp: fc.constantFrom('Cluster' as const, 'Local' as const), itp: fc.constantFrom('Cluster' as const, 'Local' as const),
    aff: fc.constantFrom(undefined, 10, 20), terminating: fc.boolean(),
  }).map((r) => planService(svc(`s${i}`, {
    id: `default/s${i}:${port.name}/${port.proto}`, portName: port.name, protocol: port.proto, port: port.port,
    clusterIPs: [`10.96.0.${10 + i}`], ...(r.nodePort ? { nodePort: 30000 + i * 10 + port.port % 10 } : {}),
    externalIPs: r.ext ? ['192.0.2.1'] : [], loadBalancerIPs: r.lb ? [`203.0.113.${i}`] : [],
    loadBalancerSourceRanges: r.ranges ? ['198.51.100.0/24'] : [], externalTrafficPolicy: r.etp, internalTrafficPolicy: r.itp,
    ...(r.aff ? { sessionAffinity: { timeoutSeconds: r.aff } } : {}),
  }), r.eps.map((ip) => ep(ip, { isLocal: ip.startsWith('10.244.0.'), ready: !r.terminating, terminating: r.terminating }))));
const PORTS = [{ name: 'http', proto: 'TCP' as const, port: 80 }, { name: 'dns', proto: 'UDP' as const, port: 53 }];
const arbState = fc.tuple(...[0, 1, 2].flatMap((i) => PORTS.map((p) => fc.option(arbPlan(i, p), { nil: undefined }))))
  .map((plans) => state(plans.filter((p): p is ServicePlan => p !== undefined)));

test('random sequences: partial sync always equals full sync', () => {
  fc.assert(fc.property(fc.array(arbState, { minLength: 2, maxLength: 6 }), (states) => { replay(states); }), { numRuns: 150 });
});

test('one changed service at 10,000: small script, built in milliseconds', () => {
  const big = bigState(10_000);
  const applied = new AppliedRuleset(stateFragments(big));
  const id = 'ns/s5000:http/TCP';
  const p = big.services.get(id)!;
  const times: number[] = [];
  let script = '';
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const next = { ...p, clusterEndpoints: p.clusterEndpoints.slice(0, 2 + (i % 2)), externalEndpoints: p.externalEndpoints.slice(0, 2 + (i % 2)) };
    const d = applied.diff(new Map([[id, serviceFragment(next, big.node)]]), { table: T });
    d.commit();
    times.push(performance.now() - t0);
    if (i === 0) script = d.script;
  }
  console.log(`# partial script for one changed service at 10k: ${times.map((t) => t.toFixed(2)).join(' / ')} ms, ${script.length} bytes`);
  assert.ok(script.length < 2000, script);
  assert.ok(Math.min(...times) < 50);
});
