/**
 * The certificate controller (cert-manager's ingress-shim + CA issuer in one): every Ingress
 * annotated for a certificate (see decide.ts) gets, for each `spec.tls[].secretName`, a
 * kubernetes.io/tls Secret holding a certificate for exactly that entry's hosts, signed by the
 * requested CA, and renewed once `renewFraction` of its lifetime has passed.
 *
 * Work is keyed by Ingress (`namespace/name`). Triggers: the Ingress changing, any Secret it
 * names (TLS target or CA) changing or disappearing, and a timer at the earliest renewal time
 * among its certificates. Secrets are read live from the registry (not the informer cache) before
 * deciding, so a cache lagging behind our own write never causes a second issuance. Retries are
 * the queue's: a failed issue or write throws and the key is re-queued with backoff.
 *
 * Renewal timers are kept here rather than with `WorkQueue.addAfter`, because addAfter keeps the
 * first timer for a key: a later, earlier deadline (e.g. the duration annotation shortened) would
 * be ignored. Each timer just `add`s the key to the queue at the renewal time, on the injected
 * clock (tests use a fake one).
 *
 * Secrets get no ownerReference: deleting the Ingress keeps its certificate (as cert-manager's
 * Secrets outlive their Certificates by default), and a Secret managed for another, older Ingress
 * is left alone (reported as a Warning). Key material is never logged or put in events.
 */
import type { KObject } from '../../api/types.js';
import { isAlreadyExists, isConflict, isNotFound, type LocalClient, type ResourceRef } from '../../client/client.js';
import type { EventRecorder } from '../../client/events.js';
import { keyOf, type SharedInformer } from '../../client/shared-informer.js';
import { WorkQueue, runWorkers, type Clock } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../../controllers/context.js';
import {
  CA_SECRET_ANNOTATION,
  CLUSTER_CA_ISSUER,
  DEFAULT_RENEW_FRACTION,
  SECRET_ANNOTATIONS,
  buildSecret,
  caFromSecret,
  checkRenewal,
  issuerId,
  planIngress,
  renewalTime,
  secretRenewalTime,
  type CertRequest,
  type IngressPlan,
} from './decide.js';
import { checkIssuer, issueCertificate, type CertIssuer } from './issue.js';

export const CERTIFICATE_CONTROLLER_NAME = 'certificate-controller';
const INGRESSES: ResourceRef = { group: 'networking.k8s.io', plural: 'ingresses' };
const SECRETS: ResourceRef = { group: '', plural: 'secrets' };
/** Ingresses by the `namespace/secret` keys they name (TLS targets and CA secret). */
const SECRET_INDEX = 'certs.kubelite.io/secrets';

export interface CertificateControllerOptions {
  /** The cluster CA (`cluster-ca` issuer): the API server's CA certificate and PKCS#8 key, PEM. */
  clusterCA: CertIssuer;
  /** Fraction of the lifetime after which a certificate is renewed (default 2/3, cert-manager's). */
  renewFraction?: number;
  /** Overrides ctx.clock. */
  clock?: Clock;
  workers?: number;
}

function secretKeysOf(ing: KObject): string[] {
  const ns = ing.metadata.namespace ?? '';
  const plan = planIngress(ing);
  if (!plan) return [];
  const keys = plan.certs.map((c) => `${ns}/${c.secretName}`);
  if (plan.issuer.kind === 'CASecret') keys.push(`${ns}/${plan.issuer.name}`);
  return keys;
}

const byAge = (a: KObject, b: KObject): number =>
  String(a.metadata.creationTimestamp ?? '').localeCompare(String(b.metadata.creationTimestamp ?? '')) || String(a.metadata.name).localeCompare(String(b.metadata.name));

