/**
 * Real etcd servers for tests: loopback only, free random ports, a temp data dir each, and
 * everything killed and removed afterwards (stop(), plus a process-exit hook for crashed runs).
 *
 * Timing flags are tightened for speed (heartbeat 50 ms, election 500 ms) but not so far that a
 * busy 2-CPU test machine triggers spurious elections mid-test.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** True when an `etcd` binary is on PATH; tests skip with `etcdSkipReason` otherwise. */
export const etcdAvailable: boolean = spawnSync('etcd', ['--version'], { stdio: 'ignore' }).status === 0;
export const etcdSkipReason: string | false = etcdAvailable ? false : 'etcd is not on PATH (install etcd-server) — skipping etcd tests';

export interface EtcdServer {
  /** `127.0.0.1:PORT` client endpoints. */
  endpoints: string[];
  stop(): Promise<void>;
}

export interface EtcdCluster extends EtcdServer {
  /** Sends `signal` to member i and waits for it to exit. */
  kill(i: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts member i again with its old data dir and ports; resolves once it is healthy. */
  restart(i: number): Promise<void>;
  /** Index of the current leader (asked of the live members). */
  leaderIndex(): Promise<number>;
  /** Whether member i is running. */
  running(i: number): boolean;
}

interface Member {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  proc: ChildProcess | null;
  log: string;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) {
    try { p.kill('SIGKILL'); } catch { /* gone */ }
  }
});

export interface EtcdStartOptions {
  /** Serve clients over https with this certificate (peers stay plain http on loopback). */
  tls?: { certFile: string; keyFile: string; caFile: string };
  /**
   * Require client certificates signed by `tls.caFile` (`--client-cert-auth`). This is the
   * certificate the helper itself presents for its health and status checks.
   */
  clientCertAuth?: { certFile: string; keyFile: string };
}

/** What the helper's own https calls present: the CA, plus a client certificate under mTLS. */
interface Creds { ca: Buffer; cert?: Buffer; key?: Buffer }

/** A single-member etcd. */
export function startEtcd(opts: EtcdStartOptions = {}): Promise<EtcdCluster> {
  return startEtcdCluster(1, opts);
}

