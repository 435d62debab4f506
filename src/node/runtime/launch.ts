/**
 * The isolated container launcher, computed as a pure function (compute, then apply).
 *
 * Why a shell wrapper: node cannot call setns/unshare/mount itself, but util-linux can, and each of
 * `nsenter`, `unshare`, `chroot` and the final `exec "$@"` replaces the process image instead of
 * forking. So the pid node gets from spawn() is the container's main process from start to end:
 * signals, /proc/<pid> checks and `nsenter -t <pid>` for exec all address the container itself.
 *
 * Order inside the wrapper (argv = nsenter --net=P -- unshare -m -u --propagation private -- sh -c SCRIPT):
 *   1. join the container's cgroups (everything after is accounted and limited),
 *   2. set the hostname (own UTS namespace),
 *   3. mount a private tmpfs "scratch" and create missing mount targets WITHOUT touching the host:
 *      the nearest existing ancestor directory is covered by an overlayfs whose upper layer lives in
 *      the scratch tmpfs; when that ancestor is `/`, an overlay of `/` is mounted inside the scratch,
 *      the root mount's direct sub-mounts (/proc, /dev, /sys, ...) are rbound into it and the
 *      container is chrooted there at the end,
 *   4. bind every mount (read-only ones are remounted `ro`),
 *   5. report readiness on an fd (optional), cd to the working dir and `exec "$@"`.
 * Known limits: an overlaid ancestor hides mounts below it (except in the `/` case, where the root
 * mount's direct sub-mounts are rbound back); paths used in overlay options must not contain `,` `:`
 * `"` or `\` (rejected with an error).
 */

/** How a path looks on the host (the new mount namespace starts as a copy of the agent's). */
export type PathKind = 'dir' | 'file' | 'none';

/** Absolute paths of the tools the wrapper runs (the container's PATH must not matter). */
export interface LaunchTools {
  sh: string;
  nsenter: string;
  unshare: string;
  mount: string;
  hostname: string;
  mkdir: string;
  chroot: string;
}

export const DEFAULT_TOOLS: LaunchTools = {
  sh: '/bin/sh',
  nsenter: '/usr/bin/nsenter',
  unshare: '/usr/bin/unshare',
  mount: '/usr/bin/mount',
  hostname: '/usr/bin/hostname',
  mkdir: '/bin/mkdir',
  chroot: '/usr/sbin/chroot',
};

export interface LaunchMount {
  containerPath: string;
  hostPath: string;
  readonly?: boolean;
  /** Whether hostPath is a directory (decides mkdir vs. creating an empty file as the target). */
  isDir: boolean;
}

export interface LaunchSpec {
  netnsPath?: string;
  hostname?: string;
  mounts: LaunchMount[];
  /** cgroup directories the process joins (its pid is written to `<dir>/cgroup.procs`). */
  cgroupDirs: string[];
  workingDir: string;
  argv: string[];
  /** Host directory (must exist) where the wrapper mounts its private scratch tmpfs. */
  scratchDir: string;
  /** Host view of a path; only consulted for mount targets and their ancestors. */
  lookup: (path: string) => PathKind;
  /** Mount points whose parent is the root mount (from /proc/self/mountinfo); used only in the `/` case. */
  rootSubmounts: string[];
  tools?: LaunchTools;
  /**
   * When set, the wrapper writes `ready` to this fd (then closes it) once the namespaces and mounts
   * are in place, just before exec: the runtime waits for it so an exec right after start never
   * sees a half-built mount namespace.
   */
  readyFd?: number;
}

/** Quotes a string for POSIX sh: single quotes, with each `'` written as `'\''`. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function normalizeAbs(p: string): string {
  if (!p.startsWith('/')) throw new Error(`container path "${p}" must be absolute`);
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') throw new Error(`container path "${p}" must not contain ".."`);
    parts.push(seg);
  }
  return '/' + parts.join('/');
}

function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

function isUnder(p: string, root: string): boolean {
  return root === '/' || p === root || p.startsWith(root + '/');
}

const OVERLAY_UNSAFE = /[,:"\\]/;

function overlaySafe(p: string): string {
  if (OVERLAY_UNSAFE.test(p)) throw new Error(`path "${p}" cannot be used in an overlay mount (contains , : " or \\)`);
  return p;
}

/** The mount plan: which ancestors get an overlay, and what is created/bound where. */
export interface MountPlan {
  /** Existing host directories to cover with a tmpfs-backed overlay (never `/`; see `rootOverlay`). */
  overlays: string[];
  /** True when some target needs a new entry directly or indirectly under a missing top-level dir. */
  rootOverlay: boolean;
  /** In order: create the target (if missing) then bind. Paths are container paths. */
  binds: Array<{ target: string; source: string; readonly: boolean; create: 'dir' | 'file' | 'none' }>;
}

