import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { applyCommands, teardown, execRunner, threadRunner, isNotFoundError, NetApplyError, type Runner, type RunResult } from './apply.js';
import { IpAllocator, planBridge, planBridgeTeardown, planPodSetup, planPodTeardown, netnsName, hostVethName, type NetCommand } from './plan.js';

/** Records argv and answers from a table keyed by the joined argv. */
function fakeRunner(answers: Record<string, RunResult> = {}): { runner: Runner; ran: string[] } {
  const ran: string[] = [];
  return {
    ran,
    runner: async (argv) => {
      ran.push(argv.join(' '));
      return answers[argv.join(' ')] ?? { code: 0, stderr: '' };
    },
  };
}

const exec = (...argv: string[]): NetCommand => ({ kind: 'exec', argv });

test('applyCommands runs in order, writes files, stops at the first failure', async () => {
  const { runner, ran } = fakeRunner({ 'b': { code: 2, stderr: 'RTNETLINK answers: Operation not permitted\n' } });
  const writes: string[] = [];
  const writeFile = async (p: string, c: string): Promise<void> => void writes.push(`${p}=${c}`);
  await assert.rejects(
    applyCommands([exec('a'), { kind: 'write', path: '/x', content: '1' }, exec('b'), exec('c')], { runner, writeFile }),
    (e: unknown) => e instanceof NetApplyError && e.code === 2 && /exit 2\): b: RTNETLINK answers: Operation not permitted$/.test(e.message),
  );
  assert.deepEqual(ran, ['a', 'b']);
  assert.deepEqual(writes, ['/x=1']);
});

test('applyCommands tolerates "File exists" only where the step allows it', async () => {
  const exists = { code: 2, stderr: 'RTNETLINK answers: File exists' };
  const { runner, ran } = fakeRunner({ 'a': exists, 'b': exists });
  await applyCommands([{ kind: 'exec', argv: ['a'], okIfExists: true }], { runner });
  await assert.rejects(applyCommands([exec('b')], { runner }), NetApplyError);
  assert.deepEqual(ran, ['a', 'b']);
});

test('a failing file write is reported with its path', async () => {
  const writeFile = async (): Promise<void> => { throw new Error('EACCES: permission denied'); };
  await assert.rejects(applyCommands([{ kind: 'write', path: '/proc/sys/x', content: '1' }], { writeFile }), /write \/proc\/sys\/x: EACCES/);
});

test('teardown ignores not-found, runs everything, throws the rest', async () => {
  const { runner, ran } = fakeRunner({
    'a': { code: 1, stderr: 'Cannot find device "veth1234"' },
    'b': { code: 1, stderr: 'Cannot remove namespace file "/run/netns/x": No such file or directory' },
    'c': { code: 1, stderr: 'Device or resource busy' },
  });
  await assert.rejects(teardown([exec('a'), exec('b'), exec('c'), exec('d')], { runner }), /exit 1\): c: Device or resource busy/);
  assert.deepEqual(ran, ['a', 'b', 'c', 'd']);
  await teardown([exec('a'), exec('b')], { runner });
});

test('isNotFoundError table', () => {
  const cases: [string, boolean][] = [
    ['Cannot find device "veth0"', true],
    ['Error: No such process', false],
    ['Error: Could not process rule: No such file or directory', true],
    ['Operation not permitted', false],
  ];
  for (const [s, want] of cases) assert.equal(isNotFoundError(s), want, s);
});

test('execRunner and threadRunner report exit codes, stdin and spawn failures alike', async () => {
  for (const run of [execRunner, threadRunner]) {
    assert.equal((await run([process.execPath, '-e', 'process.exit(3)'])).code, 3);
    const echo = await run([process.execPath, '-e', 'process.stdin.pipe(process.stderr)'], { input: 'from stdin' });
    assert.deepEqual(echo, { code: 0, stderr: 'from stdin' });
    const r = await run(['/nonexistent/kubelite-binary']);
    assert.equal(r.code, 127);
    assert.match(r.stderr, /ENOENT/);
  }
  // Concurrent commands each get their own answer.
  const many = await Promise.all([1, 2, 3, 4, 5].map((n) => threadRunner([process.execPath, '-e', `process.exit(${n})`])));
  assert.deepEqual(many.map((r) => r.code), [1, 2, 3, 4, 5]);
});

