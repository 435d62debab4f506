import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IptablesApplier, type ExecResult } from './applier.js';
import { JUMP_RULES, svcChain, sepChain } from './chains.js';
import { CASES, ep, plan, state, svc } from '../nftables/fixtures.js';
import type { ProxyState } from '../types.js';

const BUILTIN: Record<string, string[]> = { filter: ['INPUT', 'FORWARD', 'OUTPUT'], nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'] };

/**
 * An in-memory iptables: tables of chains of rule strings, with `iptables -N/-C/-I/-D`,
 * `iptables-save -t` and `iptables-restore --noflush` semantics (a chain line creates or
 * flushes, -A appends, -X deletes and fails if the chain is still referenced).
 */
class FakeIptables {
  tables = new Map<string, Map<string, string[]>>();
  log: string[] = [];
  restores: string[] = [];
  failRestore = false;

  constructor() {
    for (const [t, cs] of Object.entries(BUILTIN)) this.tables.set(t, new Map(cs.map((c) => [c, []])));
  }

  exec = async (argv: string[]): Promise<ExecResult> => {
    this.log.push(argv.join(' '));
    if (argv[0] === 'iptables-save') {
      const t = this.tables.get(argv[2]!)!;
      return { code: 0, stdout: [`*${argv[2]}`, ...[...t.keys()].map((c) => `:${c} - [0:0]`), ...[...t].flatMap(([c, rs]) => rs.map((r) => `-A ${c} ${r}`)), 'COMMIT', ''].join('\n') };
    }
    assert.deepEqual(argv.slice(0, 3), ['iptables', '-w', '5']);
    const [, , , , table, op, chain, ...rest] = argv;
    const t = this.tables.get(table!)!;
    const rule = rest.map((a) => (/\s/.test(a) ? `"${a}"` : a)).join(' ');
    switch (op) {
      case '-N':
        if (t.has(chain!)) return { code: 1, stdout: '' };
        t.set(chain!, []);
        return { code: 0, stdout: '' };
      case '-C':
        return { code: t.get(chain!)?.includes(rule) ? 0 : 1, stdout: '' };
      case '-I':
        t.get(chain!)!.unshift(rule);
        return { code: 0, stdout: '' };
      case '-D': {
        const rs = t.get(chain!)!;
        const i = rs.indexOf(rule);
        if (i < 0) return { code: 1, stdout: '' };
        rs.splice(i, 1);
        return { code: 0, stdout: '' };
      }
      default:
        throw new Error(`unexpected ${argv.join(' ')}`);
    }
  };

  restore = async (input: string): Promise<void> => {
    this.restores.push(input);
    if (this.failRestore) throw new Error('iptables-restore: line 3 failed');
    const next = new Map([...this.tables].map(([k, v]) => [k, new Map([...v].map(([c, r]) => [c, [...r]]))]));
    let t: Map<string, string[]> | undefined;
    for (const line of input.split('\n')) {
      if (line.startsWith('*')) t = next.get(line.slice(1));
      else if (line.startsWith(':')) t!.set(line.slice(1).split(' ')[0]!, []);
      else if (line.startsWith('-A ')) {
        const [, c, ...r] = line.split(' ');
        assert.ok(t!.has(c!), `append to undeclared ${c}`);
        t!.get(c!)!.push(r.join(' '));
      } else if (line.startsWith('-X ')) {
        const c = line.slice(3);
        for (const rs of t!.values()) for (const r of rs) assert.ok(!r.includes(`-j ${c}`), `-X ${c} while referenced`);
        t!.delete(c);
      }
    }
    this.tables = next;
  };

  chains(table: string): string[] {
    return [...this.tables.get(table)!.keys()].filter((c) => c.startsWith('KUBE-')).sort();
  }
  rules(table: string, chain: string): string[] {
    return this.tables.get(table)!.get(chain) ?? [];
  }
}

const a = plan(svc('a', { id: 'default/a:http/TCP', clusterIPs: ['10.96.0.30'] }), [ep('10.244.1.2'), ep('10.244.1.3')]);
const b = plan(svc('b', { id: 'default/b:http/TCP', clusterIPs: ['10.96.0.31'] }), [ep('10.244.1.4')]);
const both = state([a, b]);

test('first sync is full: jumps inserted once, chains loaded', async () => {
  const f = new FakeIptables();
  const ap = new IptablesApplier({ exec: f.exec, restore: f.restore });
  assert.deepEqual(await ap.sync({ state: both, changed: new Set() }), { full: true });
  for (const j of JUMP_RULES) assert.equal(f.rules(j.table, j.from).filter((r) => r.endsWith(`-j ${j.to}`)).length, 1, `${j.table} ${j.from} -> ${j.to}`);
  assert.ok(f.chains('nat').includes(svcChain(a)));
  assert.ok(f.chains('nat').includes(sepChain(b, b.clusterEndpoints[0]!)));
  // A forced full resync does not duplicate the jumps.
  assert.deepEqual(await ap.sync({ state: both, changed: 'all' }), { full: true });
  for (const j of JUMP_RULES) assert.equal(f.rules(j.table, j.from).filter((r) => r.endsWith(`-j ${j.to}`)).length, 1);
});

test('partial sync rewrites only changed service chains and skips the jump checks', async () => {
  const f = new FakeIptables();
  const ap = new IptablesApplier({ exec: f.exec, restore: f.restore });
  await ap.sync({ state: both, changed: 'all' });
  f.log = [];
  const a2 = plan(a.svc, [ep('10.244.1.2')]);
  assert.deepEqual(await ap.sync({ state: state([a2, b]), changed: new Set([a.svc.id]) }), { full: false });
  assert.deepEqual(f.log, ['iptables-save -t nat'], 'no iptables -C calls in a partial sync');
  const input = f.restores.at(-1)!;
  assert.ok(input.includes(`:${svcChain(a)} - [0:0]`));
  assert.ok(!input.includes(`:${svcChain(b)} - [0:0]`), 'unchanged chain not flushed');
  assert.equal(f.rules('nat', svcChain(b)).length, 2, 'b keeps its rules (masq + endpoint)');
  const staleSep = sepChain(a, ep('10.244.1.3'));
  assert.ok(input.includes(`-X ${staleSep}`));
  assert.ok(!f.chains('nat').includes(staleSep));
});

test('removing a service deletes its chains; KUBE-SERVICES no longer mentions it', async () => {
  const f = new FakeIptables();
  const ap = new IptablesApplier({ exec: f.exec, restore: f.restore });
  await ap.sync({ state: both, changed: 'all' });
  await ap.sync({ state: state([a]), changed: new Set([b.svc.id]) });
  assert.ok(!f.chains('nat').includes(svcChain(b)));
  assert.ok(!f.chains('nat').includes(sepChain(b, b.clusterEndpoints[0]!)));
  assert.ok(!f.rules('nat', 'KUBE-SERVICES').some((r) => r.includes('10.96.0.31')));
  assert.ok(f.chains('nat').includes(svcChain(a)));
});

test('a failed restore throws and forces the next sync to be full', async () => {
  const f = new FakeIptables();
  const ap = new IptablesApplier({ exec: f.exec, restore: f.restore });
  await ap.sync({ state: both, changed: 'all' });
  f.failRestore = true;
  await assert.rejects(ap.sync({ state: both, changed: new Set([a.svc.id]) }), /line 3/);
  f.failRestore = false;
  f.log = [];
  assert.deepEqual(await ap.sync({ state: both, changed: new Set() }), { full: true });
  assert.ok(f.log.some((l) => l.includes(' -C ')), 'jumps re-checked');
  assert.ok(f.restores.at(-1)!.includes(`:${svcChain(b)} - [0:0]`), 'all chains rewritten');
});

test('a failing iptables-save only skips stale-chain deletion', async () => {
  const f = new FakeIptables();
  const exec = async (argv: string[]): Promise<ExecResult> => (argv[0] === 'iptables-save' ? { code: 4, stdout: '' } : f.exec(argv));
  const ap = new IptablesApplier({ exec, restore: f.restore });
  await ap.sync({ state: both, changed: 'all' });
  await ap.sync({ state: state([a]), changed: new Set([b.svc.id]) });
  assert.ok(f.chains('nat').includes(svcChain(b)), 'left behind, unreferenced');
  assert.ok(!f.rules('nat', 'KUBE-SERVICES').some((r) => r.includes('10.96.0.31')));
});

test('jump insertion failure rejects', async () => {
  const f = new FakeIptables();
  const exec = async (argv: string[]): Promise<ExecResult> => (argv.includes('-I') ? { code: 4, stdout: '', stderr: 'lock' } : f.exec(argv));
  await assert.rejects(new IptablesApplier({ exec, restore: f.restore }).sync({ state: both, changed: 'all' }), /-I .*lock/);
});

test('cleanup removes every jump and chain of ours, across all shared cases', async () => {
  for (const [name, st] of Object.entries(CASES) as Array<[string, ProxyState]>) {
    const f = new FakeIptables();
    f.tables.get('nat')!.set('OTHER', ['-j RETURN']);
    f.tables.get('nat')!.get('PREROUTING')!.push('-j OTHER');
    const ap = new IptablesApplier({ exec: f.exec, restore: f.restore });
    await ap.sync({ state: st, changed: 'all' });
    assert.ok(f.chains('nat').length > 0);
    await ap.cleanup();
    assert.deepEqual(f.chains('nat'), [], name);
    assert.deepEqual(f.chains('filter'), [], name);
    for (const [t, cs] of Object.entries(BUILTIN)) for (const c of cs) assert.ok(!f.rules(t, c).some((r) => r.includes('KUBE-')), `${name} ${t} ${c}`);
    assert.deepEqual(f.rules('nat', 'PREROUTING'), ['-j OTHER'], 'foreign rules untouched');
    // After cleanup the next sync is full again (jumps restored).
    assert.deepEqual(await ap.sync({ state: st, changed: new Set() }), { full: true });
  }
});

test('syncs are serialized', async () => {
  const f = new FakeIptables();
  let inFlight = 0;
  let max = 0;
  const restore = async (input: string): Promise<void> => {
    inFlight++; max = Math.max(max, inFlight);
    await new Promise((r) => setTimeout(r, 5));
    await f.restore(input);
    inFlight--;
  };
  const ap = new IptablesApplier({ exec: f.exec, restore });
  await Promise.all([ap.sync({ state: both, changed: 'all' }), ap.sync({ state: both, changed: new Set() }), ap.sync({ state: state([a]), changed: new Set([b.svc.id]) })]);
  assert.equal(max, 1);
  assert.ok(!f.chains('nat').includes(svcChain(b)));
});
