/**
 * Helpers for testing exec/attach streaming without a cluster: an ExecSession backed by a host
 * process, and a standalone loopback server that looks enough like an API server (discovery, pod GET,
 * pods/exec and pods/attach upgrades) for the real `kubectl exec` to run against it.
 * Test/diagnostic use only.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import type { ExecSession } from '../runtime/cri.js';
import { serveRemoteCommand, type RemoteCommandOptions, type RemoteCommandResult } from './remotecommand.js';

/**
 * Runs `cmd` as a host process (no container, no terminal). With `tty`, stderr is merged into stdout
 * as a terminal would; resizes are recorded in `resizes`. Rejects like a runtime whose exec failed to
 * start (e.g. executable not found).
 */
export function spawnExecSession(o: Pick<RemoteCommandOptions, 'cmd' | 'tty' | 'stdin'>): Promise<ExecSession & { resizes: Array<{ width: number; height: number }> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(o.cmd[0], o.cmd.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    const resizes: Array<{ width: number; height: number }> = [];
    child.once('error', (err) => reject(err));
    child.once('spawn', () => {
      let stdout: NodeJS.ReadableStream = child.stdout;
      let stderr: NodeJS.ReadableStream | undefined = child.stderr;
      if (o.tty) {
        const merged = new PassThrough();
        let open = 2;
        for (const s of [child.stdout, child.stderr]) {
          s.on('data', (d: Buffer) => merged.write(d));
          s.on('end', () => --open === 0 && merged.end());
        }
        stdout = merged;
        stderr = undefined;
      }
      if (!o.stdin) child.stdin.end();
      const exited = new Promise<number>((res) => {
        child.once('close', (code, signal) => res(code ?? 128 + (signal ? signalNumber(signal) : 0)));
      });
      resolve({
        stdin: o.stdin ? child.stdin : undefined,
        stdout,
        stderr,
        resize: (size) => void resizes.push(size),
        exited,
        kill: () => void child.kill('SIGKILL'),
        resizes,
      });
    });
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ?? 0;
}

export interface ExecTestServer {
  port: number;
  /** http://127.0.0.1:<port> — use as `kubectl --server`. */
  url: string;
  /** Every finished exec/attach, in order. */
  results: RemoteCommandResult[];
  /** Query options of every exec/attach request, in order. */
  requests: RemoteCommandOptions[];
  close(): Promise<void>;
}

const podJson = (ns: string, name: string): object => ({
  kind: 'Pod',
  apiVersion: 'v1',
  metadata: { name, namespace: ns, uid: '00000000-0000-0000-0000-000000000001', resourceVersion: '1', creationTimestamp: '2024-01-01T00:00:00Z' },
  spec: { containers: [{ name: 'main', image: 'busybox' }] },
  status: { phase: 'Running', containerStatuses: [{ name: 'main', ready: true, restartCount: 0, image: 'busybox', imageID: '', state: { running: { startedAt: '2024-01-01T00:00:00Z' } } }] },
});

const discovery: Record<string, object> = {
  '/api': { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] },
  '/apis': { kind: 'APIGroupList', apiVersion: 'v1', groups: [] },
  '/api/v1': {
    kind: 'APIResourceList',
    groupVersion: 'v1',
    resources: [
      { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['get', 'list'], shortNames: ['po'] },
      { name: 'pods/exec', singularName: '', namespaced: true, kind: 'PodExecOptions', verbs: ['create', 'get'] },
      { name: 'pods/attach', singularName: '', namespaced: true, kind: 'PodAttachOptions', verbs: ['create', 'get'] },
    ],
  },
};

/**
 * Starts a loopback server answering discovery, `GET /api/v1/namespaces/NS/pods/NAME` (a running pod
 * with one container "main") and exec/attach upgrades on its subresources, delegating to `start`.
 */
export async function startExecTestServer(opts: { start: (o: RemoteCommandOptions) => Promise<ExecSession> }): Promise<ExecTestServer> {
  const results: RemoteCommandResult[] = [];
  const requests: RemoteCommandOptions[] = [];
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const pod = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(path);
    const body = pod ? podJson(pod[1], pod[2]) : discovery[path];
    if (!body) {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'NotFound', code: 404, message: 'not found' }));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const m = /^\/api\/v1\/namespaces\/[^/]+\/pods\/[^/]+\/(exec|attach)$/.exec(path);
    if (!m) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const start = (o: RemoteCommandOptions): Promise<ExecSession> => {
      requests.push(o);
      return opts.start(o);
    };
    void serveRemoteCommand(req, socket, head, { start, kind: m[1] as 'exec' | 'attach' }).then((r) => results.push(r));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    results,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
