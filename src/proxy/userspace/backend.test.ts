import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ep, plan, state, svc } from '../nftables/fixtures.js';
import { UserspaceBackend, loopbackMirror, renderRedirects } from './backend.js';

const canCheck = spawnSync('unshare', ['-rn', 'nft', '--version']).status === 0;

describe('userspace backend', () => {
  it('renders DNATs to the listeners, kernel refusals for services without endpoints, and the service-CIDR drop', () => {
    const script = renderRedirects(
      [
        { protocol: 'UDP', ip: '10.96.0.20', port: 53, toAddress: '10.244.0.1', toPort: 40001 },
        { protocol: 'TCP', ip: '10.96.0.10', port: 80, toAddress: '10.244.0.1', toPort: 40000 },
        { protocol: 'TCP', ip: '10.96.0.30', port: 80, toAddress: '10.244.0.1', toPort: 40002, reject: true },
      ],
      { table: 'kl-us', serviceCIDRs: ['10.96.0.0/12'] },
    );
    const lines = script.trim().split('\n');
    assert.ok(lines.includes('add rule ip kl-us services ip daddr 10.96.0.10 tcp dport 80 dnat to 10.244.0.1:40000'));
    assert.ok(lines.includes('add rule ip kl-us services ip daddr 10.96.0.20 udp dport 53 dnat to 10.244.0.1:40001'));
    assert.ok(lines.includes('add rule ip kl-us filter-output ip daddr 10.96.0.30 tcp dport 80 reject with tcp reset'));
    assert.ok(!lines.some((l) => l.includes('10.96.0.30') && l.includes('dnat')), 'a refused service is not redirected');
    const reject = lines.findIndex((l) => l.includes('filter-output ip daddr 10.96.0.30'));
    const drop = lines.findIndex((l) => l === 'add rule ip kl-us filter-output ip daddr 10.96.0.0/12 drop');
    assert.ok(reject >= 0 && drop > reject, 'the refusal comes before the catch-all drop');
    if (canCheck) {
      const r = spawnSync('unshare', ['-rn', 'nft', '-c', '-f', '-'], { input: script, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
  });

  it('maps service addresses to loopback mirrors without root', () => {
    assert.equal(loopbackMirror('10.96.0.5'), '127.96.0.5');
  });

  it('as root: listeners on the node address, one DNAT per service address, rules rewritten each sync', async () => {
    const scripts: string[] = [];
    const b = new UserspaceBackend({ redirect: true, nodeAddress: '127.0.0.1', runNft: async (s) => void scripts.push(s), table: 't' });
    try {
      const s = svc('web', { clusterIPs: ['10.96.0.10'], port: 80 });
      await b.sync({ state: state([plan(s, [ep('127.0.0.2')])]), changed: 'all' });
      const l = b.proxier.listeners().find((x) => x.id === 'TCP/10.96.0.10:80')!;
      assert.equal(l.address, '127.0.0.1');
      assert.ok(scripts[0]!.includes(`ip daddr 10.96.0.10 tcp dport 80 dnat to 127.0.0.1:${l.port}`), scripts[0]);
      await b.sync({ state: state([plan(s, [])]), changed: 'all' });
      assert.ok(scripts[1]!.includes('ip daddr 10.96.0.10 tcp dport 80 reject with tcp reset'), scripts[1]);
    } finally {
      await b.cleanup();
    }
    assert.match(scripts.at(-1)!, /delete table ip t/);
  });
});
