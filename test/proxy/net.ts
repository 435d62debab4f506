/**
 * Traffic helpers for the proxy acceptance tests: an "outside" client namespace wired to the node
 * (the sandbox) by a veth, and requests from the node, from that client, and timed connects.
 * Everything lives inside the test's netns-sandbox; namespaces are named after it so the sandbox
 * removes them even when a test fails.
 */
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';

export const CLIENT_NODE_SIDE = '192.168.77.1';
export const CLIENT_IP = '192.168.77.2';

export function sh(argv: string[], o: { timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { timeout: o.timeoutMs ?? 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

async function must(argv: string[]): Promise<void> {
  const r = await sh(argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
}

/** Creates `<sandbox>-client` with 192.168.77.2/24, default route via the node (192.168.77.1). */
export async function makeClientNamespace(sandbox: string): Promise<string> {
  const ns = `${sandbox}-client`;
  await must(['ip', 'netns', 'add', ns]);
  await must(['ip', 'link', 'add', 'klclient0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  await must(['ip', 'addr', 'add', `${CLIENT_NODE_SIDE}/24`, 'dev', 'klclient0']);
  await must(['ip', 'link', 'set', 'klclient0', 'up']);
  for (const c of [['ip', 'link', 'set', 'lo', 'up'], ['ip', 'addr', 'add', `${CLIENT_IP}/24`, 'dev', 'eth0'], ['ip', 'link', 'set', 'eth0', 'up'], ['ip', 'route', 'add', 'default', 'via', CLIENT_NODE_SIDE]]) {
    await must(['ip', 'netns', 'exec', ns, ...c]);
  }
  return ns;
}

/** `curl` from the node, or from a namespace; returns the body, or undefined on any failure. */
export async function curl(url: string, o: { netns?: string; timeoutS?: number } = {}): Promise<string | undefined> {
  const argv = ['curl', '-s', '-f', '--max-time', String(o.timeoutS ?? 3), url];
  const r = await sh(o.netns ? ['ip', 'netns', 'exec', o.netns, ...argv] : argv);
  return r.code === 0 ? r.stdout : undefined;
}

/** n sequential requests (a new connection each), from the node or a namespace: the bodies (failures as 'ERR'). */
export async function curlMany(url: string, n: number, o: { netns?: string } = {}): Promise<string[]> {
  const script = `for i in $(seq ${n}); do curl -s -f --max-time 3 ${url} || printf ERR; echo; done`;
  const r = await sh(o.netns ? ['ip', 'netns', 'exec', o.netns, 'sh', '-c', script] : ['sh', '-c', script], { timeoutMs: 120_000 });
  return r.stdout.split('\n').slice(0, n);
}

/** A TCP connect from the node: how it ended and how long it took. */
export function connectTimed(host: string, port: number, timeoutMs = 2000): Promise<{ outcome: 'connected' | 'refused' | 'timeout' | 'error'; ms: number; code?: string }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (outcome: 'connected' | 'refused' | 'timeout' | 'error', code?: string): void => {
      clearTimeout(timer);
      s.destroy();
      resolve({ outcome, ms: performance.now() - t0, ...(code ? { code } : {}) });
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    s.on('connect', () => done('connected'));
    s.on('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET' ? 'refused' : 'error', e.code));
  });
}

/** One UDP request from the node; the reply, or undefined (timeout or ICMP refusal). */
export function udpRequest(host: string, port: number, msg: string, timeoutMs = 1500): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const done = (v: string | undefined): void => {
      clearTimeout(timer);
      s.close();
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    s.on('error', () => done(undefined));
    s.on('message', (m) => done(m.toString('utf8')));
    s.connect(port, host, () => s.send(msg));
  });
}
