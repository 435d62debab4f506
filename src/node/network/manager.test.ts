import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoopbackPodNetwork, NetnsPodNetwork } from './manager.js';
import type { Runner } from './apply.js';

const node = { bridge: 'kl0', podCIDR: '10.244.0.0/24', hostName: 'n1' };

function recorder(opts: { failOn?: string; netnsDir: string }): { runner: Runner; calls: string[][] } {
  const calls: string[][] = [];
  // Batches (`ip -batch -`) are recorded one line per call, as `ip <line>`, so tests read like the commands.
  const runner: Runner = async (argv, o) => {
    const lines = o?.input ? o.input.trim().split('\n').map((l) => ['ip', ...(argv[1] === '-n' ? ['-n', argv[2]!] : []), ...l.split(' ')]) : [argv];
    for (const line of lines) {
      calls.push(line);
      if (opts.failOn && line.join(' ').includes(opts.failOn)) return { code: 2, stderr: 'RTNETLINK answers: Operation not permitted' };
      // `ip netns add X` makes /run/netns/X; the fake mimics that so setUp can find it again.
      if (line[0] === 'ip' && line[1] === 'netns' && line[2] === 'add') writeFileSync(join(opts.netnsDir, line[3]!), '');
      if (line[0] === 'ip' && line[1] === 'netns' && line[2] === 'del') rmSync(join(opts.netnsDir, line[3]!), { force: true });
    }
    return { code: 0, stderr: '' };
  };
  return { runner, calls };
}

const made: string[] = [];
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function dirs(): { stateDir: string; netnsDir: string } {
  const d = mkdtempSync(join(tmpdir(), 'kl-net-'));
  made.push(d);
  mkdirSync(join(d, 'netns'));
  return { stateDir: join(d, 'state'), netnsDir: join(d, 'netns') };
}

const pod = (uid: string): { uid: string; namespace: string; name: string } => ({ uid, namespace: 'default', name: `p-${uid}` });

test('netns network: setUp runs the plan once, remembers the address across restarts, tearDown frees it', async () => {
  const d = dirs();
  const rec = recorder({ netnsDir: d.netnsDir });
  const net = new NetnsPodNetwork({ node, netnsPrefix: 'kl', ...d, runner: rec.runner, writeFile: async () => undefined });
  await net.init();
  assert.ok(rec.calls.some((c) => c.join(' ') === 'ip link add name kl0 type bridge'));
  const a = await net.setUp(pod('aaaaaaaa-1'));
  const b = await net.setUp(pod('bbbbbbbb-2'));
  assert.deepEqual([a.ip, b.ip], ['10.244.0.2', '10.244.0.3']);
  assert.equal(a.netnsPath, join(d.netnsDir, 'kl-aaaaaaaa'));
  const n = rec.calls.length;
  assert.deepEqual(await net.setUp(pod('aaaaaaaa-1')), a, 'idempotent');
  assert.equal(rec.calls.length, n, 'no commands for an existing pod network');

  const again = new NetnsPodNetwork({ node, netnsPrefix: 'kl', ...d, runner: rec.runner });
  assert.deepEqual((await again.list()).sort(), ['aaaaaaaa-1', 'bbbbbbbb-2']);
  assert.deepEqual(await again.setUp(pod('bbbbbbbb-2')), b, 'a restarted agent reuses the namespace and address');
  await again.tearDown('aaaaaaaa-1');
  assert.deepEqual(await again.list(), ['bbbbbbbb-2']);
  assert.equal((await again.setUp(pod('cccccccc-3'))).ip, '10.244.0.2', 'freed address is reused');
});

test('netns network: a failed setup is rolled back and leaves no state', async () => {
  const d = dirs();
  const rec = recorder({ netnsDir: d.netnsDir, failOn: 'route add default' });
  const net = new NetnsPodNetwork({ node, netnsPrefix: 'kl', ...d, runner: rec.runner });
  await assert.rejects(net.setUp(pod('dddddddd-4')), /Operation not permitted/);
  assert.deepEqual(await net.list(), []);
  assert.ok(rec.calls.some((c) => c.join(' ') === 'ip netns del kl-dddddddd'), 'rolled back');
});

test('netns network: a state file whose namespace vanished is rebuilt', async () => {
  const d = dirs();
  const rec = recorder({ netnsDir: d.netnsDir });
  const net = new NetnsPodNetwork({ node, netnsPrefix: 'kl', ...d, runner: rec.runner });
  const a = await net.setUp(pod('eeeeeeee-5'));
  rmSync(join(d.netnsDir, 'kl-eeeeeeee'));
  const before = rec.calls.length;
  const b = await net.setUp(pod('eeeeeeee-5'));
  assert.equal(b.ip, a.ip);
  assert.ok(rec.calls.slice(before).some((c) => c.join(' ') === 'ip netns add kl-eeeeeeee'));
});

test('loopback network: distinct 127.x addresses, stable across restarts', async () => {
  const d = dirs();
  const net = new LoopbackPodNetwork({ stateDir: d.stateDir });
  const a = await net.setUp(pod('a'));
  const b = await net.setUp(pod('b'));
  assert.deepEqual([a, b], [{ ip: '127.244.0.2' }, { ip: '127.244.0.3' }]);
  const again = new LoopbackPodNetwork({ stateDir: d.stateDir });
  assert.deepEqual(await again.setUp(pod('b')), b);
  await again.tearDown('a');
  assert.deepEqual(await again.list(), ['b']);
});
