import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type TestCluster } from '../../test/harness.js';
import { LEASES, LocalClient } from '../client/client.js';
import { COMPONENTS, defaultComponents, startControllerManager, type ComponentSpec, type Controller, type ControllerManager } from './index.js';
import { DEFAULT_LB_POOL } from './servicelb/pool.js';
import type { ControllerContext } from './context.js';

/** Short leases on the real clock (leases are stored in whole seconds, so 1 s is the floor). */
const FAST = { leaseDurationMs: 1000, renewDeadlineMs: 600, retryPeriodMs: 100 };

async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A controller that records its lifecycle into `log` as `<id> start|stop`. */
function recording(log: string[], id: string): Controller {
  return {
    start: async () => void log.push(`${id} start`),
    stop: async () => void log.push(`${id} stop`),
  };
}

describe('controller manager', () => {
  let c: TestCluster;
  let n = 0;
  const deps = (): { registry: TestCluster['server']['registry']; cache: TestCluster['server']['cache'] } => ({ registry: c.server.registry, cache: c.server.cache });
  const started: ControllerManager[] = [];
  const start = (components: ComponentSpec[], o: Parameters<typeof startControllerManager>[1] = {}): ControllerManager => {
    const m = startControllerManager(deps(), { quiet: true, leaderElection: FAST, ...o, components });
    started.push(m);
    return m;
  };
  const holder = async (name: string): Promise<string | undefined> =>
    ((await new LocalClient(c.server.registry, { manager: 't' }).get(LEASES, 'kube-system', name)) as unknown as { spec: { holderIdentity?: string } }).spec.holderIdentity;

  before(async () => {
    c = await startCluster({ store: 'memory' });
  });
  after(async () => {
    for (const m of started) await m.crash();
    await c?.close();
  });

  it('runs kube-controller-manager controllers in `up` under its lease', async () => {
    const m = c.controllers!;
    const want = defaultComponents({ lbPool: DEFAULT_LB_POOL }).flatMap((x) => x.controllers.map((ctl) => `${x.name}/${ctl.name}`)).sort();
    await until(() => m.running().length === want.length);
    assert.ok(want.includes('cloud-controller-manager/service-lb-controller'), 'the LoadBalancer controller runs under its own lease');
    assert.deepEqual(m.leading().sort(), ['cloud-controller-manager', 'kube-controller-manager', 'kube-scheduler']);
    assert.deepEqual(m.running().sort(), want);
    assert.ok(want.includes('kube-controller-manager/namespace') && want.includes('kube-scheduler/scheduler'));
    assert.equal(await holder('kube-controller-manager'), m.identity);
    assert.ok(COMPONENTS.some((x) => x.name === 'kube-scheduler'));
  });

  it('retries a controller whose start fails until it starts, and stops it', async () => {
    let attempts = 0;
    let stopped = 0;
    const flaky = (): Controller => ({
      start: async () => {
        attempts++;
        if (attempts < 3) throw new Error('store unavailable');
      },
      stop: async () => void stopped++,
    });
    const errors: string[] = [];
    const orig = console.error;
    console.error = (...a: unknown[]) => void errors.push(a.join(' '));
    try {
      const m = start([{ name: `retry-${++n}`, controllers: [{ name: 'flaky', make: flaky }] }], { retryMs: 5 });
      await until(() => attempts >= 3);
      await until(() => m.running().length === 1);
      const before = stopped;
      await m.stop();
      assert.equal(stopped - before, 1, 'the started controller is stopped');
      assert.equal(errors.length, 2);
      assert.match(errors[0], /controller flaky failed to start \(retrying in 5 ms\)/);
      assert.match(errors[1], /retrying in 10 ms/);
    } finally {
      console.error = orig;
    }
  });

  it('runs a component only in the process holding its lease; a crash hands it over after the lease expires', async () => {
    const name = `comp-${++n}`;
    const log: string[] = [];
    const contexts: ControllerContext[] = [];
    const comp = (who: string): ComponentSpec[] => [
      { name, controllers: [{ name: 'x', make: (ctx) => (contexts.push(ctx), recording(log, who)) }] },
    ];
    const a = start(comp('a'), { identity: 'a' });
    await until(() => a.leading().length === 1);
    const b = start(comp('b'), { identity: 'b' });
    await new Promise((r) => setTimeout(r, 400));
    assert.deepEqual(b.leading(), [], 'b waits while a holds the lease');
    assert.deepEqual(b.running(), []);
    assert.deepEqual(a.running(), [`${name}/x`]);
    assert.equal(await holder(name), 'a');

    await a.crash();
    const crashed = Date.now();
    assert.deepEqual(a.running(), []);
    await until(() => b.running().length === 1);
    const took = Date.now() - crashed;
    assert.ok(took >= 1000 - FAST.retryPeriodMs * 2.2, `b waited for the lease to expire (${took} ms)`);
    assert.equal(await holder(name), 'b');
    assert.deepEqual(log, ['a start', 'a stop', 'b start']);
    assert.notEqual(contexts[0], contexts[1], 'every term gets a fresh ControllerContext');
    assert.equal(contexts[0].informers.for('', 'pods') !== undefined, true);

    // Graceful stop releases: a restarted `a` takes over within a retry period or two.
    const a2 = start(comp('a2'), { identity: 'a' });
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(a2.leading(), []);
    await b.stop();
    const released = Date.now();
    assert.equal(await holder(name), '');
    await until(() => a2.running().length === 1);
    assert.ok(Date.now() - released < 800, 'released lease is taken at once');
    assert.deepEqual(log, ['a start', 'a stop', 'b start', 'b stop', 'a2 start']);
    await a2.stop();
  });

  it('stops the controllers and closes the informers when the lease is lost, then campaigns again', async () => {
    const name = `lost-${++n}`;
    const log: string[] = [];
    let closed = 0;
    const m = start([
      {
        name,
        controllers: [
          {
            name: 'x',
            make: (ctx) => {
              const close = ctx.informers.close.bind(ctx.informers);
              ctx.informers.close = () => void (closed++, close());
              return recording(log, 'x');
            },
          },
        ],
      },
    ], { identity: 'me' });
    await until(() => m.running().length === 1);
    // Someone else takes the lease (as a partitioned-away leader would find on its return).
    await new LocalClient(c.server.registry, { manager: 't' }).mutate(LEASES, 'kube-system', name, (l) => {
      (l as unknown as { spec: { holderIdentity: string } }).spec.holderIdentity = 'other';
      return l;
    });
    await until(() => m.running().length === 0);
    assert.deepEqual(m.leading(), []);
    assert.equal(closed, 1, 'the term informers are closed');
    // "other" never renews: after the lease expires we lead again with a new term.
    await until(() => m.running().length === 1, 4000);
    assert.deepEqual(log, ['x start', 'x stop', 'x start']);
    await m.stop();
  });

  it('holds no lease for a component without controllers and prints leadership changes', async () => {
    const name = `empty-${++n}`;
    const lines: string[] = [];
    const m = start([{ name, controllers: [] }, { name: `${name}-b`, controllers: [{ name: 'x', make: () => recording([], 'x') }] }], {
      quiet: false,
      identity: 'me',
      log: (l) => void lines.push(l),
    });
    await until(() => m.leading().length === 1);
    await assert.rejects(holder(name), /not found/);
    await m.stop();
    assert.deepEqual(lines, [`kubelite: became leader for ${name}-b (identity me)`, `kubelite: stopped leading ${name}-b`]);
  });
});
