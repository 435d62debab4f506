/**
 * `kubelite up --proxy-mode`: bad values are usage errors (exit 2); ipvs is refused with the
 * reason (this kernel has no ip_vs) and nothing is left running or locked.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../node/cli-cluster.js';

describe('kubelite up --proxy-mode', () => {
  const cases: Array<{ name: string; args: string[]; code: number; out: RegExp }> = [
    { name: 'an unknown mode is a usage error', args: ['--proxy-mode', 'ebpf'], code: 2, out: /--proxy-mode must be one of auto, nftables, iptables, userspace, ipvs/ },
    { name: 'ipvs is refused with the reason', args: ['--proxy-mode', 'ipvs'], code: 1, out: /ipvs: .*(ip_vs|does not implement)/i },
    { name: 'a kernel mode without pod namespaces is refused', args: ['--proxy-mode', 'nftables'], code: 1, out: /needs the netns pod network/ },
    { name: 'a bad LoadBalancer pool is refused', args: ['--lb-pool', '10.250.0.0/33'], code: 1, out: /--lb-pool/ },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'kubelite-proxymode-'));
      try {
        const r = await runCli(['up', '--data-dir', dir, '--listen', '127.0.0.1:0', '--pod-network', 'host', ...c.args]);
        assert.equal(r.code, c.code, r.out);
        assert.match(r.out, c.out);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
