import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_TOOLS,
  buildExecArgv,
  buildLaunchArgv,
  buildLaunchScript,
  planMounts,
  rootSubmountsOf,
  shQuote,
  ttyWrap,
  type LaunchMount,
  type LaunchSpec,
  type PathKind,
} from './launch.js';

const NASTY = ['plain', 'a b', "it's", 'say "hi"', '$HOME', '`id`', 'back\\slash', 'new\nline', '', "'", "''"];

describe('shQuote', () => {
  for (const s of NASTY) {
    it(`round-trips ${JSON.stringify(s)} through /bin/sh`, () => {
      assert.equal(execFileSync('/bin/sh', ['-c', `printf %s ${shQuote(s)}`]).toString(), s);
    });
  }
});

function lookupOf(entries: Record<string, PathKind>): (p: string) => PathKind {
  return (p) => entries[p] ?? 'none';
}

const HOST: Record<string, PathKind> = { '/': 'dir', '/etc': 'dir', '/etc/ssl': 'dir', '/etc/hosts': 'file', '/var': 'dir', '/var/lib': 'dir' };

describe('planMounts', () => {
  const m = (containerPath: string, isDir: boolean, readonly = false): LaunchMount => ({ containerPath, hostPath: `/src${containerPath}`, isDir, readonly });
  const table: Array<{ name: string; mounts: LaunchMount[]; overlays: string[]; root: boolean; binds: string[] }> = [
    { name: 'existing file target', mounts: [m('/etc/hosts', false)], overlays: [], root: false, binds: ['/etc/hosts:none'] },
    { name: 'existing dir target, readonly', mounts: [m('/etc/ssl', true, true)], overlays: [], root: false, binds: ['/etc/ssl:none:ro'] },
    { name: 'missing dir under /etc', mounts: [m('/etc/config', true)], overlays: ['/etc'], root: false, binds: ['/etc/config:dir'] },
    { name: 'missing deep file', mounts: [m('/var/lib/app/conf/x.conf', false)], overlays: ['/var/lib'], root: false, binds: ['/var/lib/app/conf/x.conf:file'] },
    {
      name: 'nested ancestors collapse to the outermost',
      mounts: [m('/etc/ssl/new/a', false), m('/etc/config', true)],
      overlays: ['/etc'],
      root: false,
      binds: ['/etc/config:dir', '/etc/ssl/new/a:file'],
    },
    { name: 'missing top-level dir needs the root overlay', mounts: [m('/data/file', false), m('/etc/config', true)], overlays: [], root: true, binds: ['/data/file:file', '/etc/config:dir'] },
    {
      name: 'file inside a bound dir is created there, no overlay',
      mounts: [m('/etc/ssl/extra.pem', false), m('/etc/ssl', true)],
      overlays: [],
      root: false,
      binds: ['/etc/ssl:none', '/etc/ssl/extra.pem:file'],
    },
    { name: 'path normalised', mounts: [m('//etc//config/', true)], overlays: ['/etc'], root: false, binds: ['/etc/config:dir'] },
  ];
  for (const c of table) {
    it(c.name, () => {
      const plan = planMounts(c.mounts, lookupOf(HOST));
      assert.deepEqual(plan.overlays, c.overlays);
      assert.equal(plan.rootOverlay, c.root);
      assert.deepEqual(plan.binds.map((b) => `${b.target}:${b.create}${b.readonly ? ':ro' : ''}`), c.binds);
    });
  }
  const bad: Array<[string, LaunchMount[], RegExp]> = [
    ['relative path', [m('etc/x', false)], /absolute/],
    ['dot-dot', [m('/etc/../x', false)], /\.\./],
    ['mount over /', [m('/', true)], /over \//],
    ['file over an existing dir', [m('/etc/ssl', false)], /existing dir/],
    ['dir over an existing file', [m('/etc/hosts', true)], /existing file/],
  ];
  for (const [name, mounts, re] of bad) it(`rejects ${name}`, () => assert.throws(() => planMounts(mounts, lookupOf(HOST)), re));
});

describe('buildLaunchArgv', () => {
  const base: LaunchSpec = {
    netnsPath: '/run/netns/pod-1',
    hostname: 'web-0',
    mounts: [
      { containerPath: '/etc/hosts', hostPath: '/k/hosts', isDir: false },
      { containerPath: '/etc/config', hostPath: '/k/cm', isDir: true, readonly: true },
    ],
    cgroupDirs: ['/cg/m/kubelite/s/c', '/cg/c/kubelite/s/c'],
    workingDir: '/app',
    argv: ['/bin/app', '--flag'],
    scratchDir: '/k/s/c.scratch',
    lookup: lookupOf(HOST),
    rootSubmounts: ['/proc', '/dev'],
  };

  it('golden: netns, hostname, overlay for a new dir, binds, cgroups', () => {
    const argv = buildLaunchArgv(base);
    assert.deepEqual(argv.slice(0, 11), [
      '/usr/bin/nsenter', '--net=/run/netns/pod-1', '--',
      '/usr/bin/unshare', '-m', '-u', '--propagation', 'private', '--',
      '/bin/sh', '-c',
    ]);
    assert.deepEqual(argv.slice(12), ['kubelite-init', '/bin/app', '--flag']);
    assert.equal(
      argv[11],
      [
        'set -e',
        "echo $$ > '/cg/m/kubelite/s/c/cgroup.procs'",
        "echo $$ > '/cg/c/kubelite/s/c/cgroup.procs'",
        "'/usr/bin/hostname' 'web-0'",
        "'/usr/bin/mount' -t tmpfs -o mode=0700 kubelite-scratch '/k/s/c.scratch'",
        "'/bin/mkdir' -p '/k/s/c.scratch/o0/u' '/k/s/c.scratch/o0/w'",
        "'/usr/bin/mount' -t overlay kubelite-overlay -o 'lowerdir=/etc,upperdir=/k/s/c.scratch/o0/u,workdir=/k/s/c.scratch/o0/w' '/etc'",
        "'/usr/bin/mount' --bind '/k/hosts' '/etc/hosts'",
        "'/bin/mkdir' -p '/etc/config'",
        "'/usr/bin/mount' --bind '/k/cm' '/etc/config'",
        "'/usr/bin/mount' -o remount,bind,ro '/etc/config'",
        "cd -- '/app'",
        'exec "$@"',
      ].join('\n'),
    );
  });

  it('golden: the / case overlays / elsewhere, rbinds sub-mounts and chroots', () => {
    const script = buildLaunchScript({ ...base, netnsPath: undefined, hostname: undefined, cgroupDirs: [], mounts: [{ containerPath: '/data/f', hostPath: '/k/f', isDir: false }] });
    assert.equal(
      script,
      [
        'set -e',
        "'/usr/bin/mount' -t tmpfs -o mode=0700 kubelite-scratch '/k/s/c.scratch'",
        "'/bin/mkdir' -p '/k/s/c.scratch/root/u' '/k/s/c.scratch/root/w' '/k/s/c.scratch/root/m'",
        "'/usr/bin/mount' -t overlay kubelite-overlay -o 'lowerdir=/,upperdir=/k/s/c.scratch/root/u,workdir=/k/s/c.scratch/root/w' '/k/s/c.scratch/root/m'",
        "if [ -d '/proc' ]; then '/bin/mkdir' -p '/k/s/c.scratch/root/m/proc'; else : >> '/k/s/c.scratch/root/m/proc'; fi",
        "'/usr/bin/mount' --rbind '/proc' '/k/s/c.scratch/root/m/proc'",
        "if [ -d '/dev' ]; then '/bin/mkdir' -p '/k/s/c.scratch/root/m/dev'; else : >> '/k/s/c.scratch/root/m/dev'; fi",
        "'/usr/bin/mount' --rbind '/dev' '/k/s/c.scratch/root/m/dev'",
        "'/bin/mkdir' -p '/k/s/c.scratch/root/m/data'",
        "[ -e '/k/s/c.scratch/root/m/data/f' ] || : > '/k/s/c.scratch/root/m/data/f'",
        "'/usr/bin/mount' --bind '/k/f' '/k/s/c.scratch/root/m/data/f'",
        `exec '/usr/sbin/chroot' '/k/s/c.scratch/root/m' '/bin/sh' -c 'cd -- "$1" && shift && exec "$@"' kubelite-init '/app' "$@"`,
      ].join('\n'),
    );
  });

  it('reports readiness on the given fd right before the final exec', () => {
    const lines = buildLaunchScript({ ...base, readyFd: 3 }).split('\n');
    assert.deepEqual(lines.slice(-4), ['echo ready >&3', 'exec 3>&-', "cd -- '/app'", 'exec "$@"']);
  });

  it('without netns starts at unshare; no scratch when nothing is created', () => {
    const argv = buildLaunchArgv({ ...base, netnsPath: undefined, mounts: [] });
    assert.equal(argv[0], '/usr/bin/unshare');
    assert.doesNotMatch(argv[7]!, /tmpfs/);
  });

  it('rejects overlay-unsafe paths and empty argv', () => {
    assert.throws(() => buildLaunchArgv({ ...base, scratchDir: '/k/a,b' }), /overlay/);
    assert.throws(() => buildLaunchArgv({ ...base, argv: [] }), /empty/);
  });

  describe('runs safely with hostile paths (tools replaced by a recorder)', () => {
    let dir: string;
    let recorder: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), "kubelite launch 'q' \"d\" "));
      recorder = join(dir, 'rec');
      writeFileSync(recorder, `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done >> "$REC_LOG"\necho ---- >> "$REC_LOG"\n`);
      chmodSync(recorder, 0o755);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('passes every path as one argument and ends in exec "$@"', () => {
      const wd = join(dir, "work 'dir'");
      mkdirSync(wd);
      const cg = join(dir, 'cg "x"');
      mkdirSync(cg);
      const src = join(dir, 'src $(id) `x`');
      writeFileSync(src, '');
      const target = join(dir, "target it's");
      writeFileSync(target, ''); // an existing target: creating one would need an overlay of the (quoted) tmp dir
      const tools = { ...DEFAULT_TOOLS, mount: recorder, hostname: recorder, mkdir: '/bin/mkdir' };
      const kinds = (p: string): PathKind => {
        try {
          return statSync(p).isDirectory() ? 'dir' : 'file';
        } catch {
          return 'none';
        }
      };
      const script = buildLaunchScript({
        hostname: "host 'name'",
        mounts: [{ containerPath: target, hostPath: src, isDir: false, readonly: true }],
        cgroupDirs: [cg],
        workingDir: wd,
        argv: ['x'],
        scratchDir: join(dir, 'scratch'),
        lookup: kinds,
        rootSubmounts: [],
        tools,
      });
      const log = join(dir, 'rec.log');
      const out = execFileSync('/bin/sh', ['-c', script, 'kubelite-init', '/bin/sh', '-c', 'pwd; printf "[%s]" "$@"', 'sh', 'a b', "c'd"], {
        env: { REC_LOG: log, PATH: '/usr/bin:/bin' },
      }).toString();
      assert.equal(out, `${wd}\n[a b][c'd]`);
      const calls = readFileSync(log, 'utf8').split('----\n').filter(Boolean).map((c) => c.trimEnd().split('\n'));
      // The target exists, so no scratch/overlay: hostname, bind, remount.
      assert.deepEqual(calls, [["host 'name'"], ['--bind', src, target], ['-o', 'remount,bind,ro', target]]);
      assert.equal(readFileSync(join(cg, 'cgroup.procs'), 'utf8').trim().length > 0, true);
    });
  });
});

