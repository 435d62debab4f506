/**
 * Pure generation of a pod's /etc/resolv.conf and /etc/hosts, following kubelet's rules
 * (pkg/kubelet/network/dns and the managed hosts file) so programs in pods resolve names the way
 * they would on a real cluster. The agent writes the results; nothing here does I/O.
 */

export interface ResolvConf {
  nameservers: string[];
  searches: string[];
  /** `name` or `name:value`. */
  options: string[];
}

export type DNSPolicy = 'ClusterFirst' | 'ClusterFirstWithHostNet' | 'Default' | 'None';

export interface PodDNSConfig {
  nameservers?: string[];
  searches?: string[];
  options?: { name: string; value?: string }[];
}

/** The parts of a pod that decide its DNS. */
export interface PodDNSInput {
  namespace: string;
  dnsPolicy?: DNSPolicy | string;
  hostNetwork?: boolean;
  dnsConfig?: PodDNSConfig;
}

export interface NodeDNSSettings {
  /** Cluster DNS service IPs (kubelet --cluster-dns); empty means "not configured". */
  clusterDNS: string[];
  /** e.g. `cluster.local`; empty disables the cluster search domains. */
  clusterDomain: string;
  /** The node's parsed resolv.conf, or undefined when kubelet has none (--resolv-conf=""). */
  host?: ResolvConf;
}

export interface PodDNSResult extends ResolvConf {
  /** Why something was dropped or a policy fell back (kubelet emits these as Warning events). */
  warnings: string[];
}

/** Kubernetes limits (pkg/apis/core/validation). */
export const MAX_NAMESERVERS = 3;
export const MAX_SEARCH_PATHS = 32;
export const MAX_SEARCH_LIST_CHARS = 2048;
const MAX_SEARCH_PATH_LEN = 253;

/**
 * Parses resolv.conf text like kubelet: nameserver lines accumulate, the last search/options
 * line wins, trailing dots are trimmed from search domains and a lone "." is dropped.
 */
