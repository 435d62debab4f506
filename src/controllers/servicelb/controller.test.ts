/**
 * Integration: the LoadBalancer address controller against a real (in-memory) API server, with
 * the real kubectl for what users see. Each test gets its own cluster (the controller owns every
 * LoadBalancer Service in it) and its own pool.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, NO_KUBECTL, type TestCluster } from '../../../test/harness.js';
import { EVENTS, LocalClient, SERVICES } from '../../client/client.js';
import { newControllerContext } from '../context.js';
import type { KObject } from '../../api/types.js';
import { ServiceLBController } from './controller.js';
import { LB_IPS_ANNOTATION } from './decide.js';

const NS = 'default';

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Env {
  c: TestCluster;
  client: LocalClient;
  start(pool: string): Promise<ServiceLBController>;
}

/** Runs `fn` against a fresh cluster; stops every controller it started and the cluster. */
async function withCluster(fn: (env: Env) => Promise<void>): Promise<void> {
  const c = await startCluster({ store: 'memory', controllers: false });
  const started: ServiceLBController[] = [];
  const env: Env = {
    c,
    client: new LocalClient(c.server.registry, { manager: 'test' }),
    async start(pool: string): Promise<ServiceLBController> {
      const ctrl = new ServiceLBController(newControllerContext({ registry: c.server.registry, cache: c.server.cache }), { pool });
      await ctrl.start();
      started.push(ctrl);
      return ctrl;
    },
  };
  try {
    await fn(env);
  } finally {
    for (const ctrl of started) await ctrl.stop();
    await c.close();
  }
}

interface SvcOpts {
  type?: string;
  cls?: string;
  lbIP?: string;
  ann?: string;
  allocateNodePorts?: boolean;
}
function service(name: string, o: SvcOpts = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, annotations: o.ann ? { [LB_IPS_ANNOTATION]: o.ann } : undefined },
    spec: {
      type: o.type ?? 'LoadBalancer',
      loadBalancerClass: o.cls,
      loadBalancerIP: o.lbIP,
      allocateLoadBalancerNodePorts: o.allocateNodePorts,
      selector: { app: name },
      ports: [{ port: 80, targetPort: 8080 }],
    },
  };
}

const ingressIPs = (svc: KObject): string[] => (((svc.status as { loadBalancer?: { ingress?: { ip?: string }[] } })?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '?'));

async function ipOf(env: Env, name: string): Promise<string> {
  return until(`an address for ${name}`, async () => {
    const ips = ingressIPs(await env.client.get(SERVICES, NS, name));
    return ips.length === 1 ? ips[0] : undefined;
  });
}

async function events(env: Env, name: string, reason: string): Promise<KObject[]> {
  const all = await env.client.list(EVENTS, NS);
  return all.filter((e) => (e.involvedObject as { name?: string }).name === name && e.reason === reason);
}

async function eventMessage(env: Env, name: string, reason: string): Promise<string> {
  return until(`event ${reason} for ${name}`, async () => (await events(env, name, reason))[0]?.message as string | undefined);
}

/** `kubectl get svc NAME` → its EXTERNAL-IP and PORT(S) columns. */
async function kubectlRow(env: Env, name: string): Promise<{ external: string; ports: string }> {
  const r = await env.c.kubectl(['get', 'svc', name, '-n', NS]);
  assert.equal(r.code, 0, r.stderr);
  const [header, row] = r.stdout.trim().split('\n');
  const cols = header.split(/\s+/);
  const vals = row.split(/\s+/);
  return { external: vals[cols.indexOf('EXTERNAL-IP')], ports: vals[cols.indexOf('PORT(S)')] };
}

