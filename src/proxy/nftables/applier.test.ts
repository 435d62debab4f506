import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProxyState } from '../types.js';
import { NftablesApplier, runNft } from './applier.js';
import { ep, plan, state, svc } from './fixtures.js';
import { NftSim } from './nftsim.js';
import { renderRuleset } from './render.js';

const three = [ep('10.244.1.2'), ep('10.244.1.3'), ep('10.244.1.4')];
const web = plan(svc('web'), three);
const web2 = plan(svc('web'), three.slice(0, 2));
const https = plan(svc('web', { id: 'default/web:https/TCP', portName: 'https', port: 443 }), three);
const db = plan(svc('db', { clusterIPs: ['10.96.0.20'], port: 5432 }), [ep('10.244.2.1', { port: 5432 })]);

/** A fake `nft` backed by the in-memory model; `failNext` makes the next load fail. */
function fakeNft(): { sim: NftSim; scripts: string[]; failNext: () => void; run: (s: string) => Promise<void> } {
  const sim = new NftSim();
  const scripts: string[] = [];
  let fail = false;
  return {
    sim, scripts, failNext: () => { fail = true; },
    run: async (s: string) => {
      scripts.push(s);
      if (fail) { fail = false; throw new Error('Error: Could not process rule: Device or resource busy'); }
      sim.apply(s);
    },
  };
}

function expected(st: ProxyState): string {
  const sim = new NftSim();
  sim.apply(renderRuleset(st, { table: 't' }));
  return sim.dump('t');
}

interface Step { state: ProxyState; changed: Set<string> | 'all'; full: boolean; fail?: boolean; match?: RegExp; noMatch?: RegExp }

const cases: Record<string, Step[]> = {
  'add service': [
    { state: state([web]), changed: new Set([web.svc.id]), full: true },
    { state: state([web, db]), changed: new Set([db.svc.id]), full: false, match: /add element ip t service-ips \{ 10\.96\.0\.20 \. tcp \. 5432/, noMatch: /10\.96\.0\.10/ },
  ],
  'endpoint change': [
    { state: state([web]), changed: 'all', full: true },
    { state: state([web2]), changed: new Set([web.svc.id]), full: false, match: /^delete element ip t hairpin \{ 10\.244\.1\.4 \. 10\.244\.1\.4 \}$/m, noMatch: /service-ips|cluster-ips|chain ip t endpoint-|add chain/ },
  ],
  'remove service': [
    { state: state([web, db]), changed: 'all', full: true },
    { state: state([web]), changed: new Set([db.svc.id]), full: false, match: /^delete element ip t cluster-ips \{ 10\.96\.0\.20 \}$/m, noMatch: /10\.96\.0\.10/ },
  ],
  'shared cluster IP between two ports': [
    { state: state([web, https]), changed: 'all', full: true },
    { state: state([https]), changed: new Set([web.svc.id]), full: false, noMatch: /cluster-ips/ },
    { state: state([]), changed: new Set([https.svc.id]), full: false, match: /delete element ip t cluster-ips \{ 10\.96\.0\.10 \}/ },
  ],
  'failed apply makes the next sync full': [
    { state: state([web]), changed: 'all', full: true },
    { state: state([web2]), changed: new Set([web.svc.id]), full: false, fail: true },
    { state: state([web2, db]), changed: new Set([db.svc.id]), full: true },
    { state: state([web, db]), changed: new Set([web.svc.id]), full: false },
  ],
  'failed full sync stays full': [
    { state: state([web]), changed: 'all', full: true, fail: true },
    { state: state([web]), changed: new Set(), full: true },
  ],
  'node change forces a full sync': [
    { state: state([web]), changed: 'all', full: true },
    { state: { ...state([web]), node: { ...state([]).node, serviceCIDRs: ['10.96.0.0/12'] } }, changed: new Set(), full: true, match: /10\.96\.0\.0\/12 drop/ },
  ],
  'nothing changed': [
    { state: state([web]), changed: 'all', full: true },
    { state: state([web]), changed: new Set([web.svc.id]), full: false },
  ],
};

for (const [name, steps] of Object.entries(cases)) {
  test(`applier: ${name}`, async () => {
    const nft = fakeNft();
    const a = new NftablesApplier({ run: nft.run, table: 't' });
    for (const [i, s] of steps.entries()) {
      const before = nft.scripts.length;
      if (s.fail) {
        nft.failNext();
        await assert.rejects(a.sync({ state: s.state, changed: s.changed }), /Device or resource busy/);
        continue;
      }
      const r = await a.sync({ state: s.state, changed: s.changed });
      assert.equal(r.full, s.full, `step ${i}: full`);
      const script = nft.scripts.slice(before).join('');
      assert.equal(r.bytes, Buffer.byteLength(script), `step ${i}: bytes`);
      if (s.full) assert.match(script, /^add table ip t\ndelete table ip t\n/);
      if (s.match) assert.match(script, s.match, `step ${i}`);
      if (s.noMatch) assert.doesNotMatch(script, s.noMatch, `step ${i}`);
      assert.equal(nft.sim.dump('t'), expected(s.state), `step ${i}: kernel state equals a full render`);
    }
  });
}

test('applier: nothing changed sends nothing', async () => {
  const nft = fakeNft();
  const a = new NftablesApplier({ run: nft.run, table: 't' });
  await a.sync({ state: state([web]), changed: 'all' });
  const r = await a.sync({ state: state([web]), changed: new Set([web.svc.id]) });
  assert.deepEqual(r, { full: false, bytes: 0 });
  assert.equal(nft.scripts.length, 1);
});

test('applier: cleanup deletes the table, tolerates a missing one, and forces a full sync', async () => {
  const nft = fakeNft();
  const a = new NftablesApplier({ run: nft.run, table: 't' });
  await a.sync({ state: state([web]), changed: 'all' });
  await a.cleanup();
  assert.equal(nft.sim.tables.has('t'), false);
  await a.cleanup(); // "No such file or directory" from the model: ignored
  assert.equal((await a.sync({ state: state([web]), changed: new Set() })).full, true);
  const failing = new NftablesApplier({ run: async () => { throw new Error('Error: permission denied'); } });
  await assert.rejects(failing.cleanup(), /permission denied/);
});

test('runNft reports nft stderr on failure', async (t) => {
  // A syntax error stops nft while parsing, before it talks to the kernel: safe on the host.
  const err = await runNft('this is not nft\n', { args: ['-c'] }).then(() => undefined, (e: Error) => e);
  if (err && /ENOENT/.test(String(err))) { t.skip('nft not installed'); return; }
  assert.match(String(err), /nft -f - failed \(exit 1\): .*syntax error/s);
});
