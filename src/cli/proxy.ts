/**
 * `kubelite proxy trace --from <pod|ip> --to <ip:port>`: reads Services, EndpointSlices, Pods and
 * Nodes from the API server, computes the proxy state one node would program (computeProxyState),
 * renders its nftables rules and follows one packet through them, printing every step. Read-only
 * and rootless: nothing is loaded into the kernel.
 *
 * The node whose rules are traced: the --from pod's node, else the node owning the --from or --to
 * address, else --node, else the first node by name.
 */
import { parseArgs } from 'node:util';
import { request, type Agent } from 'node:https';
import { join } from 'node:path';
import { isObject, type KObject } from '../api/types.js';
import { loadKubeconfig } from './backup.js';
import { computeProxyState } from '../proxy/compute.js';
import type { Protocol, ProxyNode, ProxyState } from '../proxy/types.js';
import { renderRuleset } from '../proxy/nftables/render.js';
import { tracePacket, type Origin, type TracePacket, type TraceResult } from '../proxy/trace/trace.js';
import { formatTrace, traceToJSON } from '../proxy/trace/format.js';
import { inAny, isIPv4 } from '../proxy/trace/ip.js';

export const PROXY_USAGE = `usage: kubelite proxy trace --from <pod|ns/pod|ip> --to <ip:port> [flags]

Follows one new connection through the nftables rules kubelite's proxy computes for a node and
prints each step: which hook and chain, which map, which endpoint, and why.

flags:
  --from POD|NS/POD|IP   the client: a pod (by name, default namespace "default") or an address
  --to IP:PORT           the destination (a ClusterIP, NodePort on a node address, LB IP, ...)
  --protocol TCP|UDP|SCTP (default TCP)
  --output text|json     (default text)
  --node NAME            whose rules to trace (default: the client pod's node, else the node
                         owning the address, else the first node)
  --service-cidr CIDR    (default 10.96.0.0/12)
  --cluster-cidr CIDR    pod addresses of the cluster (default: the nodes' podCIDRs, else 10.244.0.0/16)
  --kubeconfig PATH      (default $KUBECONFIG, else DIR/kubeconfig)
  --data-dir DIR         cluster data dir, to find its kubeconfig (default ./.kubelite)
`;