// ---- Real network test: only inside /work/shared/tools/netns-sandbox as root. ----
const SANDBOX = process.env['SANDBOX_NETNS'];
const skipReason = process.getuid?.() !== 0
  ? 'not root'
  : !SANDBOX
    ? 'SANDBOX_NETNS not set: run via /work/shared/tools/netns-sandbox node --import tsx --test src/node/network/apply.sandbox.test.ts'
    : !existsSync('/usr/sbin/ip') && !existsSync('/sbin/ip') && !existsSync('/usr/bin/ip')
      ? 'iproute2 missing'
      : false;

async function sh(argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0]!, argv.slice(1));
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${argv.join(' ')} exited ${code}: ${err}`))));
  });
}

test('sandbox: two pods get eth0 + address and reach each other over TCP; teardown leaves nothing', { skip: skipReason }, async () => {
  const prefix = `${SANDBOX}-p`;
  const node = { bridge: 'kubelite0', podCIDR: '10.244.0.0/24', hostName: 'sbx' };
  const alloc = new IpAllocator(node.podCIDR);
  const pods = ['aaaaaaaa-0000-4000-8000-000000000001', 'bbbbbbbb-0000-4000-8000-000000000002'].map((uid) => ({
    uid, ip: alloc.allocate(uid), netnsPrefix: prefix,
  }));
  const [a, b] = pods as [typeof pods[0], typeof pods[0]];
  const nsA = netnsName(prefix, a.uid);
  const nsB = netnsName(prefix, b.uid);
  let server: ReturnType<typeof spawn> | undefined;
  try {
    await applyCommands(planBridge(node));
    await applyCommands(planBridge(node)); // idempotent
    for (const p of pods) await applyCommands(planPodSetup(node, p));

    for (const p of pods) {
      const out = await sh(['ip', '-n', netnsName(prefix, p.uid), '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
      assert.match(out, new RegExp(`inet ${p.ip.replace(/\./g, '\\.')}/24`));
      const route = await sh(['ip', '-n', netnsName(prefix, p.uid), 'route', 'show', 'default']);
      assert.match(route, /default via 10\.244\.0\.1 dev eth0/);
    }
    const nat = await sh(['nft', 'list', 'table', 'ip', 'kubelite-nat']);
    assert.equal(nat.match(/masquerade/g)?.length, 1, nat);

    // TCP server in pod B; pod A connects to B's IP across the bridge.
    server = spawn('ip', ['netns', 'exec', nsB, process.execPath, '-e',
      `require('net').createServer(s=>s.end('hello from B')).listen(8080,'0.0.0.0',()=>console.log('listening'))`]);
    await new Promise<void>((resolve, reject) => {
      server!.stdout!.on('data', (d) => String(d).includes('listening') && resolve());
      server!.on('exit', (c) => reject(new Error(`server exited ${c}`)));
    });
    const reply = await sh(['ip', 'netns', 'exec', nsA, process.execPath, '-e',
      `const s=require('net').connect(8080,'${b.ip}');let d='';s.on('data',x=>d+=x);s.on('end',()=>{console.log(d+' to '+s.localAddress)});s.setTimeout(3000,()=>{console.error('timeout');process.exit(1)})`]);
    assert.equal(reply.trim(), `hello from B to ${a.ip}`);
  } finally {
    server?.kill('SIGKILL');
    for (const p of pods) await teardown(planPodTeardown(p));
    await teardown(planBridgeTeardown(node));
  }
  await teardown(planPodTeardown(a)); // second teardown: everything already gone, no error
  const left = await sh(['ip', 'netns', 'list']);
  assert.ok(!left.includes(prefix), `netns left: ${left}`);
  const links = await sh(['ip', '-o', 'link', 'show']);
  for (const name of ['kubelite0', hostVethName(a.uid), hostVethName(b.uid)]) assert.ok(!links.includes(name), `${name} left: ${links}`);
  await assert.rejects(sh(['nft', 'list', 'table', 'ip', 'kubelite-nat']));
});