export function parseResolvConf(text: string): ResolvConf {
  const out: ResolvConf = { nameservers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#')) continue;
    const f = line.split(/\s+/).filter(Boolean);
    if (f[0] === 'nameserver' && f[1]) out.nameservers.push(f[1]);
    else if (f[0] === 'search') out.searches = f.slice(1).filter((s) => s !== '.').map((s) => s.replace(/\.$/, ''));
    else if (f[0] === 'options') out.options = f.slice(1);
  }
  return out;
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

/** Merges options by name; later (pod dnsConfig) values win. Order: first appearance of each name. */
function mergeOptions(existing: string[], extra: PodDNSConfig['options'] = []): string[] {
  const m = new Map<string, string>();
  for (const op of existing) {
    const i = op.indexOf(':');
    if (i === -1) m.set(op, '');
    else m.set(op.slice(0, i), op.slice(i + 1));
  }
  for (const op of extra) m.set(op.name, op.value ?? '');
  return [...m].map(([k, v]) => (v ? `${k}:${v}` : k));
}

function fitSearches(searches: string[], warnings: string[]): string[] {
  let s = searches;
  let exceeded = false;
  if (s.length > MAX_SEARCH_PATHS) { s = s.slice(0, MAX_SEARCH_PATHS); exceeded = true; }
  const kept = s.filter((d) => d.length <= MAX_SEARCH_PATH_LEN);
  if (kept.length !== s.length) exceeded = true;
  s = kept;
  // Drop domains from the end until the joined line fits.
  while (s.length > 0 && s.join(' ').length > MAX_SEARCH_LIST_CHARS) { s = s.slice(0, -1); exceeded = true; }
  if (exceeded) warnings.push(`Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ${s.join(' ')}`);
  return s;
}

/** Computes the pod's resolver settings for its dnsPolicy (default ClusterFirst) plus dnsConfig. */
export function podDNS(pod: PodDNSInput, node: NodeDNSSettings): PodDNSResult {
  const warnings: string[] = [];
  const policy = pod.dnsPolicy ?? 'ClusterFirst';
  const host: ResolvConf = node.host
    ? { nameservers: [...node.host.nameservers], searches: [...node.host.searches], options: [...node.host.options] }
    : { nameservers: ['127.0.0.1'], searches: ['.'], options: [] };
  let cfg: ResolvConf;
  const cluster = policy === 'ClusterFirstWithHostNet' || (policy === 'ClusterFirst' && !pod.hostNetwork)
    || !['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'].includes(policy);
  if (policy === 'None') {
    cfg = { nameservers: [], searches: [], options: [] };
  } else if (cluster && node.clusterDNS.length > 0) {
    const d = node.clusterDomain;
    const searches = d ? unique([`${pod.namespace}.svc.${d}`, `svc.${d}`, d, ...host.searches]) : host.searches;
    cfg = { nameservers: [...node.clusterDNS], searches, options: ['ndots:5'] };
  } else {
    if (cluster) warnings.push(`kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. Falling back to "Default" policy.`);
    cfg = host;
  }
  if (pod.dnsConfig) {
    cfg = {
      nameservers: unique([...cfg.nameservers, ...(pod.dnsConfig.nameservers ?? [])]),
      searches: unique([...cfg.searches, ...(pod.dnsConfig.searches ?? [])]),
      options: mergeOptions(cfg.options, pod.dnsConfig.options),
    };
  }
  let nameservers = cfg.nameservers;
  if (nameservers.length > MAX_NAMESERVERS) {
    nameservers = nameservers.slice(0, MAX_NAMESERVERS);
    warnings.push(`Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: ${nameservers.join(' ')}`);
  }
  return { nameservers, searches: fitSearches(cfg.searches, warnings), options: cfg.options, warnings };
}

/** resolv.conf text in the layout container runtimes write (search, nameservers, options). */
export function formatResolvConf(c: ResolvConf): string {
  const lines: string[] = [];
  if (c.searches.length) lines.push(`search ${c.searches.join(' ')}`);
  for (const ns of c.nameservers) lines.push(`nameserver ${ns}`);
  if (c.options.length) lines.push(`options ${c.options.join(' ')}`);
  return lines.length ? lines.join('\n') + '\n' : '';
}

export interface PodHostsInput {
  name: string;
  namespace: string;
  /** Pod IPs (usually one). */
  ips: string[];
  hostname?: string;
  subdomain?: string;
  hostAliases?: { ip: string; hostnames?: string[] }[];
}

/**
 * The pod's hostname as kubelet derives it: spec.hostname, else the pod name cut to 63 chars
 * (without a trailing '-' or '.').
 */
export function podHostname(pod: Pick<PodHostsInput, 'name' | 'hostname'>): string {
  if (pod.hostname) return pod.hostname;
  return pod.name.length > 63 ? pod.name.slice(0, 63).replace(/[-.]+$/, '') : pod.name;
}

/** Kubelet-managed /etc/hosts for a (non-hostNetwork) pod. */
export function podHostsFile(pod: PodHostsInput, opts: { clusterDomain: string }): string {
  let out = '# Kubernetes-managed hosts file.\n'
    + '127.0.0.1\tlocalhost\n'
    + '::1\tlocalhost ip6-localhost ip6-loopback\n'
    + 'fe00::0\tip6-localnet\n'
    + 'fe00::0\tip6-mcastprefix\n'
    + 'fe00::1\tip6-allnodes\n'
    + 'fe00::2\tip6-allrouters\n';
  const host = podHostname(pod);
  const fqdn = pod.subdomain ? `${host}.${pod.subdomain}.${pod.namespace}.svc.${opts.clusterDomain}` : '';
  for (const ip of pod.ips) out += fqdn ? `${ip}\t${fqdn}\t${host}\n` : `${ip}\t${host}\n`;
  if (pod.hostAliases?.length) {
    out += '\n# Entries added by HostAliases.\n';
    for (const a of pod.hostAliases) out += `${a.ip}\t${(a.hostnames ?? []).join('\t')}\n`;
  }
  return out;
}