describe('ServiceLBController', () => {
  it('assigns an address (status, event, kubectl EXTERNAL-IP) and releases it on delete', { skip: NO_KUBECTL }, async () => {
    await withCluster(async (env) => {
      const ctrl = await env.start('10.250.0.0/24');
      await env.client.create(SERVICES, NS, service('web'));
      assert.equal(await ipOf(env, 'web'), '10.250.0.1');
      const live = await env.client.get(SERVICES, NS, 'web');
      assert.deepEqual((live.status as { loadBalancer: unknown }).loadBalancer, { ingress: [{ ip: '10.250.0.1', ipMode: 'VIP' }] });
      assert.match(await eventMessage(env, 'web', 'IPAllocated'), /Assigned IP 10\.250\.0\.1 from pool 10\.250\.0\.0\/24/);
      assert.equal((await events(env, 'web', 'IPAllocated'))[0].type, 'Normal');
      assert.equal((await kubectlRow(env, 'web')).external, '10.250.0.1');

      await env.client.create(SERVICES, NS, service('api'));
      assert.equal(await ipOf(env, 'api'), '10.250.0.2');
      await env.client.delete(SERVICES, NS, 'web');
      await until('web released', async () => ctrl.pool.ownerOf('10.250.0.1') === undefined);
      await env.client.create(SERVICES, NS, service('next'));
      assert.equal(await ipOf(env, 'next'), '10.250.0.1', 'the freed address is handed out again');
      assert.equal(ctrl.pool.used(), 2);
    });
  });

  it('releases the address and clears status when the type changes away from LoadBalancer', async () => {
    await withCluster(async (env) => {
      const ctrl = await env.start('10.250.0.0/24');
      await env.client.create(SERVICES, NS, service('web'));
      assert.equal(await ipOf(env, 'web'), '10.250.0.1');
      await env.client.mutate(SERVICES, NS, 'web', (s) => {
        (s.spec as Record<string, unknown>).type = 'ClusterIP';
        for (const p of (s.spec as { ports: Record<string, unknown>[] }).ports) delete p.nodePort;
        return s;
      });
      await until('status cleared', async () => ingressIPs(await env.client.get(SERVICES, NS, 'web')).length === 0);
      assert.equal(ctrl.pool.used(), 0);
      assert.match(await eventMessage(env, 'web', 'IPReleased'), /Released IP 10\.250\.0\.1: the Service is no longer of type LoadBalancer/);
      // And back: it gets an address again.
      await env.client.mutate(SERVICES, NS, 'web', (s) => {
        (s.spec as Record<string, unknown>).type = 'LoadBalancer';
        return s;
      });
      assert.equal(await ipOf(env, 'web'), '10.250.0.1');
    });
  });

  it('exhaustion: Warning naming the pool, <pending> in kubectl, address given when one frees up', { skip: NO_KUBECTL }, async () => {
    await withCluster(async (env) => {
      const ctrl = await env.start('10.250.0.10-10.250.0.11');
      await env.client.create(SERVICES, NS, service('a'));
      assert.equal(await ipOf(env, 'a'), '10.250.0.10');
      await env.client.create(SERVICES, NS, service('b'));
      assert.equal(await ipOf(env, 'b'), '10.250.0.11');
      await env.client.create(SERVICES, NS, service('c'));
      const msg = await eventMessage(env, 'c', 'AllocationFailed');
      assert.match(msg, /pool 10\.250\.0\.10-10\.250\.0\.11 is exhausted/);
      assert.equal((await events(env, 'c', 'AllocationFailed'))[0].type, 'Warning');
      assert.deepEqual(ctrl.pendingKeys(), ['default/c']);
      assert.deepEqual(ingressIPs(await env.client.get(SERVICES, NS, 'c')), []);
      assert.equal((await kubectlRow(env, 'c')).external, '<pending>');
      assert.equal((await kubectlRow(env, 'a')).external, '10.250.0.10');

      await env.client.delete(SERVICES, NS, 'a');
      assert.equal(await ipOf(env, 'c'), '10.250.0.10');
      assert.deepEqual(ctrl.pendingKeys(), []);
      assert.equal((await kubectlRow(env, 'c')).external, '10.250.0.10');
      assert.equal((await events(env, 'c', 'AllocationFailed')).length, 1, 'one event for the failure, not one per sync');
    });
  });

  it('requested addresses: loadBalancerIP and the MetalLB annotation; in use → pending until freed; outside the pool → pending', async () => {
    await withCluster(async (env) => {
      const ctrl = await env.start('10.250.0.0/24');
      await env.client.create(SERVICES, NS, service('fixed', { lbIP: '10.250.0.50' }));
      assert.equal(await ipOf(env, 'fixed'), '10.250.0.50');
      await env.client.create(SERVICES, NS, service('annotated', { ann: '10.250.0.60' }));
      assert.equal(await ipOf(env, 'annotated'), '10.250.0.60');
      await env.client.create(SERVICES, NS, service('wants-50', { ann: '10.250.0.50' }));
      assert.match(await eventMessage(env, 'wants-50', 'AllocationFailed'), /requested IP 10\.250\.0\.50: it is already assigned to default\/fixed/);
      await env.client.create(SERVICES, NS, service('outside', { lbIP: '192.168.7.7' }));
      assert.match(await eventMessage(env, 'outside', 'AllocationFailed'), /requested IP 192\.168\.7\.7: it is not in pool 10\.250\.0\.0\/24/);
      assert.deepEqual(ctrl.pendingKeys(), ['default/outside', 'default/wants-50']);
      await env.client.delete(SERVICES, NS, 'fixed');
      assert.equal(await ipOf(env, 'wants-50'), '10.250.0.50');
      assert.deepEqual(ingressIPs(await env.client.get(SERVICES, NS, 'outside')), []);
      // A plain Service never gets a requested-but-pending address... it gets the lowest free.
      await env.client.create(SERVICES, NS, service('plain'));
      assert.equal(await ipOf(env, 'plain'), '10.250.0.1');
    });
  });

  it('a restarted controller rebuilds from status: same addresses, no rewrites, no double assignment', async () => {
    await withCluster(async (env) => {
      const first = await env.start('10.250.0.0/24');
      for (const n of ['s1', 's2', 's3']) await env.client.create(SERVICES, NS, service(n));
      const before: Record<string, string> = {};
      for (const n of ['s1', 's2', 's3']) before[n] = await ipOf(env, n);
      assert.deepEqual(before, { s1: '10.250.0.1', s2: '10.250.0.2', s3: '10.250.0.3' });
      await first.stop();
      // While no controller runs: s2 goes away, and a Service is created that sorts (and so
      // is synced) before the others: it must get s2's freed address, not s1's.
      await env.client.delete(SERVICES, NS, 's2');
      await env.client.create(SERVICES, NS, service('a0'));
      const rvs: Record<string, string | undefined> = {};
      for (const n of ['s1', 's3']) rvs[n] = (await env.client.get(SERVICES, NS, n)).metadata.resourceVersion;

      const second = await env.start('10.250.0.0/24');
      assert.equal(await ipOf(env, 'a0'), '10.250.0.2');
      for (const n of ['s1', 's3'] as const) {
        const live = await env.client.get(SERVICES, NS, n);
        assert.deepEqual(ingressIPs(live), [before[n]]);
        assert.equal(live.metadata.resourceVersion, rvs[n], `${n} was not rewritten`);
        assert.equal(second.pool.ownerOf(before[n]), `default/${n}`);
      }
      assert.equal(second.pool.used(), 3);
      assert.equal((await events(env, 's1', 'IPAllocated')).length, 1, 'no second IPAllocated after the restart');
    });
  });

  it('two Services showing one address at start: the older keeps it, the newer is re-assigned', async () => {
    await withCluster(async (env) => {
      // creationTimestamp has 1 s resolution (set by the API server): create a second apart,
      // named so that name order and age order disagree.
      await env.client.create(SERVICES, NS, service('zz-old'));
      await new Promise((r) => setTimeout(r, 1100));
      await env.client.create(SERVICES, NS, service('aa-new'));
      for (const n of ['zz-old', 'aa-new']) {
        await env.client.mutate(SERVICES, NS, n, (s) => ({ ...s, status: { loadBalancer: { ingress: [{ ip: '10.250.0.7', ipMode: 'VIP' }] } } }), { subresource: 'status' });
      }
      const ctrl = await env.start('10.250.0.0/24');
      const moved = await until('aa-new re-assigned', async () => {
        const ips = ingressIPs(await env.client.get(SERVICES, NS, 'aa-new'));
        return ips.length === 1 && ips[0] !== '10.250.0.7' ? ips[0] : undefined;
      });
      assert.equal(moved, '10.250.0.1');
      assert.deepEqual(ingressIPs(await env.client.get(SERVICES, NS, 'zz-old')), ['10.250.0.7']);
      assert.equal(ctrl.pool.ownerOf('10.250.0.7'), 'default/zz-old');
      assert.match(await eventMessage(env, 'aa-new', 'AllocationConflict'), /10\.250\.0\.7 is also shown by older Service default\/zz-old/);
    });
  });

  it('Services with a loadBalancerClass belong to another implementation: untouched', async () => {
    await withCluster(async (env) => {
      const ctrl = await env.start('10.250.0.0/24');
      await env.client.create(SERVICES, NS, service('other', { cls: 'example.com/lb' }));
      await env.client.mutate(SERVICES, NS, 'other', (s) => ({ ...s, status: { loadBalancer: { ingress: [{ ip: '10.250.0.1', ipMode: 'Proxy' }] } } }), { subresource: 'status' });
      await env.client.create(SERVICES, NS, service('mine'));
      // `mine` is synced after `other` (one worker, queue order): by then `other` was looked at.
      assert.equal(await ipOf(env, 'mine'), '10.250.0.1', 'the class Service does not hold a pool address');
      const other = await env.client.get(SERVICES, NS, 'other');
      assert.deepEqual((other.status as { loadBalancer: unknown }).loadBalancer, { ingress: [{ ip: '10.250.0.1', ipMode: 'Proxy' }] });
      assert.equal(ctrl.pool.ownerOf('10.250.0.1'), 'default/mine');
      assert.equal((await events(env, 'other', 'IPAllocated')).length, 0);
      assert.equal((await events(env, 'other', 'AllocationFailed')).length, 0);
    });
  });

  it('the API server honours allocateLoadBalancerNodePorts: false (no node ports)', { skip: NO_KUBECTL }, async () => {
    await withCluster(async (env) => {
      await env.start('10.250.0.0/24');
      const manifest = (name: string, alloc: boolean): string =>
        `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n  type: LoadBalancer\n  allocateLoadBalancerNodePorts: ${alloc}\n  selector: {app: x}\n  ports:\n  - port: 80\n`;
      const r = await env.c.kubectl(['apply', '-n', NS, '-f', '-'], { input: `${manifest('no-np', false)}---\n${manifest('with-np', true)}` });
      assert.equal(r.code, 0, r.stderr);
      const noNP = await env.client.get(SERVICES, NS, 'no-np');
      assert.equal((noNP.spec as { ports: { nodePort?: number }[] }).ports[0].nodePort, undefined);
      const withNP = await env.client.get(SERVICES, NS, 'with-np');
      assert.ok(((withNP.spec as { ports: { nodePort?: number }[] }).ports[0].nodePort ?? 0) >= 30000);
      await ipOf(env, 'no-np');
      await ipOf(env, 'with-np');
      const row = await kubectlRow(env, 'no-np');
      assert.equal(row.ports, '80/TCP');
      assert.match((await kubectlRow(env, 'with-np')).ports, /^80:3\d{4}\/TCP$/);
      assert.equal(row.external, '10.250.0.1');
    });
  });

  it('refuses an invalid or IPv6 pool at construction', async () => {
    await withCluster(async (env) => {
      await assert.rejects(env.start('fd00::/120'), /IPv6 pools are not supported/);
      await assert.rejects(env.start('10.250.0.0/99'), /not an IPv4 CIDR/);
    });
  });

  it('runs inside kubelite up (the default pool 10.250.0.0/24) once wired', { skip: NO_KUBECTL }, async () => {
    const c = await startCluster({ store: 'memory' });
    try {
      const r = await c.kubectl(['create', 'service', 'loadbalancer', 'wired', '--tcp=80:8080']);
      assert.equal(r.code, 0, r.stderr);
      const out = await until('EXTERNAL-IP from kubectl', async () => {
        const g = await c.kubectl(['get', 'svc', 'wired', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}']);
        return g.code === 0 && g.stdout !== '' ? g.stdout : undefined;
      }, 15_000);
      assert.equal(out, '10.250.0.1');
    } finally {
      await c.close();
    }
  });
});
