/**
 * Ingress as `kubelite up` runs it on its node: the data plane (the built-in proxy, or real nginx
 * with `--ingress-backend nginx`) listening on the node address (80/443 when we may bind them,
 * else free ports), the `kubelite` IngressClass (default), the `kube-system/ingress-kubelite`
 * LoadBalancer Service whose endpoints point at where the data plane really listens, and the
 * controller feeding the data plane routing tables, with its own informers (like DNS: this is a
 * node-side component, not a controller-manager one).
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from '../apiserver/registry/index.js';
import type { WatchCache } from '../apiserver/watchcache.js';
import { newControllerContext } from '../controllers/context.js';
import { createCertificate } from '../apiserver/auth/x509-lite.js';
import { Registry as MetricsRegistry, listenMetricsServer } from '../util/prometheus.js';
import { IngressController, type ComputeRoutingTable, type IngressDataPlane } from './controller.js';
import { ensureIngressClass } from './ingressclass.js';
import { ensureIngressService } from './service.js';

export { IngressController, INGRESS_CONTROLLER_NAME, type ComputeRoutingTable, type IngressDataPlane, type IngressControllerOptions } from './controller.js';
export { ensureIngressClass, INGRESS_CLASS_NAME } from './ingressclass.js';
export { ensureIngressService, INGRESS_SERVICE_NAME, INGRESS_SERVICE_NAMESPACE } from './service.js';

export type DataPlaneKind = 'builtin' | 'nginx';

/** What every data plane is built from (the IngressProxy constructor's options). */
export interface DataPlaneOptions {
  /** The address to listen on (both ports). */
  httpHost: string;
  httpPort: number;
  httpsPort: number;
  /** Served for names no TLS Ingress covers. */
  defaultCert: { certPem: string; keyPem: string };
  metrics: MetricsRegistry;
  accessLog?: (line: string) => void;
  /** A private working directory (nginx's prefix: config, certificates, logs). */
  dir?: string;
  /** Built-in proxy: worker processes (0: in this process). */
  workers?: number;
  /** Where access-log lines go when the data plane writes them itself (the proxy workers do). */
  accessLogPath?: string;
}

/** A data plane before it listens: `listen()` binds and reports the ports really bound. */
export interface ListeningDataPlane extends IngressDataPlane {
  listen(): Promise<{ httpPort: number; httpsPort: number }>;
}

export type DataPlaneFactory = (o: DataPlaneOptions) => ListeningDataPlane | Promise<ListeningDataPlane>;

/**
 * The nginx data plane's module (src/ingress/nginx/, another part): loaded only when asked for,
 * so the built-in path never needs it. Expected export: `class NginxDataPlane` constructed
 * with DataPlaneOptions and implementing ListeningDataPlane.
 */
const NGINX_MODULE: string = './nginx/index.js';

/** Builds the data plane of the given kind. */
export async function createDataPlane(kind: DataPlaneKind, o: DataPlaneOptions): Promise<ListeningDataPlane> {
  if (kind === 'nginx') {
    const mod = (await import(NGINX_MODULE)) as { NginxDataPlane: new (o: DataPlaneOptions) => ListeningDataPlane };
    return new mod.NginxDataPlane(o);
  }
  if ((o.workers ?? 0) > 0) {
    const { ProxyWorkerPool } = await import('./proxy/pool.js');
    const { metrics, accessLog, accessLogPath, workers, dir: _dir, ...proxy } = o;
    return new ProxyWorkerPool({ ...proxy, workers: workers!, metrics, ...(accessLogPath ? { accessLogPath } : accessLog ? { accessLog } : {}) });
  }
  const { IngressProxy } = await import('./proxy/index.js');
  return new IngressProxy(o);
}