/** Where output goes (tests capture it). */
export interface ProxyIO {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

const defaultIO: ProxyIO = { stdout: (s) => void process.stdout.write(s), stderr: (s) => void process.stderr.write(s) };

/** A message for the user; `code` is the exit status (2 for usage errors). */
export class ProxyCliError extends Error {
  override readonly name = 'ProxyCliError';
  constructor(message: string, readonly code: 1 | 2) {
    super(message);
  }
}

export interface ClusterObjects {
  services: KObject[];
  slices: KObject[];
  pods: KObject[];
  nodes: KObject[];
}

export interface TraceRequest {
  from: string;
  to: string;
  protocol: Protocol;
  serviceCIDR: string;
  clusterCIDR?: string;
  node?: string;
}

export interface TracePlan {
  state: ProxyState;
  packet: TracePacket;
  /** Human description of the client ("pod default/client (10.244.0.5)"). */
  client: string;
}

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec => (isObject(v) ? v : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function nodeAddresses(node: KObject): string[] {
  return arr(rec(node.status).addresses)
    .map(rec)
    .filter((a) => a.type === 'InternalIP' || a.type === 'ExternalIP')
    .map((a) => str(a.address) ?? '')
    .filter(isIPv4);
}

function nodePodCIDRs(node: KObject): string[] {
  const spec = rec(node.spec);
  const all = arr(spec.podCIDRs).map(str).filter((s): s is string => s !== undefined);
  const one = str(spec.podCIDR);
  return (all.length > 0 ? all : one ? [one] : []).filter((c) => isIPv4(c.split('/')[0] ?? ''));
}

function parseTo(to: string): { ip: string; port: number } {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(to);
  const port = m ? Number(m[2]) : 0;
  if (!m || !isIPv4(m[1]!) || port < 1 || port > 65535) throw new ProxyCliError(`--to must be IPv4:PORT (got ${JSON.stringify(to)})`, 2);
  return { ip: m[1]!, port };
}

function checkCIDR(flag: string, v: string): void {
  const [ip, bits] = v.split('/');
  if (!ip || !isIPv4(ip) || bits === undefined || !/^\d+$/.test(bits) || Number(bits) > 32) throw new ProxyCliError(`${flag} must be an IPv4 CIDR (got ${JSON.stringify(v)})`, 2);
}

/**
 * Pure: the ProxyState of the chosen node and the packet, from the cluster's objects. Throws
 * ProxyCliError (code 1) when the pod or node cannot be found.
 */
export function planTrace(objs: ClusterObjects, req: TraceRequest): TracePlan {
  const dst = parseTo(req.to);
  checkCIDR('--service-cidr', req.serviceCIDR);
  if (req.clusterCIDR) checkCIDR('--cluster-cidr', req.clusterCIDR);
  const nodes = [...objs.nodes].sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  const byName = (n: string): KObject | undefined => nodes.find((x) => x.metadata.name === n);
  const owner = (ip: string): KObject | undefined => nodes.find((n) => nodeAddresses(n).includes(ip));

  let src: string;
  let client: string;
  let podNode: string | undefined;
  let hostNetwork = false;
  if (isIPv4(req.from)) {
    src = req.from;
    client = req.from;
  } else {
    const [ns, name] = req.from.includes('/') ? req.from.split('/', 2) : ['default', req.from];
    const pod = objs.pods.find((p) => p.metadata.namespace === ns && p.metadata.name === name);
    if (!pod) throw new ProxyCliError(`pod ${ns}/${name} not found`, 1);
    const ip = str(rec(pod.status).podIP);
    if (!ip || !isIPv4(ip)) throw new ProxyCliError(`pod ${ns}/${name} has no IPv4 address yet`, 1);
    src = ip;
    client = `pod ${ns}/${name} (${ip})`;
    podNode = str(rec(pod.spec).nodeName);
    hostNetwork = rec(pod.spec).hostNetwork === true;
  }

  let node: KObject | undefined;
  if (req.node !== undefined) {
    node = byName(req.node);
    if (!node) throw new ProxyCliError(`node ${req.node} not found`, 1);
  } else {
    node = (podNode ? byName(podNode) : undefined) ?? owner(src) ?? owner(dst.ip) ?? nodes[0];
  }
  const clusterCIDRs = req.clusterCIDR ? [req.clusterCIDR] : [...new Set(nodes.flatMap(nodePodCIDRs))];
  const proxyNode: ProxyNode = {
    name: node?.metadata.name ?? '',
    addresses: node ? nodeAddresses(node) : [],
    serviceCIDRs: [req.serviceCIDR],
    podCIDRs: clusterCIDRs.length > 0 ? clusterCIDRs : ['10.244.0.0/16'],
  };
  const origin: Origin = hostNetwork || proxyNode.addresses.includes(src) ? 'node' : inAny(src, proxyNode.podCIDRs) ? 'pod' : 'external';
  const state = computeProxyState({ services: objs.services, slices: objs.slices, node: proxyNode });
  return { state, packet: { src, dst: dst.ip, dport: dst.port, protocol: req.protocol, origin }, client };
}

function getJson(ep: ReturnType<typeof loadKubeconfig>, path: string): Promise<Rec> {
  const url = new URL(path, ep.server);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', agent: ep.agent as Agent, headers: { ...ep.headers, 'user-agent': 'kubelite-proxy-trace' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let parsed: Rec | undefined;
        try { parsed = JSON.parse(body) as Rec; } catch { parsed = undefined; }
        if (res.statusCode !== 200 || !parsed) {
          reject(new ProxyCliError(`GET ${url.pathname}: ${res.statusCode} ${str(parsed?.message) ?? body.slice(0, 200)}`, 1));
          return;
        }
        resolve(parsed);
      });
    });
    req.on('error', (err) => reject(new ProxyCliError(`cannot reach the API server at ${ep.server.origin}: ${err.message} (is kubelite running?)`, 1)));
    req.end();
  });
}

