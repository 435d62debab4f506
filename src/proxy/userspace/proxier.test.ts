import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import dgram from 'node:dgram';
import type { ProxyEndpoint, ProxyState, Protocol, ServicePlan, ServicePortInfo } from '../types.js';
import { UserspaceProxier, desiredListeners } from './proxier.js';

// ---- loopback backends -------------------------------------------------------------------

/** Replies `<name>:<everything received>` once the client half-closes (so half-close is exercised). */
function hostnameServer(name: string): Promise<net.Server> {
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    let buf = '';
    s.on('data', (d) => (buf += d.toString()));
    s.on('end', () => s.end(`${name}:${buf}`));
    s.on('error', () => undefined);
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(srv)));
}

function portOf(srv: net.Server): number {
  return (srv.address() as net.AddressInfo).port;
}

async function deadPort(): Promise<number> {
  const srv = await hostnameServer('dead');
  const port = portOf(srv);
  await new Promise((r) => srv.close(r));
  return port;
}

/** One request: send `body`, half-close, read until the server ends. */
function request(port: number, body = 'ping'): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let buf = '';
    s.on('connect', () => s.end(body));
    s.on('data', (d) => (buf += d.toString()));
    s.on('end', () => resolve(buf));
    s.on('error', reject);
  });
}

// ---- model builders ----------------------------------------------------------------------

function ep(port: number): ProxyEndpoint {
  return { ip: '127.0.0.1', port, ready: true, serving: true, terminating: false, isLocal: true };
}

function plan(
  name: string,
  protocol: Protocol,
  port: number,
  eps: ProxyEndpoint[],
  extra: Partial<ServicePortInfo> = {},
): ServicePlan {
  const svc: ServicePortInfo = {
    id: `default/${name}:/${protocol}`,
    namespace: 'default',
    name,
    portName: '',
    protocol,
    clusterIPs: ['10.96.0.10'],
    port,
    externalIPs: [],
    loadBalancerIPs: [],
    loadBalancerSourceRanges: [],
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    ...extra,
  };
  return {
    svc,
    clusterEndpoints: eps,
    externalEndpoints: eps,
    localEndpoints: eps,
    rejectCluster: eps.length === 0,
    rejectExternal: eps.length === 0,
  };
}

function state(...plans: ServicePlan[]): ProxyState {
  return {
    node: { name: 'n1', addresses: ['127.0.0.1'], serviceCIDRs: ['10.96.0.0/16'], podCIDRs: ['10.244.0.0/16'] },
    services: new Map(plans.map((p) => [p.svc.id, p])),
  };
}

function newProxier(): UserspaceProxier {
  return new UserspaceProxier({ listenAddress: () => '127.0.0.1', listenPort: () => 0, nodeAddress: '127.0.0.1' });
}

function listenerPort(p: UserspaceProxier, id: string): number {
  const l = p.listeners().find((x) => x.id === id);
  assert.ok(l, `listener ${id} missing: ${JSON.stringify(p.listeners())}`);
  return l.port;
}

function count(replies: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of replies) {
    const name = r.split(':')[0]!;
    out[name] = (out[name] ?? 0) + 1;
  }
  return out;
}

let backends: net.Server[] = [];
let ports: number[] = [];
const proxiers: UserspaceProxier[] = [];

before(async () => {
  backends = await Promise.all(['b0', 'b1', 'b2'].map(hostnameServer));
  ports = backends.map(portOf);
});
after(async () => {
  await Promise.all(proxiers.map((p) => p.close()));
  await Promise.all(backends.map((b) => new Promise((r) => b.close(r))));
});

function track(p: UserspaceProxier): UserspaceProxier {
  proxiers.push(p);
  return p;
}

// ---- pure listener table -----------------------------------------------------------------

test('desiredListeners: one per cluster IP, external IP, LB IP and NodePort; SCTP and headless skipped', () => {
  const s = state(
    plan('web', 'TCP', 80, [ep(1)], {
      clusterIPs: ['10.96.0.10'],
      externalIPs: ['192.0.2.1'],
      loadBalancerIPs: ['198.51.100.7'],
      nodePort: 30080,
    }),
    plan('sctp', 'SCTP', 80, [ep(1)]),
    plan('headless', 'TCP', 80, [ep(1)], { clusterIPs: [] }),
    plan('empty', 'UDP', 53, [], { clusterIPs: ['10.96.0.53'] }),
  );
  s.services.get('default/web:/TCP')!.externalEndpoints = [];
  s.services.get('default/web:/TCP')!.rejectExternal = true;
  const table = desiredListeners(s, { listenAddress: (_svc, ip) => `127.0.0.${ip === '10.96.0.10' ? 2 : 3}`, nodeAddress: '127.0.0.1' });
  const rows = [...table.values()].map((l) => [l.id, l.bindHost, l.bindPort, l.traffic, l.endpoints.length, l.reject]);
  assert.deepEqual(rows, [
    ['UDP/10.96.0.53:53', '127.0.0.3', 53, 'cluster', 0, true],
    ['TCP/10.96.0.10:80', '127.0.0.2', 80, 'cluster', 1, false],
    ['TCP/192.0.2.1:80', '127.0.0.3', 80, 'external', 0, true],
    ['TCP/198.51.100.7:80', '127.0.0.3', 80, 'external', 0, true],
    ['TCP/nodeport:30080', '127.0.0.1', 30080, 'external', 0, true],
  ]);
});

