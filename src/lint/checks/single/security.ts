/**
 * Container security-context checks (kube-linter's default-enabled set plus kube-score's
 * container-security-context-*): run as non-root, no privileged mode, no privilege escalation,
 * a read-only root filesystem, and no dangerous capabilities. Pod-level settings are inherited
 * where Kubernetes inherits them (runAsUser, runAsGroup, runAsNonRoot).
 */
import { arr, rec, str } from '../../objects.js';
import type { ContainerRef } from '../../objects.js';
import type { Check, FieldPath, PodTemplateRef, Problem } from '../../types.js';
import { POD_KINDS, containerLabel, perContainer } from './util.js';

/** The container's securityContext path, or the container's when it has none. */
function scPath(c: ContainerRef, field?: string): FieldPath {
  const sc = rec(c.container['securityContext']);
  if (!sc) return c.path;
  return field && field in sc ? [...c.path, 'securityContext', field] : [...c.path, 'securityContext'];
}

/** A pod-or-container securityContext field, the container's value winning (as the kubelet does). */
function effective(c: ContainerRef, t: PodTemplateRef, field: string): { value: unknown; path?: FieldPath } {
  const sc = rec(c.container['securityContext']);
  if (sc && sc[field] !== undefined && sc[field] !== null) return { value: sc[field], path: [...c.path, 'securityContext', field] };
  const psc = rec(t.spec['securityContext']);
  if (psc && psc[field] !== undefined && psc[field] !== null) return { value: psc[field], path: [...t.specPath, 'securityContext', field] };
  return { value: undefined };
}

export const runAsNonRoot: Check = {
  id: 'run-as-non-root',
  severity: 'warning',
  description: 'Containers should run as a non-root user: set runAsNonRoot: true (and a non-zero runAsUser) in the pod or container securityContext.',
  kinds: POD_KINDS,
  scope: 'object',
  admission: true,
  origin: {
    kubeScore: ['container-security-context-user-group-id'],
    kubeLinter: ['run-as-non-root'],
    polaris: ['runAsRootAllowed'],
    article: 'network and security',
  },
  run(obj) {
    return perContainer<Problem>(obj, (c, t) => {
      const out: Problem[] = [];
      const group = effective(c, t, 'runAsGroup');
      if (group.value === 0) {
        out.push({
          message: `${containerLabel(c)}: runs with runAsGroup 0 (root group); set runAsGroup to a non-zero group id`,
          path: group.path!, container: c.name,
        });
      }
      const user = effective(c, t, 'runAsUser');
      if (typeof user.value === 'number' && user.value > 0) return out;
      const nonRoot = effective(c, t, 'runAsNonRoot');
      if (nonRoot.value === true) {
        if (user.value === 0) {
          out.push({
            message: `${containerLabel(c)}: runAsNonRoot is true but runAsUser is 0, so the container cannot start; set runAsUser to a non-zero user id`,
            path: user.path!, container: c.name, severity: 'error',
          });
        }
        return out;
      }
      out.push({
        message: user.value === 0
          ? `${containerLabel(c)}: runs as root (runAsUser 0); set runAsUser to a non-zero user id and runAsNonRoot: true`
          : `${containerLabel(c)}: may run as root; set securityContext.runAsNonRoot: true (and runAsUser to a non-zero id)`,
        path: user.value === 0 ? user.path! : scPath(c, 'runAsNonRoot'), container: c.name,
      });
      return out;
    });
  },
};

export const privilegedContainer: Check = {
  id: 'privileged-container',
  severity: 'error',
  description: 'Containers must not run privileged: a privileged container has almost full access to the host.',
  kinds: POD_KINDS,
  scope: 'object',
  admission: true,
  origin: {
    kubeScore: ['container-security-context-privileged'],
    kubeLinter: ['privileged-container'],
    polaris: ['runAsPrivileged'],
    article: 'network and security',
  },
  run(obj) {
    return perContainer<Problem>(obj, (c) => rec(c.container['securityContext'])?.['privileged'] === true ? [{
      message: `${containerLabel(c)}: runs privileged, with nearly full access to the host; remove securityContext.privileged or set it to false`,
      path: [...c.path, 'securityContext', 'privileged'], container: c.name,
    }] : []);
  },
};

