import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderRuleset, chainName } from './render.js';
import { CASES } from './fixtures.js';

const dir = join(fileURLToPath(new URL('.', import.meta.url)), 'testdata');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

function nftUsable(): boolean {
  try { execFileSync('unshare', ['-rn', 'nft', 'list', 'ruleset'], { stdio: 'ignore' }); return true; } catch { return false; }
}
const nftOk = nftUsable();

for (const [name, st] of Object.entries(CASES)) {
  test(`golden ${name}`, () => {
    const out = renderRuleset(st, {});
    const file = join(dir, `${name}.nft`);
    if (UPDATE || !existsSync(file)) writeFileSync(file, out);
    assert.equal(out, readFileSync(file, 'utf8'));
  });
  test(`nft -c accepts ${name}`, (t) => {
    if (!nftOk) { t.skip('nft or unshare -rn unavailable'); return; }
    const f = join(mkdtempSync(join(tmpdir(), 'nftc-')), 'r.nft');
    writeFileSync(f, renderRuleset(st, {}));
    const r = spawnSync('unshare', ['-rn', 'nft', '-c', '-f', f], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });
}

test('features appear in the rendered script', () => {
  const c = renderRuleset(CASES.clusterip!, { table: 't1' });
  assert.match(c, /^add table ip t1$/m);
  assert.match(c, /numgen random mod 3 vmap \{ 0 : goto endpoint-/);
  assert.match(c, /add element ip t1 service-ips \{ 10\.96\.0\.10 \. tcp \. 80 : goto service-/);
  assert.match(c, /dnat to 10\.244\.1\.2:8080/);
  assert.match(c, /add element ip t1 cluster-ips \{ 10\.96\.0\.10 \}/);
  assert.match(renderRuleset(CASES.noendpoints!, {}), /no-endpoint-services \{ 10\.96\.0\.15 \. tcp \. 80 : goto reject-chain \}/);
  assert.match(renderRuleset(CASES.affinity!, {}), /update @affinity-\S+ \{ ip saddr \}/);
  assert.match(renderRuleset(CASES.lb!, {}), /ip saddr != \{ 198\.51\.100\.0\/24 \} drop/);
  assert.match(renderRuleset(CASES.nodeport!, {}), /service-nodeports \{ tcp \. 30080 : goto external-/);
});

test('chain names are stable and distinct', () => {
  assert.equal(chainName('service', 'a/b:p/TCP'), chainName('service', 'a/b:p/TCP'));
  assert.notEqual(chainName('service', 'a/b:p/TCP'), chainName('service', 'a/b:p/UDP'));
});