// ---- loopback data plane -----------------------------------------------------------------

test('round robin spreads 30 requests evenly over 3 endpoints; NodePort listener too', async () => {
  const p = track(newProxier());
  await p.sync(state(plan('web', 'TCP', 80, ports.map(ep), { nodePort: 30080 })));
  assert.deepEqual(
    p.listeners().map((l) => l.id),
    ['TCP/10.96.0.10:80', 'TCP/nodeport:30080'],
  );
  const port = listenerPort(p, 'TCP/10.96.0.10:80');
  const replies: string[] = [];
  for (let i = 0; i < 30; i++) replies.push(await request(port, `r${i}`));
  assert.deepEqual(count(replies), { b0: 10, b1: 10, b2: 10 });
  assert.equal(replies[0], 'b0:r0'); // payload went through intact, reply after half-close
  const np = listenerPort(p, 'TCP/nodeport:30080');
  assert.match(await request(np), /^b\d:ping$/);
  await p.close();
});

test('ClientIP session affinity pins a client to one endpoint', async () => {
  const p = track(newProxier());
  await p.sync(state(plan('sticky', 'TCP', 80, ports.map(ep), { sessionAffinity: { timeoutSeconds: 60 } })));
  const port = listenerPort(p, 'TCP/10.96.0.10:80');
  const replies: string[] = [];
  for (let i = 0; i < 10; i++) replies.push(await request(port));
  assert.equal(Object.keys(count(replies)).length, 1, JSON.stringify(count(replies)));
  await p.close();
});

test('a dead endpoint is skipped without the client noticing', async () => {
  const p = track(newProxier());
  const dead = await deadPort();
  await p.sync(state(plan('web', 'TCP', 80, [ep(dead), ...ports.map(ep)])));
  const port = listenerPort(p, 'TCP/10.96.0.10:80');
  const replies: string[] = [];
  for (let i = 0; i < 30; i++) replies.push(await request(port));
  const c = count(replies);
  assert.equal(c['dead'], undefined);
  assert.equal((c['b0'] ?? 0) + (c['b1'] ?? 0) + (c['b2'] ?? 0), 30);
  assert.ok(Object.keys(c).length === 3, JSON.stringify(c));
  await p.close();
});

test('all endpoints dead: the client gets a reset after the retries', async () => {
  const p = track(
    new UserspaceProxier({ listenAddress: () => '127.0.0.1', listenPort: () => 0, dialTimeoutsMs: [50, 50] }),
  );
  await p.sync(state(plan('web', 'TCP', 80, [ep(await deadPort()), ep(await deadPort())])));
  await assert.rejects(request(listenerPort(p, 'TCP/10.96.0.10:80')), /ECONNRESET|EPIPE/);
  await p.close();
});

test('updating endpoints keeps existing connections and re-points new ones', async () => {
  const p = track(newProxier());
  await p.sync(state(plan('web', 'TCP', 80, [ep(ports[0]!)])));
  const port = listenerPort(p, 'TCP/10.96.0.10:80');
  // Open a connection to b0 and keep it open across the update.
  const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  await new Promise((r) => s.once('connect', r));
  s.write('before-');
  await new Promise((r) => setTimeout(r, 30));
  await p.sync(state(plan('web', 'TCP', 80, [ep(ports[1]!)])));
  assert.equal(listenerPort(p, 'TCP/10.96.0.10:80'), port, 'listener kept');
  const reply = new Promise<string>((resolve, reject) => {
    let buf = '';
    s.on('data', (d) => (buf += d.toString()));
    s.on('end', () => resolve(buf));
    s.on('error', reject);
  });
  s.end('after');
  assert.equal(await reply, 'b0:before-after');
  assert.equal(await request(port), 'b1:ping');
  await p.close();
});

test('removing a service closes its listener', async () => {
  const p = track(newProxier());
  await p.sync(state(plan('web', 'TCP', 80, ports.map(ep)), plan('dns', 'UDP', 53, ports.map(ep))));
  const port = listenerPort(p, 'TCP/10.96.0.10:80');
  assert.equal(p.listeners().length, 2);
  await p.sync(state(plan('dns', 'UDP', 53, ports.map(ep))));
  assert.deepEqual(
    p.listeners().map((l) => l.id),
    ['UDP/10.96.0.10:53'],
  );
  await assert.rejects(request(port), /ECONNREFUSED/);
  await p.close();
  assert.deepEqual(p.listeners(), []);
});

