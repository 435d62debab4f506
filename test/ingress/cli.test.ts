import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../node/cli-cluster.js';

describe('kubelite up ingress flags', () => {
  it('refuses an unknown --ingress-backend with exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubelite-ingcli-'));
    try {
      const r = await runCli(['up', '--data-dir', dir, '--listen', '127.0.0.1:0', '--ingress-backend', 'haproxy']);
      assert.equal(r.code, 2, r.out);
      assert.match(r.out, /--ingress-backend must be builtin or nginx \(got "haproxy"\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
