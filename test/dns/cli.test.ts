import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../node/cli-cluster.js';

describe('kubelite up DNS flags', () => {
  const cases: { args: string[]; out: RegExp }[] = [
    { args: ['--dns-upstream', 'not-an-ip'], out: /--dns-upstream: invalid upstream "not-an-ip"/ },
    { args: ['--dns-upstream', '127.0.0.1:99999'], out: /--dns-upstream: invalid upstream "127\.0\.0\.1:99999"/ },
    { args: ['--dns-upstream', '1.1.1.1,[::1'], out: /--dns-upstream: invalid upstream "\[::1"/ },
  ];
  for (const c of cases) {
    it(`refuses ${c.args.join(' ')} with exit 2`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'kubelite-dnscli-'));
      try {
        const r = await runCli(['up', '--data-dir', dir, '--listen', '127.0.0.1:0', ...c.args]);
        assert.equal(r.code, 2, r.out);
        assert.match(r.out, c.out);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