test('no endpoints: the client sees a reset at once', async () => {
  const p = track(newProxier());
  await p.sync(state(plan('web', 'TCP', 80, [])));
  const port = listenerPort(p, 'TCP/10.96.0.10:80');
  const t0 = Date.now();
  const outcome = await new Promise<string>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    s.on('close', () => resolve('closed'));
    s.on('data', () => resolve('data'));
  });
  const elapsed = Date.now() - t0;
  assert.ok(outcome === 'ECONNRESET' || outcome === 'closed', outcome);
  assert.ok(elapsed < 100, `took ${elapsed} ms`);
  // Endpoints arrive: the same listener starts serving.
  await p.sync(state(plan('web', 'TCP', 80, [ep(ports[2]!)])));
  assert.equal(await request(port), 'b2:ping');
  await p.close();
});

// ---- UDP ---------------------------------------------------------------------------------

function udpEcho(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  s.on('message', (m, r) => s.send(`echo:${m.toString()}`, r.port, r.address));
  return new Promise((resolve) => s.bind(0, '127.0.0.1', () => resolve(s)));
}

function udpAsk(port: number, msg: string): Promise<{ reply: string; fromPort: number }> {
  const c = dgram.createSocket('udp4');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      c.close();
      reject(new Error('udp timeout'));
    }, 1000);
    c.on('message', (m, r) => {
      clearTimeout(timer);
      c.close();
      resolve({ reply: m.toString(), fromPort: r.port });
    });
    c.send(msg, port, '127.0.0.1');
  });
}

async function freePort(): Promise<number> {
  for (;;) {
    const port = await deadPort();
    const u = dgram.createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      u.once('error', () => resolve(false));
      u.bind(port, '127.0.0.1', () => resolve(true));
    });
    if (ok) {
      await new Promise<void>((r) => u.close(() => r()));
      return port;
    }
  }
}

test('UDP round trip; reply comes from the listener address', async () => {
  const echo = await udpEcho();
  const p = track(newProxier());
  try {
    await p.sync(state(plan('dns', 'UDP', 53, [ep(echo.address().port)])));
    const port = listenerPort(p, 'UDP/10.96.0.10:53');
    const a = await udpAsk(port, 'hello');
    assert.deepEqual(a, { reply: 'echo:hello', fromPort: port });
    const b = await udpAsk(port, 'again');
    assert.equal(b.reply, 'echo:again');
  } finally {
    await p.close();
    echo.close();
  }
});

test('TCP and UDP on the same port number are separate listeners', async () => {
  const echo = await udpEcho();
  const port = await freePort();
  const p = track(new UserspaceProxier({ listenAddress: () => '127.0.0.1' }));
  try {
    const tcp = plan('dual', 'TCP', port, [ep(ports[0]!)]);
    const udp = plan('dual', 'UDP', port, [ep(echo.address().port)]);
    await p.sync(state(tcp, udp));
    assert.deepEqual(p.listeners(), [
      { id: `TCP/10.96.0.10:${port}`, address: '127.0.0.1', port, protocol: 'TCP', reject: false },
      { id: `UDP/10.96.0.10:${port}`, address: '127.0.0.1', port, protocol: 'UDP', reject: false },
    ]);
    assert.equal(await request(port), 'b0:ping');
    assert.equal((await udpAsk(port, 'x')).reply, 'echo:x');
  } finally {
    await p.close();
    echo.close();
  }
});

test('a bind failure rejects sync but applies the rest; the next sync retries', async () => {
  const blocker = await hostnameServer('blocker');
  const taken = portOf(blocker);
  const p = track(new UserspaceProxier({ listenAddress: () => '127.0.0.1', listenPort: (svc) => (svc.name === 'a' ? taken : 0) }));
  try {
    const s = state(plan('a', 'TCP', 80, [ep(ports[0]!)], { clusterIPs: ['10.96.0.1'] }), plan('b', 'TCP', 80, [ep(ports[1]!)], { clusterIPs: ['10.96.0.2'] }));
    await assert.rejects(p.sync(s), /EADDRINUSE/);
    assert.deepEqual(p.listeners().map((l) => l.id), ['TCP/10.96.0.2:80']);
    await new Promise((r) => blocker.close(r));
    await p.sync(s);
    assert.deepEqual(p.listeners().map((l) => l.id), ['TCP/10.96.0.1:80', 'TCP/10.96.0.2:80']);
    assert.equal(await request(taken), 'b0:ping');
  } finally {
    await p.close();
  }
});