export class CertificateController implements Controller {
  private readonly client: LocalClient;
  private readonly recorder: EventRecorder;
  private readonly queue: WorkQueue;
  private readonly clock: Clock;
  private readonly renewFraction: number;
  private readonly timers = new Map<string, { at: number; handle: unknown }>();
  /** Warnings already reported per Ingress key (reported again only after they went away). */
  private readonly warned = new Map<string, Set<string>>();
  private ingresses!: SharedInformer;
  private secrets!: SharedInformer;
  private workers?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly opts: CertificateControllerOptions,
  ) {
    this.client = ctx.client.as(CERTIFICATE_CONTROLLER_NAME);
    this.recorder = ctx.recorder(CERTIFICATE_CONTROLLER_NAME);
    this.clock = opts.clock ?? ctx.clock;
    this.queue = new WorkQueue(this.clock);
    const f = opts.renewFraction ?? DEFAULT_RENEW_FRACTION;
    if (!(f > 0 && f <= 1)) throw new Error(`renewFraction must be in (0, 1], got ${f}`);
    this.renewFraction = f;
  }

  async start(): Promise<void> {
    this.ingresses = this.ctx.informers.for('networking.k8s.io', 'ingresses');
    this.secrets = this.ctx.informers.for('', 'secrets');
    this.ingresses.addIndexer(SECRET_INDEX, secretKeysOf);
    this.ingresses.addHandlers({
      onAdd: (o) => this.queue.add(keyOf(o)),
      // Resyncs (o === old) re-check too: cheap, and they cover anything missed.
      onUpdate: (o) => this.queue.add(keyOf(o)),
      onDelete: (o) => this.queue.add(keyOf(o)),
    });
    const bySecret = (s: KObject): void => {
      for (const ing of this.ingresses.byIndex(SECRET_INDEX, keyOf(s))) this.queue.add(keyOf(ing));
    };
    this.secrets.addHandlers({ onAdd: bySecret, onUpdate: (s, old) => s !== old && bySecret(s), onDelete: bySecret });
    await this.ctx.informers.start();
    this.workers = runWorkers(this.queue, (k) => this.sync(k), { workers: this.opts.workers ?? 1 });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.shutDown();
    for (const t of this.timers.values()) this.clock.clearTimeout(t.handle);
    this.timers.clear();
    await this.workers;
  }

  /** When the Ingress `key` is next re-checked for renewal (ms on the controller's clock). */
  nextRenewal(key: string): number | undefined {
    return this.timers.get(key)?.at;
  }

  /** Ensures every certificate the Ingress `key` asks for; schedules the next renewal check. */
  async sync(key: string): Promise<void> {
    const ing = this.ingresses.get(key);
    const plan = ing ? planIngress(ing) : undefined;
    if (!ing || !plan) {
      this.cancelTimer(key);
      this.warned.delete(key);
      return;
    }
    const prev = this.warned.get(key) ?? new Set<string>();
    const cur = new Set<string>();
    const warn = (reason: string, message: string): void => {
      const id = `${reason}\u0000${message}`;
      cur.add(id);
      if (!prev.has(id)) this.recorder.event(ing, 'Warning', reason, message);
    };
    let ok = false;
    try {
      for (const s of plan.skipped) warn('BadConfig', s);
      if (plan.error) {
        warn('BadConfig', plan.error);
        this.cancelTimer(key);
      } else {
        const issuer = await this.resolveIssuer(ing, plan, warn);
        if (!issuer) this.cancelTimer(key);
        else {
          let next: number | undefined;
          for (const cert of plan.certs) {
            const at = await this.ensure(ing, plan, { cert, issuer, warn });
            if (at !== undefined) next = next === undefined ? at : Math.min(next, at);
          }
          this.schedule(key, next);
        }
      }
      ok = true;
    } finally {
      // After a failure keep the earlier warnings too, so the retry does not repeat them.
      this.warned.set(key, ok ? cur : new Set([...prev, ...cur]));
    }
  }

  /** The signing CA for the plan, or undefined after reporting why there is none. */
  private async resolveIssuer(ing: KObject, plan: IngressPlan, warn: (r: string, m: string) => void): Promise<CertIssuer | undefined> {
    let ca: CertIssuer;
    if (plan.issuer.kind === 'ClusterIssuer') {
      if (plan.issuer.name !== CLUSTER_CA_ISSUER) {
        warn('IssuerNotFound', `ClusterIssuer "${plan.issuer.name}" not found: the only cluster issuer is "${CLUSTER_CA_ISSUER}" (or use ${CA_SECRET_ANNOTATION})`);
        return undefined;
      }
      ca = this.opts.clusterCA;
    } else {
      const found = caFromSecret(await this.getSecret(ing.metadata.namespace ?? '', plan.issuer.name), plan.issuer.name);
      if ('error' in found) {
        warn('IssuerNotFound', found.error);
        return undefined;
      }
      ca = found;
    }
    const problem = checkIssuer(ca);
    if (problem) {
      warn('Failed', `issuer ${issuerId(plan.issuer)} cannot sign: ${problem}`);
      return undefined;
    }
    return ca;
  }

  private async getSecret(ns: string, name: string): Promise<KObject | undefined> {
    try {
      return await this.client.get(SECRETS, ns, name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** An older annotated Ingress that asks for the same Secret (it keeps the Secret), if any. */
  private olderClaimant(ing: KObject, secretName: string): KObject | undefined {
    const ns = ing.metadata.namespace ?? '';
    const claimants = this.ingresses.byIndex(SECRET_INDEX, `${ns}/${secretName}`).filter((o) => planIngress(o)?.certs.some((c) => c.secretName === secretName));
    const oldest = claimants.sort(byAge)[0];
    return oldest && oldest.metadata.uid !== ing.metadata.uid ? oldest : undefined;
  }

  /**
   * Makes one Secret hold a good certificate; returns its renewal time (undefined when nothing
   * is managed here). Throws (to be retried) when issuing or writing fails.
   */
  private async ensure(
    ing: KObject,
    plan: IngressPlan,
    o: { cert: CertRequest; issuer: CertIssuer; warn: (r: string, m: string) => void },
  ): Promise<number | undefined> {
    const ns = ing.metadata.namespace ?? '';
    const { cert, issuer, warn } = o;
    const other = this.olderClaimant(ing, cert.secretName);
    if (other) {
      warn('Failed', `Secret ${cert.secretName} is managed for older Ingress ${other.metadata.name}; not issuing a certificate into it`);
      return undefined;
    }
    const existing = await this.getSecret(ns, cert.secretName);
    if (existing && existing.type !== 'kubernetes.io/tls') {
      warn('Failed', `Secret ${cert.secretName} exists with type ${String(existing.type ?? 'Opaque')} (immutable); delete it to let a kubernetes.io/tls certificate be issued`);
      return undefined;
    }
    const now = this.clock.now();
    const want = { hosts: cert.hosts, issuer: { id: issuerId(plan.issuer), certPem: issuer.certPem }, durationMs: plan.durationMs, renewFraction: this.renewFraction };
    const decision = checkRenewal(existing, want, now);
    if (!decision) return existing ? secretRenewalTime(existing, this.renewFraction) : undefined;

    this.recorder.event(ing, 'Normal', 'Issuing', `Issuing certificate for Secret ${cert.secretName}: ${decision.reason}`);
    const notBefore = new Date(Math.floor(now / 1000) * 1000);
    const notAfter = new Date(notBefore.getTime() + plan.durationMs);
    const renewAt = renewalTime(notBefore.getTime(), notAfter.getTime(), this.renewFraction);
    try {
      const issued = await issueCertificate({ hosts: cert.hosts, issuer, notBefore, notAfter });
      const secret = buildSecret(existing, {
        namespace: ns,
        name: cert.secretName,
        ingress: ing.metadata.name ?? '',
        issuer: plan.issuer,
        issuerCertPem: issuer.certPem,
        hosts: cert.hosts,
        issued,
        notBefore,
        notAfter,
        renewAt: new Date(renewAt),
      });
      if (existing) await this.client.update(SECRETS, secret);
      else await this.client.create(SECRETS, ns, secret);
    } catch (err) {
      // A lost race (409) is retried quietly; everything else is worth telling the user.
      if (!isAlreadyExists(err) && !isConflict(err)) {
        this.recorder.event(ing, 'Warning', 'Failed', `Failed to issue certificate for Secret ${cert.secretName}: ${err instanceof Error ? err.message : String(err)}`);
      }
      throw err;
    }
    const renewed = decision.kind === 'due';
    const hosts = cert.hosts.join(', ');
    this.recorder.event(
      ing,
      'Normal',
      renewed ? 'Renewed' : 'Issued',
      `Certificate ${renewed ? 'renewed' : 'issued'} for hosts ${hosts} valid until ${notAfter.toISOString().replace(/\.\d{3}Z$/, 'Z')} (Secret ${cert.secretName}, issuer ${issuerId(plan.issuer)}, ${SECRET_ANNOTATIONS.renewalTime} ${new Date(renewAt).toISOString().replace(/\.\d{3}Z$/, 'Z')})`,
    );
    return renewAt;
  }

  /** Re-queues `key` at `at` (keeping an earlier pending timer, which reschedules when it fires). */
  private schedule(key: string, at: number | undefined): void {
    if (at === undefined || this.stopped) return this.cancelTimer(key);
    const now = this.clock.now();
    const t = this.timers.get(key);
    if (t && t.at <= at && t.at > now) return;
    this.cancelTimer(key);
    const handle = this.clock.setTimeout(() => {
      this.timers.delete(key);
      this.queue.add(key);
    }, Math.max(0, at - now));
    this.timers.set(key, { at, handle });
  }

  private cancelTimer(key: string): void {
    const t = this.timers.get(key);
    if (t) this.clock.clearTimeout(t.handle);
    this.timers.delete(key);
  }
}
