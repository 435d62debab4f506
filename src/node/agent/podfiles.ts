/**
 * The per-pod files the kubelet (and the runtime, for resolv.conf and hostname) manage and bind-mount
 * into every container: `<podDir>/etc-hosts` (/etc/hosts), `<podDir>/resolv.conf` (/etc/resolv.conf)
 * and `<podDir>/hostname` (/etc/hostname). The content rules live in `network/resolvconf.ts`; this
 * module reads the pod spec and writes the files.
 *
 * Files are rewritten in place (same inode) and only when their content changes: a container's
 * bind mount of a single file pins the inode, so a rename-over would leave running containers on
 * the old content.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { isObject, type KObject } from '../../api/types.js';
import { formatResolvConf, parseResolvConf, podDNS, podHostname, podHostsFile, type PodDNSConfig } from '../network/resolvconf.js';

export interface PodFilesOptions {
  podDir: string;
  podIP: string;
  /** All pod IPs (dual stack); defaults to [podIP]. */
  podIPs?: string[];
  clusterDNS: string[];
  clusterDomain: string;
  /** Text of the node's /etc/resolv.conf (the `Default` dnsPolicy and the search-path tail). */
  nodeResolvConf: string;
  /** Text of the node's /etc/hosts, used for hostNetwork pods as the kubelet does; managed file otherwise. */
  nodeHosts?: string;
  /** The node's hostname: a hostNetwork pod's hostname. */
  nodeHostname?: string;
}

export interface PodFiles {
  hostsPath: string;
  resolvConfPath: string;
  /** `<podDir>/hostname`: the hostname plus newline, for an /etc/hostname mount. */
  hostnamePath: string;
  /** The pod's hostname (spec.hostname, else the pod name cut to 63 chars; the FQDN with setHostnameAsFQDN). */
  hostname: string;
  /** DNS limits exceeded / ClusterFirst fallback: the kubelet records these as DNSConfigForming Warning events. */
  warnings: string[];
}

function rec(v: unknown): Record<string, unknown> {
  return isObject(v) ? v : {};
}

/** The pod's resolv.conf, /etc/hosts and hostname as text (no I/O). */
export function podFileContents(pod: KObject, opts: Omit<PodFilesOptions, 'podDir'>): { hosts: string; resolvConf: string; hostname: string; warnings: string[] } {
  const spec = rec(pod.spec);
  const namespace = pod.metadata.namespace ?? 'default';
  const name = pod.metadata.name ?? '';
  const hostNetwork = spec.hostNetwork === true;
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const dns = podDNS(
    {
      namespace,
      dnsPolicy: str(spec.dnsPolicy),
      hostNetwork,
      dnsConfig: isObject(spec.dnsConfig) ? (spec.dnsConfig as PodDNSConfig) : undefined,
    },
    { clusterDNS: opts.clusterDNS, clusterDomain: opts.clusterDomain, host: parseResolvConf(opts.nodeResolvConf) },
  );
  const hostAliases = Array.isArray(spec.hostAliases)
    ? spec.hostAliases.filter(isObject).map((a) => ({ ip: String(a.ip ?? ''), hostnames: Array.isArray(a.hostnames) ? a.hostnames.map(String) : [] }))
    : [];
  const subdomain = str(spec.subdomain);
  let hostname = podHostname({ name, hostname: str(spec.hostname) });
  let hosts: string;
  if (hostNetwork) {
    // The kubelet copies the node's hosts file for hostNetwork pods (plus their aliases).
    hostname = opts.nodeHostname ?? hostname;
    hosts = opts.nodeHosts ?? podHostsFile({ name, namespace, ips: [], hostname }, { clusterDomain: opts.clusterDomain });
    if (hostAliases.length > 0) {
      if (!hosts.endsWith('\n')) hosts += '\n';
      hosts += '\n# Entries added by HostAliases.\n' + hostAliases.map((a) => `${a.ip}\t${a.hostnames.join('\t')}\n`).join('');
    }
  } else {
    const ips = opts.podIPs ?? (opts.podIP ? [opts.podIP] : []);
    hosts = podHostsFile({ name, namespace, ips, hostname: str(spec.hostname), subdomain, hostAliases }, { clusterDomain: opts.clusterDomain });
    if (spec.setHostnameAsFQDN === true && subdomain !== undefined) hostname = `${hostname}.${subdomain}.${namespace}.svc.${opts.clusterDomain}`;
  }
  return { hosts, resolvConf: formatResolvConf(dns), hostname, warnings: dns.warnings };
}

/** Writes `file` in place when its content differs (keeps the inode bind mounts point at). */
async function writeIfChanged(file: string, content: string): Promise<void> {
  try {
    if ((await fsp.readFile(file, 'utf8')) === content) return;
  } catch {
    // missing: written below
  }
  await fsp.writeFile(file, content, { mode: 0o644 });
}

/** Writes podDir/etc-hosts, podDir/resolv.conf and podDir/hostname and returns their paths. */
export async function writePodFiles(pod: KObject, opts: PodFilesOptions): Promise<PodFiles> {
  const c = podFileContents(pod, opts);
  await fsp.mkdir(opts.podDir, { recursive: true });
  const hostsPath = path.join(opts.podDir, 'etc-hosts');
  const resolvConfPath = path.join(opts.podDir, 'resolv.conf');
  const hostnamePath = path.join(opts.podDir, 'hostname');
  await writeIfChanged(hostsPath, c.hosts);
  await writeIfChanged(resolvConfPath, c.resolvConf);
  await writeIfChanged(hostnamePath, `${c.hostname}\n`);
  return { hostsPath, resolvConfPath, hostnamePath, hostname: c.hostname, warnings: c.warnings };
}