/** An n-member etcd cluster on loopback. */
export async function startEtcdCluster(n: number, opts: EtcdStartOptions = {}): Promise<EtcdCluster> {
  const scheme = opts.tls ? 'https' : 'http';
  if (opts.clientCertAuth && !opts.tls) throw new Error('clientCertAuth needs tls');
  const client = opts.clientCertAuth;
  const ca: Creds | undefined = opts.tls
    ? { ca: readFileSync(opts.tls.caFile), ...(client ? { cert: readFileSync(client.certFile), key: readFileSync(client.keyFile) } : {}) }
    : undefined;
  if (!etcdAvailable) throw new Error('etcd is not on PATH');
  const root = mkdtempSync(join(tmpdir(), 'kubelite-etcd-'));
  const ports = await freePorts(2 * n);
  const members: Member[] = Array.from({ length: n }, (_, i) => ({
    name: `m${i}`,
    clientPort: ports[2 * i] as number,
    peerPort: ports[2 * i + 1] as number,
    dataDir: join(root, `m${i}`),
    proc: null,
    log: '',
  }));
  const initialCluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(',');

  const launch = (m: Member): void => {
    const args = [
      '--name', m.name,
      '--data-dir', m.dataDir,
      '--listen-client-urls', `${scheme}://127.0.0.1:${m.clientPort}`,
      '--advertise-client-urls', `${scheme}://127.0.0.1:${m.clientPort}`,
      ...(opts.tls ? ['--cert-file', opts.tls.certFile, '--key-file', opts.tls.keyFile] : []),
      ...(opts.tls && client ? ['--client-cert-auth', `--trusted-ca-file=${opts.tls.caFile}`] : []),
      '--listen-peer-urls', `http://127.0.0.1:${m.peerPort}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${m.peerPort}`,
      '--initial-cluster', initialCluster,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', `kubelite-test-${process.pid}-${ports[1]}`,
      '--heartbeat-interval', '50',
      '--election-timeout', '500',
      '--logger', 'zap',
      '--log-level', 'error',
    ];
    const env = { ...process.env };
    // etcd 3.4 refuses to start on architectures other than amd64 unless told to.
    if (process.arch !== 'x64') env.ETCD_UNSUPPORTED_ARCH = process.arch === 'arm64' ? 'arm64' : process.arch;
    const proc = spawn('etcd', args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    m.log = '';
    proc.stderr?.on('data', (d: Buffer) => {
      m.log = (m.log + d.toString()).slice(-4000);
    });
    live.add(proc);
    proc.on('exit', () => {
      live.delete(proc);
      if (m.proc === proc) m.proc = null;
    });
    m.proc = proc;
  };

  const stopAll = async (): Promise<void> => {
    await Promise.all(members.map((m) => killMember(m, 'SIGKILL')));
    rmSync(root, { recursive: true, force: true });
  };

  try {
    for (const m of members) launch(m);
    await Promise.all(members.map((m) => waitHealthy(m, ca)));
  } catch (err) {
    await stopAll();
    throw err;
  }

  const member = (i: number): Member => {
    const m = members[i];
    if (!m) throw new Error(`no member ${i}`);
    return m;
  };
  return {
    endpoints: members.map((m) => `127.0.0.1:${m.clientPort}`),
    stop: stopAll,
    kill: (i, signal = 'SIGKILL') => killMember(member(i), signal),
    restart: async (i) => {
      const m = member(i);
      if (m.proc) throw new Error(`member ${i} is still running`);
      launch(m);
      await waitHealthy(m, ca);
    },
    running: (i) => member(i).proc !== null,
    leaderIndex: async () => {
      for (const m of members) {
        if (!m.proc) continue;
        const st = await status(m.clientPort, ca).catch(() => null);
        if (!st || !st.leader || st.leader === '0') continue;
        for (const [j, other] of members.entries()) {
          if (!other.proc) continue;
          const o = await status(other.clientPort, ca).catch(() => null);
          if (o?.header?.member_id === st.leader) return j;
        }
      }
      throw new Error('no leader found');
    },
  };
}

async function killMember(m: Member, signal: NodeJS.Signals): Promise<void> {
  const p = m.proc;
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
  p.kill(signal);
  await exited;
}

/** Waits until the member answers a quorum-backed health check (it has a leader). */
async function waitHealthy(m: Member, ca: Creds | undefined, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!m.proc) throw new Error(`etcd ${m.name} exited during startup:\n${m.log}`);
    try {
      const body = (await call(m.clientPort, ca, 'GET', '/health')) as { health?: string };
      if (body.health === 'true') return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`etcd ${m.name} not healthy after ${ms} ms:\n${m.log}`);
}

interface StatusResponse { header?: { member_id?: string }; leader?: string }

/** Maintenance.Status through etcd's JSON gateway (we have no etcdctl). */
async function status(port: number, ca: Creds | undefined): Promise<StatusResponse> {
  return (await call(port, ca, 'POST', '/v3/maintenance/status', '{}')) as StatusResponse;
}

/** A JSON request to a member's client port (https when `ca` is given), 1 s timeout. */
function call(port: number, ca: Creds | undefined, method: string, path: string, body?: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const opts = { host: '127.0.0.1', port, method, path, timeout: 1000, ...ca };
    const req = (ca ? httpsRequest : httpRequest)(opts, (res) => {
      let data = '';
      res.on('data', (d: Buffer) => { data += d.toString(); });
      res.on('end', () => {
        try {
          resolve(JSON.parse(data));
        } catch (err) {
          reject(err);
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Distinct free loopback ports (bound at once so they cannot collide with each other). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}
