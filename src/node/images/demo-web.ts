/**
 * The demo web server, built-in image `kubelite/demo-web`. It exists so the examples (and
 * the issue's acceptance tests) have a server that says which pod answered and whose
 * probes can be made to fail on demand.
 *
 * Run as a process: `node dist/src/node/images/demo-web.js` or via tsx. Environment:
 *   PORT            listen port (default 8080; 0 = any free port)
 *   KUBELITE_BIND_ADDRESS  address to listen on (default 0.0.0.0; the agent sets the pod IP
 *                   when pods share the host network)
 *   POD_IP          included in the `/` answer when set
 *   HOSTNAME        overrides os.hostname() (the agent sets it to the pod name)
 *   READY_AFTER_MS  /readiness answers 503 until this long after start (default 0)
 * On listening it prints `listening on <port>` to stdout (so a test using PORT=0 can read
 * the real port). SIGTERM/SIGINT close the server gracefully and exit 0.
 *
 * Endpoints: GET / → `Hello from <hostname> (<pod IP>)`, GET /hostname, GET /healthz
 * (200 ok / 500 after POST /fail-liveness), GET /readiness (200 ready / 503), and the
 * toggles POST /fail-liveness and POST /fail-readiness (each call flips the state).
 */
import * as http from 'node:http';
import * as os from 'node:os';
import { pathToFileURL } from 'node:url';
import type { AddressInfo } from 'node:net';

export interface DemoWebOptions {
  port?: number;
  host?: string;
  env?: NodeJS.ProcessEnv;
}

export interface DemoWeb {
  server: http.Server;
  port: number;
  close(): Promise<void>;
}

/** Starts the server; resolves once it listens. */
export function startDemoWeb(opts: DemoWebOptions = {}): Promise<DemoWeb> {
  const env = opts.env ?? process.env;
  const hostname = env.HOSTNAME || os.hostname();
  const podIP = env.POD_IP ?? '';
  const readyAt = Date.now() + Math.max(0, Number(env.READY_AFTER_MS ?? 0) || 0);
  let failLiveness = false;
  let failReadiness = false;

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (code: number, body: string): void => {
      res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case 'GET /':
        return send(200, `Hello from ${hostname}${podIP ? ` (${podIP})` : ''}\n`);
      case 'GET /hostname':
        return send(200, hostname);
      case 'GET /healthz':
        return failLiveness ? send(500, 'liveness failing\n') : send(200, 'ok');
      case 'GET /readiness':
        if (failReadiness) return send(503, 'readiness failing\n');
        return Date.now() < readyAt ? send(503, 'not ready yet\n') : send(200, 'ready');
      case 'POST /fail-liveness':
        failLiveness = !failLiveness;
        return send(200, `liveness failing=${failLiveness}\n`);
      case 'POST /fail-readiness':
        failReadiness = !failReadiness;
        return send(200, `readiness failing=${failReadiness}\n`);
      default:
        return send(404, 'not found\n');
    }
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8080, opts.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      resolve({
        server,
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
          }),
      });
    });
  });
}

async function main(): Promise<void> {
  const portEnv = process.env.PORT;
  const port = portEnv === undefined || portEnv === '' ? 8080 : Number(portEnv);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`demo-web: invalid PORT "${portEnv}"\n`);
    process.exit(2);
  }
  const web = await startDemoWeb({ port, host: process.env.KUBELITE_BIND_ADDRESS || undefined });
  process.stdout.write(`listening on ${web.port}\n`);
  let closing = false;
  const stop = (): void => {
    if (closing) return;
    closing = true;
    // Give in-flight requests a moment, then leave regardless.
    setTimeout(() => process.exit(0), 5000).unref();
    void web.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`demo-web: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