/** Pure: decides overlays and bind targets from the mounts and the host's view of paths. */
export function planMounts(mounts: LaunchMount[], lookup: (p: string) => PathKind): MountPlan {
  const norm = mounts.map((m) => ({ ...m, containerPath: normalizeAbs(m.containerPath) }));
  // Parents first, so a directory mount is in place before a file is bound inside it.
  norm.sort((a, b) => a.containerPath.split('/').length - b.containerPath.split('/').length);
  const ancestors = new Set<string>();
  let rootOverlay = false;
  const binds: MountPlan['binds'] = [];
  const boundDirs: string[] = [];
  for (const m of norm) {
    const target = m.containerPath;
    if (target === '/') throw new Error('cannot mount over /');
    const kind = lookup(target);
    // A target inside a directory we bind ourselves is created in the bound source, not the host view.
    const insideBound = boundDirs.some((d) => isUnder(target, d) && target !== d);
    let create: 'dir' | 'file' | 'none' = 'none';
    if (kind === 'none' || insideBound) {
      create = m.isDir ? 'dir' : 'file';
      if (!insideBound) {
        let a = parentOf(target);
        while (a !== '/' && lookup(a) !== 'dir') a = parentOf(a);
        if (a === '/') rootOverlay = true;
        else ancestors.add(a);
      }
    } else if ((kind === 'dir') !== m.isDir) {
      throw new Error(`cannot mount ${m.isDir ? 'directory' : 'file'} "${m.hostPath}" over existing ${kind} "${target}"`);
    }
    binds.push({ target, source: m.hostPath, readonly: !!m.readonly, create });
    if (m.isDir) boundDirs.push(target);
  }
  // Keep only outermost ancestors; with a root overlay everything is writable already.
  const sorted = [...ancestors].sort((a, b) => a.length - b.length);
  const overlays: string[] = [];
  if (!rootOverlay) {
    for (const a of sorted) if (!overlays.some((o) => isUnder(a, o))) overlays.push(a);
  }
  return { overlays, rootOverlay, binds };
}

/** Pure: the wrapper's shell script (run as `sh -c SCRIPT kubelite-init ARGV...`). */
export function buildLaunchScript(spec: LaunchSpec): string {
  const t = spec.tools ?? DEFAULT_TOOLS;
  const q = shQuote;
  const plan = planMounts(spec.mounts, spec.lookup);
  const lines: string[] = ['set -e'];
  for (const d of spec.cgroupDirs) lines.push(`echo $$ > ${q(`${d}/cgroup.procs`)}`);
  if (spec.hostname) lines.push(`${q(t.hostname)} ${q(spec.hostname)}`);
  const needScratch = plan.overlays.length > 0 || plan.rootOverlay;
  const S = spec.scratchDir;
  if (needScratch) {
    lines.push(`${q(t.mount)} -t tmpfs -o mode=0700 kubelite-scratch ${q(S)}`);
  }
  plan.overlays.forEach((dir, i) => {
    const u = `${S}/o${i}/u`;
    const w = `${S}/o${i}/w`;
    lines.push(`${q(t.mkdir)} -p ${q(u)} ${q(w)}`);
    const opts = `lowerdir=${overlaySafe(dir)},upperdir=${overlaySafe(u)},workdir=${overlaySafe(w)}`;
    lines.push(`${q(t.mount)} -t overlay kubelite-overlay -o ${q(opts)} ${q(dir)}`);
  });
  let R = '';
  if (plan.rootOverlay) {
    R = `${S}/root/m`;
    lines.push(`${q(t.mkdir)} -p ${q(`${S}/root/u`)} ${q(`${S}/root/w`)} ${q(R)}`);
    const opts = `lowerdir=/,upperdir=${overlaySafe(`${S}/root/u`)},workdir=${overlaySafe(`${S}/root/w`)}`;
    lines.push(`${q(t.mount)} -t overlay kubelite-overlay -o ${q(opts)} ${q(R)}`);
    for (const m of spec.rootSubmounts) {
      if (m === '/' || isUnder(S, m) || isUnder(m, S)) continue;
      lines.push(`if [ -d ${q(m)} ]; then ${q(t.mkdir)} -p ${q(R + m)}; else : >> ${q(R + m)}; fi`);
      lines.push(`${q(t.mount)} --rbind ${q(m)} ${q(R + m)}`);
    }
  }
  for (const b of plan.binds) {
    const dst = R + b.target;
    if (b.create === 'dir') lines.push(`${q(t.mkdir)} -p ${q(dst)}`);
    if (b.create === 'file') lines.push(`${q(t.mkdir)} -p ${q(R + parentOf(b.target))}`, `[ -e ${q(dst)} ] || : > ${q(dst)}`);
    lines.push(`${q(t.mount)} --bind ${q(b.source)} ${q(dst)}`);
    if (b.readonly) lines.push(`${q(t.mount)} -o remount,bind,ro ${q(dst)}`);
  }
  if (spec.readyFd !== undefined) lines.push(`echo ready >&${spec.readyFd}`, `exec ${spec.readyFd}>&-`);
  if (plan.rootOverlay) {
    lines.push(`exec ${q(t.chroot)} ${q(R)} ${q(t.sh)} -c 'cd -- "$1" && shift && exec "$@"' kubelite-init ${q(spec.workingDir)} "$@"`);
  } else {
    lines.push(`cd -- ${q(spec.workingDir)}`, 'exec "$@"');
  }
  return lines.join('\n');
}