describe('buildExecArgv / ttyWrap', () => {
  it('golden exec argv', () => {
    assert.deepEqual(buildExecArgv({ pid: 42, cgroupDirs: ['/cg/a'], workingDir: '/w d', cmd: ['ls', '-l'], tty: false }), [
      '/bin/sh', '-c', "echo $$ > '/cg/a/cgroup.procs' && exec \"$@\"", 'kubelite-exec',
      '/usr/bin/nsenter', '-t', '42', '-n', '-m', '-u', '-r', '-w', '--',
      '/bin/sh', '-c', 'cd -- "$1" || exit 126; shift; exec "$@"', 'kubelite-exec', '/w d', 'ls', '-l',
    ]);
  });
  it('tty wraps in script with a quoted command', () => {
    assert.deepEqual(ttyWrap(['sh', '-c', "echo 'x'"], true), ['/usr/bin/script', '-qfec', `exec 'sh' '-c' 'echo '\\''x'\\'''`, '/dev/null']);
    assert.deepEqual(ttyWrap(['ls'], false), ['ls']);
  });
});

describe('rootSubmountsOf', () => {
  it('lists direct children of the (last) root mount', () => {
    const mi = [
      '22 27 0:21 / /proc rw - proc proc rw',
      '24 27 0:6 / /dev rw - devtmpfs devtmpfs rw',
      '26 24 0:24 / /dev/pts rw - devpts devpts rw',
      '27 1 254:0 / / rw - ext4 /dev/vda rw',
      '42 27 254:0 /run/netns /run/netns rw shared:1 - ext4 /dev/vda rw',
      '43 27 0:50 / /mnt/with\\040space rw - tmpfs t rw',
    ].join('\n');
    assert.deepEqual(rootSubmountsOf(mi), ['/proc', '/dev', '/run/netns', '/mnt/with space']);
  });
});
