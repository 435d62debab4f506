/**
 * The isolated process runtime for real: netns, mount/UTS namespaces, cgroups, exec, recovery.
 * Runs only inside /work/shared/tools/netns-sandbox (root, SANDBOX_NETNS set); it creates its own
 * pod netns "$SANDBOX_NETNS-x" and deletes it. `ip netns exec` gives this process a private mount
 * namespace with a fresh /sys, so the cgroup hierarchies are mounted back here when missing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProcessRuntime } from './process.js';
import { cgroupDirs, detectSystemCgroups, mountCgroupsIfMissing } from './cgroups.js';
import type { ContainerConfig } from './cri.js';

const skip = process.env.SANDBOX_NETNS ? false : 'needs root and netns-sandbox (SANDBOX_NETNS unset)';

async function waitFor(pred: () => boolean | Promise<boolean>, ms = 8000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function logText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** CRI log → just the contents of stdout lines. */
function stdoutLines(path: string): string[] {
  return logText(path)
    .split('\n')
    .filter((l) => / stdout F /.test(l))
    .map((l) => l.replace(/^\S+ stdout F /, ''));
}

describe('isolated ProcessRuntime', { skip }, () => {
  const ns = `${process.env.SANDBOX_NETNS}-x`;
  let dir: string;
  let rootDir: string;
  let rt: ProcessRuntime;
  let sandboxId: string;
  let cfgDir: string;
  let dataFile: string;

  before(async () => {
    mountCgroupsIfMissing((argv) => execFileSync(argv[0]!, argv.slice(1)));
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['netns', 'exec', ns, 'ip', 'link', 'add', 'kl-test0', 'type', 'veth', 'peer', 'name', 'kl-test1']);
    dir = mkdtempSync('/tmp/kubelite-iso-');
    rootDir = join(dir, 'root');
    // Host paths with a space and a quote exercise the wrapper's quoting.
    cfgDir = join(dir, "config map 'v'");
    mkdirSync(cfgDir);
    writeFileSync(join(cfgDir, 'x.conf'), 'key=value\n');
    dataFile = join(dir, 'data "file"');
    writeFileSync(dataFile, 'payload\n');
    rt = new ProcessRuntime({ rootDir, isolation: true });
    sandboxId = await rt.runPodSandbox({
      metadata: { name: 'iso', namespace: 'default', uid: 'u-iso' },
      hostname: 'iso-pod',
      netnsPath: `/run/netns/${ns}`,
    });
  });

  after(async () => {
    // Also on failure: no cgroup or process may outlive the test.
    await rt?.removePodSandbox(sandboxId).catch(() => undefined);
    await rt?.shutdown();
    try {
      execFileSync('ip', ['netns', 'del', ns]);
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  });

  function config(name: string, script: string, extra: Partial<ContainerConfig> = {}): ContainerConfig {
    return { name, command: ['/bin/sh', '-c', script], env: { GREETING: 'hi there' }, logPath: join(dir, 'logs', `${name}.log`), ...extra };
  }

  async function runToEnd(cfg: ContainerConfig): Promise<string> {
    const id = await rt.createContainer(sandboxId, cfg);
    await rt.startContainer(id);
    await waitFor(async () => (await rt.containerStatus(id)).state === 'exited', 15000, `${cfg.name} to exit`);
    return id;
  }

  it('runs in the pod netns, hostname and a mount namespace with the volumes', async () => {
    const script = [
      'hostname',
      "ip -o link | grep -c 'kl-test0@'",
      'cat /etc/config/x.conf /data/file',
      '(echo no > /etc/config/new) 2>/dev/null && echo writable || echo read-only',
      'echo ok > /data/file && echo file-writable',
      'pwd',
    ].join('; ');
    const id = await runToEnd(
      config('ns', script, {
        workingDir: '/etc/config',
        mounts: [
          { containerPath: '/etc/config', hostPath: cfgDir, readonly: true },
          { containerPath: '/data/file', hostPath: dataFile },
        ],
      }),
    );
    const st = await rt.containerStatus(id);
    assert.equal(st.exitCode, 0, logText(st.logPath));
    assert.deepEqual(stdoutLines(st.logPath), ['iso-pod', '1', 'key=value', 'payload', 'read-only', 'file-writable', '/etc/config']);
    assert.equal(readFileSync(dataFile, 'utf8'), 'ok\n', 'the bind mount writes through to the host file');
    assert.equal(existsSync('/etc/config'), false, 'host /etc untouched');
    assert.equal(existsSync('/data'), false, 'host / untouched');
    assert.equal(existsSync(join(cfgDir, 'new')), false);
    assert.notEqual(execFileSync('hostname').toString().trim(), 'iso-pod');
  });

  it('creates a missing file target under an existing dir via an overlay (quoted paths)', async () => {
    const target = "/etc/it's conf/x.conf";
    const id = await runToEnd(config('ovl', `cat "${target}"; echo "$GREETING"`, {
      mounts: [{ containerPath: target, hostPath: join(cfgDir, 'x.conf'), readonly: true }],
    }));
    const st = await rt.containerStatus(id);
    assert.equal(st.exitCode, 0, logText(st.logPath));
    assert.deepEqual(stdoutLines(st.logPath), ['key=value', 'hi there']);
    assert.equal(existsSync("/etc/it's conf"), false);
  });

  it('reports OOMKilled when the memory limit is exceeded', async () => {
    const node = process.execPath;
    const id = await runToEnd(
      config('oom', `exec ${node} -e 'const a=[];for(;;)a.push(Buffer.alloc(1<<20,1))'`, {
        resources: { memoryLimitBytes: 50 * 1024 * 1024 },
      }),
    );
    const st = await rt.containerStatus(id);
    assert.equal(st.reason, 'OOMKilled', JSON.stringify(st));
    assert.equal(st.exitCode, 137);
  });

  it('puts the container in its cgroup with limits and removes it on removal; exec shares namespaces', async () => {
    const base = detectSystemCgroups();
    assert.ok(base, 'cgroups detected');
    const cfg = config('cg', 'echo started; exec sleep 60', {
      mounts: [{ containerPath: '/etc/config', hostPath: cfgDir, readonly: true }],
      resources: { memoryLimitBytes: 64 * 1024 * 1024, cpuLimitMillis: 250, cpuRequestMillis: 100 },
    });
    const id = await rt.createContainer(sandboxId, cfg);
    await rt.startContainer(id);
    const dirs = cgroupDirs(base, sandboxId, id);
    const pid = (await rt.containerStatus(id)).pid!;
    for (const d of dirs) {
      await waitFor(() => readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').includes(String(pid)), 5000, 'pid in cgroup');
    }
    if (base.version === 1) {
      assert.equal(readFileSync(join(dirs[0]!, 'memory.limit_in_bytes'), 'utf8').trim(), String(64 * 1024 * 1024));
      if (dirs[1]) {
        assert.equal(readFileSync(join(dirs[1], 'cpu.cfs_quota_us'), 'utf8').trim(), '25000');
        assert.equal(readFileSync(join(dirs[1], 'cpu.shares'), 'utf8').trim(), '102');
      }
    }
    const r = await rt.execSync(id, ['/bin/sh', '-c', 'hostname; cat /etc/config/x.conf; cat /proc/self/cgroup | grep -c kubelite; pwd'], 5000);
    assert.equal(r.exitCode, 0, r.stderr.toString());
    assert.equal(r.stderr.toString(), '');
    const lines = r.stdout.toString().trim().split('\n');
    assert.deepEqual(lines.slice(0, 2), ['iso-pod', 'key=value']);
    assert.ok(Number(lines[2]) >= 1, 'exec joined the container cgroup');

    const s = await rt.exec(id, { cmd: ['/bin/sh', '-c', 'read x; [ -t 0 ] && echo "tty $x $(hostname)"'], tty: true, stdin: true });
    const out: Buffer[] = [];
    s.stdout.on('data', (b: Buffer) => out.push(b));
    s.resize({ width: 100, height: 30 });
    s.stdin!.write('abc\n');
    const code = await s.exited;
    assert.equal(code, 0, Buffer.concat(out).toString());
    assert.match(Buffer.concat(out).toString(), /tty abc iso-pod/);
    assert.equal(s.stderr, undefined);

    await rt.removeContainer(id);
    for (const d of dirs) assert.equal(existsSync(d), false, `${d} removed`);
  });

  it('a restarted runtime adopts a running container; it keeps logging after the old runtime is dropped', async () => {
    const cfg = config('adopt', 'i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.05; done');
    const id = await rt.createContainer(sandboxId, cfg);
    await rt.startContainer(id);
    const pid = (await rt.containerStatus(id)).pid!;
    await waitFor(() => stdoutLines(cfg.logPath).length >= 2, 5000, 'first ticks');
    rt.close(); // the agent goes away without stopping anything
    const before = stdoutLines(cfg.logPath).length;
    await new Promise((r) => setTimeout(r, 300));
    const rt2 = new ProcessRuntime({ rootDir, isolation: true });
    rt = rt2;
    const st = await rt2.containerStatus(id);
    assert.equal(st.state, 'running');
    assert.equal(st.pid, pid);
    assert.deepEqual((await rt2.listPodSandboxes()).map((s) => s.id), [sandboxId]);
    // Output produced while no runtime ran is picked up, in order, without gaps.
    await waitFor(() => stdoutLines(cfg.logPath).length > before + 8, 5000, 'ticks after adoption');
    const ticks = stdoutLines(cfg.logPath).map((l) => Number(l.split(' ')[1]));
    assert.deepEqual(ticks, ticks.map((_, i) => i + 1), 'no lost or duplicated lines');
    const r = await rt2.execSync(id, ['hostname'], 5000);
    assert.equal(r.stdout.toString().trim(), 'iso-pod');
    await rt2.stopContainer(id, 1);
    const end = await rt2.containerStatus(id);
    assert.equal(end.state, 'exited');
    assert.equal(end.reason, 'Error');
    assert.match(end.message ?? '', /unknown/);
  });

  it('removing the sandbox removes its cgroups and directory', async () => {
    const base = detectSystemCgroups()!;
    await rt.removePodSandbox(sandboxId);
    for (const d of cgroupDirs(base, sandboxId)) assert.equal(existsSync(d), false, `${d} removed`);
    assert.equal(existsSync(join(rootDir, sandboxId)), false);
  });
});