export const privilegeEscalation: Check = {
  id: 'privilege-escalation',
  severity: 'warning',
  description: 'Containers must not allow privilege escalation (allowPrivilegeEscalation: true or the SYS_ADMIN capability).',
  kinds: POD_KINDS,
  scope: 'object',
  admission: true,
  origin: { kubeLinter: ['privilege-escalation-container'], polaris: ['privilegeEscalationAllowed'], article: 'network and security' },
  run(obj) {
    return perContainer<Problem>(obj, (c) => {
      const sc = rec(c.container['securityContext']);
      if (!sc) return [];
      if (sc['allowPrivilegeEscalation'] === true) {
        return [{
          message: `${containerLabel(c)}: allowPrivilegeEscalation is true, so a process can gain more privileges than its parent; set it to false`,
          path: [...c.path, 'securityContext', 'allowPrivilegeEscalation'], container: c.name,
        }];
      }
      const add = arr(rec(sc['capabilities'])?.['add']);
      const i = add.findIndex((x) => typeof x === 'string' && normCap(x) === 'SYS_ADMIN');
      if (i >= 0) {
        return [{
          message: `${containerLabel(c)}: the SYS_ADMIN capability allows privilege escalation; remove it from securityContext.capabilities.add`,
          path: [...c.path, 'securityContext', 'capabilities', 'add', i], container: c.name,
        }];
      }
      return [];
    });
  },
};

export const readOnlyRootFs: Check = {
  id: 'read-only-root-fs',
  severity: 'warning',
  description: 'Containers should run with a read-only root filesystem (securityContext.readOnlyRootFilesystem: true), writing only to mounted volumes.',
  kinds: POD_KINDS,
  scope: 'object',
  admission: true,
  origin: {
    kubeScore: ['container-security-context-readonlyrootfilesystem'],
    kubeLinter: ['no-read-only-root-fs'],
    polaris: ['notReadOnlyRootFilesystem'],
    article: 'network and security',
  },
  run(obj) {
    return perContainer<Problem>(obj, (c) => rec(c.container['securityContext'])?.['readOnlyRootFilesystem'] === true ? [] : [{
      message: `${containerLabel(c)}: the root filesystem is writable; set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where it must write`,
      path: scPath(c, 'readOnlyRootFilesystem'), container: c.name,
    }]);
  },
};

/** Capabilities as Kubernetes compares them: upper case, without the CAP_ prefix. */
function normCap(s: string): string {
  return s.toUpperCase().replace(/^CAP_/, '');
}

/** Capabilities that give (close to) host control; SYS_ADMIN is reported by privilege-escalation. */
const DANGEROUS_CAPS = ['ALL', 'NET_ADMIN', 'SYS_MODULE', 'SYS_PTRACE', 'SYS_RAWIO', 'SYS_BOOT', 'SYS_TIME', 'DAC_READ_SEARCH', 'BPF', 'PERFMON'];

export const dangerousCapabilities: Check = {
  id: 'dangerous-capabilities',
  severity: 'warning',
  description: 'Containers should not add capabilities that give control over the host or other containers (ALL, NET_ADMIN, SYS_MODULE, SYS_PTRACE, ...).',
  kinds: POD_KINDS,
  scope: 'object',
  admission: true,
  origin: { polaris: ['dangerousCapabilities'], article: 'network and security' },
  run(obj) {
    return perContainer<Problem>(obj, (c) => {
      const add = arr(rec(rec(c.container['securityContext'])?.['capabilities'])?.['add']);
      const out: Problem[] = [];
      add.forEach((x, i) => {
        if (typeof x !== 'string' || !DANGEROUS_CAPS.includes(normCap(x))) return;
        out.push({
          message: `${containerLabel(c)}: adds the capability ${x}; remove it from securityContext.capabilities.add unless the workload really needs it`,
          path: [...c.path, 'securityContext', 'capabilities', 'add', i], container: c.name,
        });
      });
      return out;
    });
  },
};

