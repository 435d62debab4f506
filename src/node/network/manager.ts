/**
 * The pod network as the agent uses it: one call to give a pod its address (and, as root, its
 * own network namespace), one to take it away, and a list of what exists for cleaning up after
 * a restart.
 *
 * Two implementations:
 * - {@link NetnsPodNetwork} (root on Linux): a netns per pod, a veth into the node bridge, an
 *   address from the podCIDR — the plans in plan.ts, applied by apply.ts.
 * - {@link LoopbackPodNetwork} (no root, or not Linux): pods share the host network and each gets
 *   its own loopback address (127.x), which every Linux loopback answers without configuration.
 *   Programs that bind 0.0.0.0 then share one port space: the agent's warning says so.
 *
 * Both remember each pod's address in `stateDir/<uid>.json`, so an agent restarted after a
 * crash gives running pods the same address and tears down only what no pod owns.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { applyCommands, teardown, type ApplyOptions } from './apply.js';
import { IpAllocator, netnsName, planBridge, planPodSetup, planPodTeardown, type NodeNetConfig } from './plan.js';

export interface PodNetworkRef {
  uid: string;
  namespace: string;
  name: string;
}

export interface PodNetworkResult {
  ip: string;
  /** Path of the pod's network namespace; undefined when pods share the host network. */
  netnsPath?: string;
}

interface PodState {
  uid: string;
  namespace: string;
  name: string;
  ip: string;
  netns?: string;
}

/** Per-pod state files and the address allocator both implementations share. */
class PodStateDir {
  readonly allocator: IpAllocator;
  private readonly states = new Map<string, PodState>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly dir: string, cidr: string) {
    this.allocator = new IpAllocator(cidr);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const f of readdirSync(dir)) {
      if (!f.endsWith('.json')) continue;
      try {
        const st = JSON.parse(readFileSync(join(dir, f), 'utf8')) as PodState;
        this.allocator.reserve(st.uid, st.ip);
        this.states.set(st.uid, st);
      } catch {
        rmSync(join(dir, f), { force: true }); // unreadable or conflicting: forget it
      }
    }
  }

  get(uid: string): PodState | undefined {
    return this.states.get(uid);
  }

  uids(): string[] {
    return [...this.states.keys()];
  }

  save(st: PodState): void {
    const file = join(this.dir, `${st.uid}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(st));
    renameSync(`${file}.tmp`, file);
    this.states.set(st.uid, st);
  }

  forget(uid: string): void {
    rmSync(join(this.dir, `${uid}.json`), { force: true });
    this.states.delete(uid);
    this.allocator.release(uid);
  }

  /** Serialises operations on one pod (setUp racing tearDown for the same uid). */
  async locked<T>(uid: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(uid) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.locks.set(uid, tail);
    try {
      return await next;
    } finally {
      if (this.locks.get(uid) === tail) this.locks.delete(uid);
    }
  }
}

export interface NetnsPodNetworkOptions extends ApplyOptions {
  node: NodeNetConfig;
  /** Prefix of pod netns names (`kl` normally; `$SANDBOX_NETNS-p` in sandboxed tests). */
  netnsPrefix: string;
  stateDir: string;
  /** Where `ip netns add` puts namespaces (default /run/netns). */
  netnsDir?: string;
}

/** Root mode: a network namespace per pod on a node bridge. Call {@link init} once before use. */
export class NetnsPodNetwork {
  readonly isolated = true;
  private readonly state: PodStateDir;
  private readonly netnsDir: string;

  constructor(private readonly opts: NetnsPodNetworkOptions) {
    this.state = new PodStateDir(opts.stateDir, opts.node.podCIDR);
    this.netnsDir = opts.netnsDir ?? '/run/netns';
  }

  /** The bridge's address: the node as the pods see it. */
  gateway(): string {
    return this.state.allocator.gateway();
  }

  /** Creates (or re-checks) the bridge, forwarding and masquerade rule. Idempotent. */
  async init(): Promise<void> {
    await applyCommands(planBridge(this.opts.node), this.opts);
  }

  async setUp(pod: PodNetworkRef): Promise<PodNetworkResult> {
    return this.state.locked(pod.uid, async () => {
      const ns = netnsName(this.opts.netnsPrefix, pod.uid);
      const netnsPath = join(this.netnsDir, ns);
      const have = this.state.get(pod.uid);
      if (have && existsSync(netnsPath)) return { ip: have.ip, netnsPath };
      // A state file without its namespace (machine rebooted, someone deleted it): rebuild.
      const spec = { uid: pod.uid, netnsPrefix: this.opts.netnsPrefix };
      if (have) await teardown(planPodTeardown(spec), this.opts).catch(() => undefined);
      const ip = this.state.allocator.allocate(pod.uid);
      try {
        await applyCommands(planPodSetup(this.opts.node, { ...spec, ip }), this.opts);
      } catch (err) {
        await teardown(planPodTeardown(spec), this.opts).catch(() => undefined);
        this.state.forget(pod.uid);
        throw err;
      }
      this.state.save({ uid: pod.uid, namespace: pod.namespace, name: pod.name, ip, netns: ns });
      return { ip, netnsPath };
    });
  }

  async tearDown(uid: string): Promise<void> {
    return this.state.locked(uid, async () => {
      await teardown(planPodTeardown({ uid, netnsPrefix: this.opts.netnsPrefix }), this.opts);
      this.state.forget(uid);
    });
  }

  async list(): Promise<string[]> {
    return this.state.uids();
  }
}

export interface LoopbackPodNetworkOptions {
  /** Loopback range pods take addresses from (default 127.244.0.0/24). */
  cidr?: string;
  stateDir: string;
}

/** Without root: pods share the host network, each with its own 127.x address. */
export class LoopbackPodNetwork {
  readonly isolated = false;
  private readonly state: PodStateDir;

  constructor(opts: LoopbackPodNetworkOptions) {
    this.state = new PodStateDir(opts.stateDir, opts.cidr ?? '127.244.0.0/24');
  }

  async setUp(pod: PodNetworkRef): Promise<PodNetworkResult> {
    return this.state.locked(pod.uid, async () => {
      const have = this.state.get(pod.uid);
      if (have) return { ip: have.ip };
      const ip = this.state.allocator.allocate(pod.uid);
      this.state.save({ uid: pod.uid, namespace: pod.namespace, name: pod.name, ip });
      return { ip };
    });
  }

  async tearDown(uid: string): Promise<void> {
    return this.state.locked(uid, async () => this.state.forget(uid));
  }

  async list(): Promise<string[]> {
    return this.state.uids();
  }
}
