/**
 * Pod-level isolation checks: sharing the host's namespaces, mounting sensitive host paths,
 * unsafe sysctls, and the deprecated serviceAccount field.
 */
import { posix } from 'node:path';
import { arr, podTemplateOf, rec, str } from '../../objects.js';
import type { Check, KObject, Problem } from '../../types.js';
import { POD_KINDS, containerLabel, perContainer } from './util.js';

function hostNamespaceCheck(field: 'hostNetwork' | 'hostPID' | 'hostIPC', id: string, what: string, polaris: string): Check {
  return {
    id,
    severity: 'warning',
    description: `Pods should not share the host's ${what} namespace (${field}: true).`,
    kinds: POD_KINDS,
    scope: 'object',
    admission: true,
    origin: { kubeLinter: [id], polaris: [polaris], article: 'network and security' },
    run(obj: KObject): Problem[] {
      const t = podTemplateOf(obj);
      if (!t || t.spec[field] !== true) return [];
      return [{
        message: `the pod shares the host's ${what} namespace; remove ${field}: true unless it is a node agent that needs it`,
        path: [...t.specPath, field],
      }];
    },
  };
}

export const hostNetwork = hostNamespaceCheck('hostNetwork', 'host-network', 'network', 'hostNetworkSet');
export const hostPID = hostNamespaceCheck('hostPID', 'host-pid', 'process', 'hostPIDSet');
export const hostIPC = hostNamespaceCheck('hostIPC', 'host-ipc', 'IPC', 'hostIPCSet');

/** Host directories whose mount gives control of the node (kube-linter's list plus the Docker socket). */
const SENSITIVE_DIRS = ['/', '/boot', '/dev', '/etc', '/lib', '/proc', '/sys', '/usr', '/var/run/docker.sock', '/run/docker.sock'];
/** Directories that hold the container runtime's socket or the kubelet's credentials: mounting them is mounting those. */
const RUNTIME_DIRS = ['/var', '/run', '/var/run', '/var/run/docker', '/run/docker', '/var/run/containerd', '/run/containerd', '/var/run/crio', '/run/crio', '/var/lib/kubelet', '/var/lib/docker', '/var/lib/containerd'];

export const sensitiveHostMounts: Check = {
  id: 'sensitive-host-mounts',
  severity: 'error',
  description: 'Pods must not mount sensitive host directories (/, /etc, /proc, /sys, ...), the container runtime socket or a directory holding it (/var/run, /run/containerd, ...) or the kubelet\'s state as hostPath volumes.',
  kinds: POD_KINDS,
  scope: 'object',
  admission: true,
  origin: { kubeLinter: ['sensitive-host-mounts', 'docker-sock'], polaris: ['hostPathSet'], article: 'network and security' },
  run(obj) {
    const t = podTemplateOf(obj);
    if (!t) return [];
    const out: Problem[] = [];
    arr(t.spec['volumes']).forEach((v, i) => {
      const vol = rec(v);
      const p = str(rec(vol?.['hostPath'])?.['path']);
      if (p === undefined) return;
      const norm = posix.normalize(p).replace(/(.)\/+$/, '$1');
      const sock = /(^|\/)(docker|containerd|crio)\.sock$/.test(norm);
      if (!sock && !SENSITIVE_DIRS.includes(norm) && !RUNTIME_DIRS.includes(norm)) return;
      out.push({
        message: `volume ${str(vol?.['name']) ?? `#${i}`}: mounts the host path ${p}, which gives control of the node; remove this hostPath volume`,
        path: [...t.specPath, 'volumes', i, 'hostPath', 'path'],
      });
    });
    return out;
  },
};

/** Sysctls Kubernetes deems safe (namespaced and isolated); others need kubelet opt-in. */
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range',
  'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes',
]);
const UNSAFE_PREFIXES = ['kernel.msg', 'kernel.sem', 'kernel.shm', 'fs.mqueue.', 'net.'];

/**
 * A sysctl name in the dotted form: Kubernetes also accepts `/` as the separator, and then a `.`
 * inside a component (e.g. an interface eno2.100) is written as `.` too: the two are swapped, as
 * the kubelet does.
 */
function dotted(name: string): string {
  const slash = name.indexOf('/');
  const dot = name.indexOf('.');
  if (slash < 0 || (dot >= 0 && dot < slash)) return name;
  return name.replace(/[./]/g, (c) => (c === '/' ? '.' : '/'));
}

export const unsafeSysctls: Check = {
  id: 'unsafe-sysctls',
  severity: 'warning',
  description: 'Pods should not set unsafe sysctls (outside Kubernetes\' safe set), which can affect other pods on the node or stop the pod from starting.',
  kinds: POD_KINDS,
  scope: 'object',
  admission: true,
  origin: { kubeLinter: ['unsafe-sysctls'] },
  run(obj) {
    const t = podTemplateOf(obj);
    if (!t) return [];
    const out: Problem[] = [];
    arr(rec(t.spec['securityContext'])?.['sysctls']).forEach((s, i) => {
      const written = str(rec(s)?.['name']);
      const name = written && dotted(written);
      if (!name || SAFE_SYSCTLS.has(name) || !UNSAFE_PREFIXES.some((p) => name.startsWith(p))) return;
      out.push({
        message: `sysctl ${written} is unsafe (it needs the kubelet's --allowed-unsafe-sysctls and may affect other pods); remove it or use a node-level setting`,
        path: [...t.specPath, 'securityContext', 'sysctls', i, 'name'],
      });
    });
    return out;
  },
};

export const deprecatedServiceAccountField: Check = {
  id: 'deprecated-service-account-field',
  severity: 'info',
  description: 'Pods should use serviceAccountName; the serviceAccount field is a deprecated alias.',
  kinds: POD_KINDS,
  scope: 'object',
  admission: true,
  origin: { kubeLinter: ['deprecated-service-account-field'] },
  run(obj) {
    const t = podTemplateOf(obj);
    if (!t || t.spec['serviceAccount'] === undefined) return [];
    const sa = str(t.spec['serviceAccount']) ?? '';
    const name = str(t.spec['serviceAccountName']);
    if (sa === '' && name === undefined) return [];
    const mismatch = name !== undefined && name !== sa;
    return [{
      message: mismatch
        ? `serviceAccount (${sa}) differs from serviceAccountName (${name}); remove the deprecated serviceAccount field`
        : `serviceAccount is deprecated; rename it to serviceAccountName: ${sa}`,
      path: [...t.specPath, 'serviceAccount'],
      ...(mismatch ? { severity: 'warning' as const } : {}),
    }];
  },
};

export const hostPort: Check = {
  id: 'host-port',
  severity: 'info',
  description: 'Containers should not bind a hostPort: it ties each pod to a node port, limits scheduling to one replica per node and bypasses Services.',
  kinds: POD_KINDS,
  scope: 'object',
  admission: true,
  origin: { polaris: ['hostPortSet'], article: 'network and security' },
  run(obj) {
    return perContainer<Problem>(obj, (c) => {
      const out: Problem[] = [];
      arr(c.container['ports']).forEach((p, i) => {
        const hp = rec(p)?.['hostPort'];
        if (typeof hp !== 'number' || hp === 0) return;
        out.push({
          message: `${containerLabel(c)}: binds hostPort ${hp}; remove it and expose the port through a Service instead`,
          path: [...c.path, 'ports', i, 'hostPort'], container: c.name,
        });
      });
      return out;
    });
  },
};

export const HOST_CHECKS: readonly Check[] = [hostNetwork, hostPID, hostIPC, hostPort, sensitiveHostMounts, unsafeSysctls, deprecatedServiceAccountField];