/** Pure: the full argv to spawn for an isolated container (argv[0] is an absolute tool path). */
export function buildLaunchArgv(spec: LaunchSpec): string[] {
  const t = spec.tools ?? DEFAULT_TOOLS;
  if (!spec.argv.length) throw new Error('container command must not be empty');
  const inner = [t.unshare, '-m', '-u', '--propagation', 'private', '--', t.sh, '-c', buildLaunchScript(spec), 'kubelite-init', ...spec.argv];
  return spec.netnsPath ? [t.nsenter, `--net=${spec.netnsPath}`, '--', ...inner] : inner;
}

export interface ExecLaunchSpec {
  /** Pid of the container's main process (its namespaces and root are entered). */
  pid: number;
  cgroupDirs: string[];
  workingDir: string;
  cmd: string[];
  /** Wrap in util-linux `script` to get a pty (stdout and stderr merge). */
  tty: boolean;
  tools?: LaunchTools & { script?: string };
}

/**
 * Pure: argv for `exec` inside a running isolated container: join its cgroups, enter its net,
 * mount and UTS namespaces, its root and cwd (`-r -w`, which cover the chroot of the `/` overlay case),
 * cd to the working dir, run the command (in a pty via `script -qfec` when tty is set).
 */
export function buildExecArgv(spec: ExecLaunchSpec): string[] {
  const t = spec.tools ?? DEFAULT_TOOLS;
  if (!spec.cmd.length) throw new Error('exec command must not be empty');
  const join = spec.cgroupDirs.map((d) => `echo $$ > ${shQuote(`${d}/cgroup.procs`)}`).join(' && ');
  const script = `${join ? join + ' && ' : ''}exec "$@"`;
  const inner = 'cd -- "$1" || exit 126; shift; exec "$@"';
  return [t.sh, '-c', script, 'kubelite-exec', t.nsenter, '-t', String(spec.pid), '-n', '-m', '-u', '-r', '-w', '--',
    t.sh, '-c', inner, 'kubelite-exec', spec.workingDir, ...ttyWrap(spec.cmd, spec.tty, spec.tools?.script)];
}

/** Pure: the command itself, or `script -qfec "<quoted cmd>" /dev/null` to run it in a pty. */
export function ttyWrap(cmd: string[], tty: boolean, script = '/usr/bin/script'): string[] {
  if (!tty) return cmd;
  return [script, '-qfec', `exec ${cmd.map(shQuote).join(' ')}`, '/dev/null'];
}

/**
 * Pure: mount points whose parent is the root mount, from /proc/self/mountinfo text (the last
 * mount on `/` wins, as the kernel stacks them). Used to rebuild the view in the `/` overlay case.
 */
export function rootSubmountsOf(mountinfo: string): string[] {
  const rows = mountinfo
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const f = l.split(' ');
      return { id: f[0] ?? '', parent: f[1] ?? '', mountPoint: (f[4] ?? '').replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))) };
    });
  const root = rows.filter((r) => r.mountPoint === '/').pop();
  if (!root) return [];
  const out: string[] = [];
  for (const r of rows) if (r.parent === root.id && r.mountPoint !== '/' && !out.includes(r.mountPoint)) out.push(r.mountPoint);
  return out;
}