/**
 * kube-linter only looks at containers that set `capabilities` at all; so do we, to stay quiet
 * about containers with no securityContext (run-as-non-root and read-only-root-fs cover those).
 */
export const dropNetRaw: Check = {
  id: 'drop-net-raw-capability',
  severity: 'info',
  description: 'Containers that configure capabilities should drop NET_RAW (or ALL), which allows crafting raw packets.',
  kinds: POD_KINDS,
  scope: 'object',
  admission: true,
  origin: { kubeLinter: ['drop-net-raw-capability'], polaris: ['insecureCapabilities'] },
  run(obj) {
    return perContainer<Problem>(obj, (c) => {
      const caps = rec(rec(c.container['securityContext'])?.['capabilities']);
      if (!caps) return [];
      const drop = arr(caps['drop']).map((x) => (typeof x === 'string' ? normCap(x) : ''));
      if (drop.includes('NET_RAW') || drop.includes('ALL')) return [];
      return [{
        message: `${containerLabel(c)}: does not drop the NET_RAW capability; add ALL (or NET_RAW) to securityContext.capabilities.drop`,
        path: 'drop' in caps ? [...c.path, 'securityContext', 'capabilities', 'drop'] : [...c.path, 'securityContext', 'capabilities'],
        container: c.name,
      }];
    });
  },
};

/** kube-score's UID/GID > 10000 rule: opt-in (run-as-non-root already covers root). */
export const highUidGid: Check = {
  id: 'container-high-uid-gid',
  severity: 'info',
  description: 'Containers should run with runAsUser and runAsGroup of at least 10000, so their ids never collide with host users (opt-in).',
  kinds: POD_KINDS,
  scope: 'object',
  admission: true,
  origin: { kubeScore: ['container-security-context-user-group-id'] },
  run(obj) {
    return perContainer<Problem>(obj, (c, t) => {
      const out: Problem[] = [];
      for (const field of ['runAsUser', 'runAsGroup']) {
        const v = effective(c, t, field);
        if (typeof v.value === 'number' && v.value >= 10000) continue;
        out.push({
          message: `${containerLabel(c)}: ${field} is ${typeof v.value === 'number' ? v.value : 'not set'}; set securityContext.${field} to 10000 or more`,
          path: v.path ?? scPath(c), container: c.name,
        });
      }
      return out;
    });
  },
};

/** Container ports exposing SSH (kube-linter ssh-port). */
export const sshPort: Check = {
  id: 'ssh-port',
  severity: 'info',
  description: 'Containers should not expose TCP port 22: an SSH server in a container is an unusual and risky way in.',
  kinds: POD_KINDS,
  scope: 'object',
  admission: true,
  origin: { kubeLinter: ['ssh-port'] },
  run(obj) {
    return perContainer<Problem>(obj, (c) => {
      const out: Problem[] = [];
      arr(c.container['ports']).forEach((p, i) => {
        const port = rec(p);
        if (!port || port['containerPort'] !== 22) return;
        const proto = str(port['protocol']) ?? 'TCP';
        if (proto !== 'TCP') return;
        out.push({
          message: `${containerLabel(c)}: exposes port 22 (SSH); remove it unless this really is a vetted SSH server`,
          path: [...c.path, 'ports', i, 'containerPort'], container: c.name,
        });
      });
      return out;
    });
  },
};

export const SECURITY_CHECKS: readonly Check[] = [
  runAsNonRoot, privilegedContainer, privilegeEscalation, readOnlyRootFs, dangerousCapabilities, dropNetRaw, sshPort,
];