/** Lists Services, EndpointSlices, Pods and Nodes in all namespaces. */
export async function fetchClusterObjects(kubeconfig: string): Promise<ClusterObjects> {
  let ep: ReturnType<typeof loadKubeconfig>;
  try {
    ep = loadKubeconfig(kubeconfig);
  } catch (err) {
    throw new ProxyCliError((err as Error).message, 1);
  }
  try {
    const list = async (path: string): Promise<KObject[]> => arr((await getJson(ep, path)).items).filter(isObject) as unknown as KObject[];
    const [services, slices, pods, nodes] = await Promise.all([
      list('/api/v1/services'),
      list('/apis/discovery.k8s.io/v1/endpointslices'),
      list('/api/v1/pods'),
      list('/api/v1/nodes'),
    ]);
    return { services, slices, pods, nodes };
  } finally {
    ep.agent.destroy();
  }
}

function describeNode(n: ProxyNode): string {
  return `${n.name || '(no node object)'} addresses [${n.addresses.join(', ')}], pod CIDRs [${n.podCIDRs.join(', ')}], service CIDRs [${n.serviceCIDRs.join(', ')}]`;
}

/** `kubelite proxy ...`; returns the exit status. */
export async function proxyCommand(args: string[], io: ProxyIO = defaultIO): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') {
    io.stdout(PROXY_USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'trace') {
    io.stderr(`kubelite proxy: unknown subcommand ${JSON.stringify(sub)}\n${PROXY_USAGE}`);
    return 2;
  }
  let result: TraceResult;
  let plan: TracePlan;
  let output: string;
  try {
    let values;
    try {
      ({ values } = parseArgs({
        args: rest,
        options: {
          from: { type: 'string' },
          to: { type: 'string' },
          protocol: { type: 'string', default: 'TCP' },
          output: { type: 'string', short: 'o', default: 'text' },
          node: { type: 'string' },
          'service-cidr': { type: 'string', default: '10.96.0.0/12' },
          'cluster-cidr': { type: 'string' },
          kubeconfig: { type: 'string' },
          'data-dir': { type: 'string', default: './.kubelite' },
        },
        strict: true,
        allowPositionals: false,
      }));
    } catch (err) {
      throw new ProxyCliError((err as Error).message, 2);
    }
    if (!values.from) throw new ProxyCliError('--from is required', 2);
    if (!values.to) throw new ProxyCliError('--to is required', 2);
    const protocol = values.protocol!.toUpperCase();
    if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP') throw new ProxyCliError(`--protocol must be TCP, UDP or SCTP (got ${JSON.stringify(values.protocol)})`, 2);
    output = values.output!;
    if (output !== 'text' && output !== 'json') throw new ProxyCliError(`--output must be text or json (got ${JSON.stringify(output)})`, 2);
    const req: TraceRequest = { from: values.from, to: values.to, protocol, serviceCIDR: values['service-cidr']! };
    if (values['cluster-cidr']) req.clusterCIDR = values['cluster-cidr'];
    if (values.node) req.node = values.node;
    // Validate the flags before any network round trip.
    parseTo(req.to);
    checkCIDR('--service-cidr', req.serviceCIDR);
    if (req.clusterCIDR) checkCIDR('--cluster-cidr', req.clusterCIDR);
    const envKubeconfig = process.env.KUBECONFIG?.split(':').find((p) => p !== '');
    const kubeconfig = values.kubeconfig ?? envKubeconfig ?? join(values['data-dir']!, 'kubeconfig');
    const objs = await fetchClusterObjects(kubeconfig);
    plan = planTrace(objs, req);
    // The applier loads the cascade form (nftables/applier.ts): trace the rules the kernel holds.
    result = tracePacket(renderRuleset(plan.state, { lb: 'cascade' }), plan.packet, { localAddresses: plan.state.node.addresses });
  } catch (err) {
    if (err instanceof ProxyCliError) {
      io.stderr(`kubelite proxy trace: ${err.message}\n${err.code === 2 ? PROXY_USAGE : ''}`);
      return err.code;
    }
    io.stderr(`kubelite proxy trace: ${(err as Error).message}\n`);
    return 1;
  }
  if (output === 'json') {
    io.stdout(JSON.stringify({ client: plan.client, node: plan.state.node, ...(JSON.parse(traceToJSON(result)) as Rec) }, null, 2) + '\n');
  } else {
    io.stdout(`client: ${plan.client}, origin ${plan.packet.origin}\nnode: ${describeNode(plan.state.node)}\n${formatTrace(result)}`);
  }
  return 0;
}
