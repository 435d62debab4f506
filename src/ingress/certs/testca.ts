/**
 * Test helper: a CA made exactly as the API server makes the cluster CA (ensurePki into a
 * throwaway data dir), read back the way the controller's caller reads it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePki } from '../../apiserver/auth/certs.js';
import { readClusterCA, type CertIssuer } from './issue.js';

export async function makeTestCA(): Promise<CertIssuer> {
  const dir = mkdtempSync(join(tmpdir(), 'kubelite-certs-'));
  try {
    await ensurePki(dir, { hosts: [] });
    return readClusterCA(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