export interface IngressOptions {
  /** The node address the data plane listens on (and its endpoints point at). */
  host: string;
  /** Default 80, falling back to a free port when 80 may not be bound; an explicit port never falls back. */
  httpPort?: number;
  /** Default 443, same fallback. */
  httpsPort?: number;
  dataPlane?: DataPlaneKind;
  /** Tests and embedders: builds the data plane instead of `dataPlane`. */
  dataPlaneFactory?: DataPlaneFactory;
  /** Served for unmatched names; default: a fresh self-signed "Kubernetes Ingress Controller Fake Certificate". */
  defaultCert?: { certPem: string; keyPem: string };
  nodeName?: string;
  /** Access log lines (default: none). */
  accessLog?: (line: string) => void;
  /** The access log file, for data planes that write it themselves (proxy workers); lines then skip `accessLog`. */
  accessLogPath?: string;
  /** Built-in proxy worker processes (default 0: the proxy runs in this process). */
  proxyWorkers?: number;
  /** The routing computation (default routes/ `computeRoutingTable`; tests inject one). */
  compute?: ComputeRoutingTable;
  /** Debounce between a change and the recompute (default 100 ms). */
  debounceMs?: number;
  /** Working directory: the default certificate is kept here, and data planes that need files (nginx) use it. */
  workDir?: string;
  /** Port of /metrics and /healthz on `host` (ingress-nginx's 10254; default 10254, falling back to a free port; -1: none). */
  metricsPort?: number;
  /** The CA that signs automatic certificates (`cert.kubelite.io/cluster-issuer: cluster-ca`); omitted: no issuer. */
  clusterCA?: { certPem: string; keyPem: string };
  log?: (line: string) => void;
}

export interface RunningIngress {
  httpPort: number;
  httpsPort: number;
  /** Where /metrics and /healthz are served (undefined: disabled). */
  metricsPort?: number;
  controller: IngressController;
  metrics: MetricsRegistry;
  stop(): Promise<void>;
}

const mayFallBack = (err: unknown): boolean => ['EACCES', 'EADDRINUSE', 'EPERM'].includes((err as NodeJS.ErrnoException).code ?? '');

/** Builds and binds the data plane: default ports first, free ports when those are refused. */
async function listenDataPlane(opts: IngressOptions & { defaultCert: DataPlaneOptions['defaultCert'] }, metrics: MetricsRegistry): Promise<{ plane: ListeningDataPlane; httpPort: number; httpsPort: number }> {
  const build = opts.dataPlaneFactory ?? ((o: DataPlaneOptions) => createDataPlane(opts.dataPlane ?? 'builtin', o));
  const attempt = async (httpPort: number, httpsPort: number): Promise<{ plane: ListeningDataPlane; httpPort: number; httpsPort: number }> => {
    const plane = await build({ httpHost: opts.host, httpPort, httpsPort, defaultCert: opts.defaultCert, metrics, accessLog: opts.accessLog, dir: opts.workDir, workers: opts.proxyWorkers ?? 0, ...(opts.accessLogPath ? { accessLogPath: opts.accessLogPath } : {}) });
    try {
      return { plane, ...(await plane.listen()) };
    } catch (err) {
      await plane.close().catch(() => undefined);
      throw err;
    }
  };
  try {
    return await attempt(opts.httpPort ?? 80, opts.httpsPort ?? 443);
  } catch (err) {
    const canFallBack = opts.httpPort === undefined || opts.httpsPort === undefined;
    if (!canFallBack || !mayFallBack(err)) throw err;
    (opts.log ?? ((l: string) => console.error(l)))(`ingress: cannot bind ports 80/443 on ${opts.host} (${(err as Error).message}); using free ports`);
  }
  return attempt(opts.httpPort ?? 0, opts.httpsPort ?? 0);
}

