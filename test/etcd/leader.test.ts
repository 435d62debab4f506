/**
 * Two kubelite control planes on ONE etcd: leader election makes exactly one of them run the
 * kube-controller-manager controllers; a crashed leader (renewals stop, lease not released) is
 * replaced once its lease expires; a gracefully stopped leader releases and is replaced at once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { up, type RunningCluster, type UpOptions } from '../../src/cli/up.js';
import { LEASES, LocalClient, NAMESPACES, type ResourceRef } from '../../src/client/client.js';
import { etcdSkipReason, startEtcd, type EtcdCluster } from './etcdtest.js';
import { COMPONENTS } from '../../src/controllers/index.js';

const KCM_NAMES = COMPONENTS.find((c) => c.name === 'kube-controller-manager')!.controllers.map((c) => `kube-controller-manager/${c.name}`).sort();
const KCM_CONTROLLERS = KCM_NAMES.length;
/** The kube-controller-manager part (the scheduler has its own lease, which either process may hold). */
const kcm = (names: string[]): string[] => names.filter((n) => n.startsWith('kube-controller-manager')).sort();

const LE = { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 300 };
const KCM = 'kube-controller-manager';
const CONFIGMAPS: ResourceRef = { group: '', plural: 'configmaps' };
/** A candidate's worst case after the lease expires: observation lag + next jittered attempt. */
const TAKEOVER_MS = LE.leaseDurationMs + 2 * LE.retryPeriodMs * 2.2 + 700;

async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('leader election: two control planes on one etcd', { skip: etcdSkipReason }, () => {
  let etcd: EtcdCluster;
  const dirs: string[] = [];
  const live = new Set<RunningCluster>();
  let opts: (dir: string) => UpOptions;

  const start = async (dir: string): Promise<RunningCluster> => {
    const c = await up(opts(dir));
    live.add(c);
    return c;
  };
  const stop = async (c: RunningCluster): Promise<void> => {
    live.delete(c);
    await c.stop();
  };
  const lease = async (c: RunningCluster): Promise<Record<string, any>> => // eslint-disable-line @typescript-eslint/no-explicit-any
    (await new LocalClient(c.server.registry, { manager: 'test' }).get(LEASES, 'kube-system', KCM)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

  /** Deletes a namespace holding a ConfigMap through `via` and waits until it is gone: the namespace controller did it. */
  const namespaceIsFinalized = async (via: RunningCluster, name: string): Promise<void> => {
    const client = new LocalClient(via.server.registry, { manager: 'test' });
    await client.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    await client.create(CONFIGMAPS, name, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: { a: '1' } });
    await client.delete(NAMESPACES, undefined, name);
    await until(`namespace ${name} to be finalized`, async () => {
      try {
        await client.get(NAMESPACES, undefined, name);
        return undefined;
      } catch {
        return true;
      }
    });
  };

  before(async () => {
    etcd = await startEtcd();
    const store = `etcd://${etcd.endpoints.join(',')}`;
    opts = (dir) => ({ dataDir: dir, listen: '127.0.0.1:0', store, serviceCIDR: '10.96.0.0/12', quiet: true, leaderElection: LE, bookmarkIntervalMs: 300 });
    for (let i = 0; i < 2; i++) dirs.push(mkdtempSync(join(tmpdir(), `kubelite-leader-${i}-`)));
  });
  after(async () => {
    for (const c of live) await c.stop().catch(() => undefined);
    await etcd?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('runs the controllers in exactly one process, and hands over on crash and on graceful stop', async () => {
    const a = await start(dirs[0]);
    const b = await start(dirs[1]);
    assert.notEqual(a.controllers!.identity, b.controllers!.identity);

    // Exactly one leads, and only its controllers run.
    const [leader, follower] = await until('a leader', () => {
      const l = [a, b].filter((c) => c.controllers!.leading().includes(KCM));
      return l.length === 1 ? (l[0] === a ? [a, b] : [b, a]) : undefined;
    });
    await until('the leader\'s controllers to start', () => leader.controllers!.running().filter((r) => r.startsWith('kube-controller-manager/')).length === KCM_CONTROLLERS || undefined);
    assert.deepEqual(kcm(leader.controllers!.running()), KCM_NAMES);
    await new Promise((r) => setTimeout(r, 3 * LE.retryPeriodMs));
    assert.deepEqual(kcm(follower.controllers!.leading()), [], 'the follower keeps waiting while the leader renews');
    assert.deepEqual(kcm(follower.controllers!.running()), []);
    const held = await lease(follower);
    assert.equal(held.spec.holderIdentity, leader.controllers!.identity, 'both API servers see the same lease in etcd');
    assert.equal(held.spec.leaseDurationSeconds, 2);
    await namespaceIsFinalized(follower, 'le-before-crash');

    // Crash: renewals stop, the lease stays held; the follower takes over once it expires.
    await leader.controllers!.crash();
    const crashed = Date.now();
    assert.deepEqual(leader.controllers!.running(), []);
    await until('the follower to take over', () => follower.controllers!.leading().includes(KCM) || undefined, 3 * TAKEOVER_MS);
    const took = Date.now() - crashed;
    assert.ok(took >= LE.leaseDurationMs - 2 * LE.retryPeriodMs, `not before the lease could have expired (took ${took} ms)`);
    assert.ok(took <= TAKEOVER_MS, `within the lease duration plus retry periods (took ${took} ms, bound ${TAKEOVER_MS} ms)`);
    const taken = await lease(follower);
    assert.equal(taken.spec.holderIdentity, follower.controllers!.identity);
    assert.equal(taken.spec.leaseTransitions, held.spec.leaseTransitions + 1);
    await until('the new leader\'s controllers', () => follower.controllers!.running().filter((r) => r.startsWith('kube-controller-manager/')).length === KCM_CONTROLLERS || undefined);
    // The crashed process's controllers are gone, so this proves the new leader's act.
    await namespaceIsFinalized(leader, 'le-after-crash');

    // Restart the crashed one (its API server too), then stop the leader gracefully: the
    // lease is released and the restarted one takes over at once.
    const crashedDir = leader === a ? dirs[0] : dirs[1];
    await stop(leader);
    const restarted = await start(crashedDir);
    await new Promise((r) => setTimeout(r, 3 * LE.retryPeriodMs));
    assert.deepEqual(kcm(restarted.controllers!.leading()), [], 'the restarted process waits while the lease is held');
    await stop(follower);
    const released = Date.now();
    const rel = await lease(restarted);
    assert.ok(rel.spec.holderIdentity === '' || rel.spec.holderIdentity === restarted.controllers!.identity, 'released on graceful stop');
    await until('the restarted process to take over', () => restarted.controllers!.leading().includes(KCM) || undefined, 3 * TAKEOVER_MS);
    const handover = Date.now() - released;
    assert.ok(handover < LE.leaseDurationMs, `a released lease is taken at once (took ${handover} ms)`);
    await until('its controllers', () => restarted.controllers!.running().filter((r) => r.startsWith('kube-controller-manager/')).length === KCM_CONTROLLERS || undefined);
    await namespaceIsFinalized(restarted, 'le-after-release');
    await stop(restarted);
  });
});