export async function startIngress(deps: { registry: Registry; cache: WatchCache }, opts: IngressOptions): Promise<RunningIngress> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const metrics = new MetricsRegistry();
  const stops: (() => unknown)[] = [];
  const stop = async (): Promise<void> => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  try {
    const defaultCert = opts.defaultCert ?? (await defaultCertificate(opts.workDir));
    const { plane, httpPort, httpsPort } = await listenDataPlane({ ...opts, defaultCert }, metrics);
    stops.push(() => plane.close());
    await ensureIngressClass(deps.registry);
    await ensureIngressService(deps.registry, { address: opts.host, httpPort, httpsPort, nodeName: opts.nodeName });
    const ctx = newControllerContext(deps);
    stops.push(() => ctx.informers.close());
    const controller = new IngressController(ctx, { dataPlane: plane, compute: opts.compute, debounceMs: opts.debounceMs, log });
    await controller.start();
    stops.push(() => controller.stop());
    if (opts.clusterCA) {
      const { CertificateController } = await import('./certs/index.js');
      const certs = new CertificateController(ctx, { clusterCA: opts.clusterCA });
      await certs.start();
      stops.push(() => certs.stop());
    }
    let metricsPort: number | undefined;
    if ((opts.metricsPort ?? 10254) >= 0) {
      // ingress-nginx serves these on :10254 (/healthz answers "ok").
      const serve = (port: number): Promise<Server> => listenMetricsServer(opts.host, port, { registries: [metrics], healthPaths: ['/healthz'], healthBody: 'ok' });
      const srv = await serve(opts.metricsPort ?? 10254).catch((err: unknown) => {
        if (opts.metricsPort !== undefined || !mayFallBack(err)) throw err;
        return serve(0);
      });
      stops.push(() => new Promise<void>((r) => srv.close(() => r())));
      metricsPort = (srv.address() as AddressInfo).port;
    }
    return { httpPort, httpsPort, metricsPort, controller, metrics, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export const DEFAULT_CERT_FILE = 'default-tls.crt';
export const DEFAULT_KEY_FILE = 'default-tls.key';
/** A kept default certificate is made anew when it has less than this left. */
const RENEW_BEFORE_MS = 30 * 86400_000;

/**
 * The default certificate, kept in `dir` (DATA_DIR/ingress) across restarts: making one needs
 * @peculiar/x509, whose loading (~200–400 ms) was most of ingress's start-up on an existing data
 * dir. A kept pair is used while it parses, matches and has 30 days left; otherwise a new one is
 * made and written (key 0600, written atomically). Without `dir`: made in memory.
 */
export async function defaultCertificate(dir?: string, now: () => number = Date.now): Promise<{ certPem: string; keyPem: string }> {
  if (dir) {
    try {
      const certPem = readFileSync(join(dir, DEFAULT_CERT_FILE), 'utf8');
      const keyPem = readFileSync(join(dir, DEFAULT_KEY_FILE), 'utf8');
      const cert = new X509Certificate(certPem);
      if (cert.checkPrivateKey(createPrivateKey(keyPem)) && Date.parse(cert.validTo) - now() > RENEW_BEFORE_MS) return { certPem, keyPem };
    } catch {
      // missing or unreadable: make a new one
    }
  }
  const made = await generateDefaultCertificate();
  if (dir) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      for (const [file, pem] of [[DEFAULT_KEY_FILE, made.keyPem], [DEFAULT_CERT_FILE, made.certPem]] as const) {
        writeFileSync(join(dir, `${file}.tmp`), pem, { mode: 0o600 });
        renameSync(join(dir, `${file}.tmp`), join(dir, file));
      }
    } catch {
      // a read-only data dir: the certificate is made again next start
    }
  }
  return made;
}

/**
 * A self-signed certificate for names no TLS Ingress covers, as ingress-nginx serves its
 * "Kubernetes Ingress Controller Fake Certificate": clients see an untrusted certificate rather
 * than a failed handshake. ECDSA P-256, valid one year (kept across restarts by defaultCertificate).
 */
export async function generateDefaultCertificate(): Promise<{ certPem: string; keyPem: string }> {
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const notBefore = new Date(Date.now() - 60_000);
  const certPem = createCertificate({
    subject: { o: 'Acme Co', cn: 'Kubernetes Ingress Controller Fake Certificate' },
    serial,
    notBefore,
    notAfter: new Date(notBefore.getTime() + 365 * 86400_000),
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    keyUsage: ['digitalSignature', 'keyEncipherment'],
    serverAuth: true,
    altNames: ['ingress.local'],
  });
  return { certPem, keyPem: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}
