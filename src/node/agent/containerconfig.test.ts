import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { KObject } from '../../api/types.js';
import { emptyCatalog, parseCatalog, type ResolvedImage } from '../runtime/images.js';
import {
  buildContainerConfig,
  builtinEntrypoint,
  containerArgv,
  containerHash,
  containerResources,
  IMAGE_DEFAULT_PATH,
  type ContainerConfigInput,
} from './containerconfig.js';
import { PodVolumes, type ObjectLookup } from './volumes.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await fsp.rm(d, { recursive: true, force: true });
});
async function tmp(): Promise<string> {
  const d = await fsp.mkdtemp(path.join(os.tmpdir(), 'kl-cc-'));
  dirs.push(d);
  return d;
}

const AGN = builtinEntrypoint('agnhost');
const WEB = builtinEntrypoint('kubelite/demo-web');

test('builtinEntrypoint runs the image scripts with plain node (transpiled once when running from sources)', () => {
  assert.deepEqual(builtinEntrypoint('shell'), ['/bin/sh']);
  for (const [ep, script] of [[AGN, 'agnhost'], [WEB, 'demo-web']] as const) {
    assert.equal(ep.length, 2);
    assert.equal(ep[0], process.execPath);
    // This test runs under tsx, so the agent is "running from sources": a cached .mjs, no loader.
    assert.match(path.basename(ep[1]!), new RegExp(`^${script}-[0-9a-f]{16}\\.mjs$`));
    assert.ok(existsSync(ep[1]!), ep[1]);
    assert.deepEqual(builtinEntrypoint(script === 'agnhost' ? 'agnhost' : 'kubelite/demo-web'), ep, 'stable across calls');
  }
});

test('the agnhost entrypoint really starts from an unrelated working directory', async () => {
  const child = spawn(AGN[0]!, [...AGN.slice(1), 'pause'], { cwd: '/', env: { PATH: IMAGE_DEFAULT_PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const deadline = Date.now() + 15000;
  while (!out.includes('Paused') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGKILL');
  assert.ok(out.includes('Paused'), `agnhost output: ${out}`);
});

test('containerArgv: Kubernetes command/args semantics over the image entrypoint', () => {
  const agnhost: ResolvedImage & { kind: 'builtin' } = { kind: 'builtin', name: 'agnhost' };
  const web: ResolvedImage & { kind: 'builtin' } = { kind: 'builtin', name: 'kubelite/demo-web' };
  const sh: ResolvedImage & { kind: 'command' } = { kind: 'command', command: ['/bin/sh'] };
  const py: ResolvedImage & { kind: 'command' } = { kind: 'command', command: ['/usr/bin/python3', '-m', 'http.server', '8080'] };
  const cases: { name: string; image: ResolvedImage & { kind: 'builtin' | 'command' }; c: { command?: string[]; args?: string[] }; want: string[] }[] = [
    { name: 'agnhost defaults to pause', image: agnhost, c: {}, want: [...AGN, 'pause'] },
    { name: 'agnhost args replace default args', image: agnhost, c: { args: ['netexec', '--http-port=8080'] }, want: [...AGN, 'netexec', '--http-port=8080'] },
    { name: 'agnhost empty args = defaults', image: agnhost, c: { args: [] }, want: [...AGN, 'pause'] },
    { name: '/agnhost command maps to the builtin', image: agnhost, c: { command: ['/agnhost', 'serve-hostname'] }, want: [...AGN, 'serve-hostname'] },
    { name: 'agnhost command + args', image: agnhost, c: { command: ['agnhost'], args: ['netexec'] }, want: [...AGN, 'netexec'] },
    { name: 'other command in agnhost image runs on the host', image: agnhost, c: { command: ['sh', '-c', 'echo hi'] }, want: ['sh', '-c', 'echo hi'] },
    { name: 'demo-web plain', image: web, c: {}, want: [...WEB] },
    { name: 'demo-web args', image: web, c: { args: ['--x'] }, want: [...WEB, '--x'] },
    { name: 'demo-web program name', image: web, c: { command: ['/demo-web'] }, want: [...WEB] },
    { name: 'builtin with image default args', image: { kind: 'builtin', name: 'agnhost', args: ['netexec'] }, c: {}, want: [...AGN, 'netexec'] },
    { name: 'shell image alone', image: sh, c: {}, want: ['/bin/sh'] },
    { name: 'shell image args only', image: sh, c: { args: ['-c', 'echo $HOSTNAME'] }, want: ['/bin/sh', '-c', 'echo $HOSTNAME'] },
    { name: 'shell image command', image: sh, c: { command: ['sleep', '3600'] }, want: ['sleep', '3600'] },
    { name: 'shell image command + args', image: sh, c: { command: ['sh', '-c'], args: ['date'] }, want: ['sh', '-c', 'date'] },
    { name: 'mapped command default', image: py, c: {}, want: ['/usr/bin/python3', '-m', 'http.server', '8080'] },
    { name: 'mapped command, args replace its arguments', image: py, c: { args: ['-m', 'http.server', '9090'] }, want: ['/usr/bin/python3', '-m', 'http.server', '9090'] },
    { name: 'mapped command, command drops default args', image: py, c: { command: ['/usr/bin/env'] }, want: ['/usr/bin/env'] },
  ];
  for (const c of cases) assert.deepEqual(containerArgv(c.image, c.c), c.want, c.name);
});

test('containerResources converts quantities', () => {
  const cases: { resources?: Record<string, unknown>; want: Record<string, number> }[] = [
    { want: {} },
    { resources: { limits: { memory: '128Mi', cpu: '500m' }, requests: { cpu: '250m' } }, want: { memoryLimitBytes: 134217728, cpuLimitMillis: 500, cpuRequestMillis: 250 } },
    { resources: { limits: { cpu: '2' } }, want: { cpuLimitMillis: 2000, cpuRequestMillis: 2000 } },
    { resources: { requests: { cpu: '0.1', memory: '1Gi' } }, want: { cpuRequestMillis: 100 } },
    { resources: { limits: { memory: '1G' } }, want: { memoryLimitBytes: 1e9 } },
    { resources: { limits: { memory: '64M', cpu: '1.5' } }, want: { memoryLimitBytes: 64e6, cpuLimitMillis: 1500, cpuRequestMillis: 1500 } },
  ];
  for (const c of cases) assert.deepEqual(containerResources({ name: 'c', ...(c.resources ? { resources: c.resources } : {}) }), c.want, JSON.stringify(c.resources));
});

test('containerHash is stable under key order and changes with the spec', () => {
  const a = containerHash({ name: 'c', image: 'x', args: ['1'] });
  assert.equal(a, containerHash({ args: ['1'], image: 'x', name: 'c' }));
  assert.notEqual(a, containerHash({ name: 'c', image: 'x', args: ['2'] }));
  assert.match(a, /^[0-9a-f]{8}$/);
});

function lookup(objs: KObject[]): ObjectLookup {
  const find = (kind: string) => (ns: string, n: string): KObject | undefined => objs.find((o) => o.kind === kind && o.metadata.namespace === ns && o.metadata.name === n);
  return { configMap: find('ConfigMap'), secret: find('Secret') };
}

const OBJECTS: KObject[] = [
  { kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'shop' }, data: { 'app.conf': 'port=1', GREETING: 'hello' } },
  { kind: 'Secret', metadata: { name: 'db', namespace: 'shop' }, data: { password: Buffer.from('s3cret').toString('base64') } },
];
const SERVICES: KObject[] = [{ metadata: { name: 'kubernetes', namespace: 'default' }, spec: { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443 }] } }];

async function fixture(container: Record<string, unknown>, specExtra: Record<string, unknown> = {}): Promise<{ input: ContainerConfigInput; podDir: string }> {
  const podDir = await tmp();
  const pod: KObject = {
    metadata: { name: 'web-0', namespace: 'shop', uid: 'uid-1' },
    spec: {
      nodeName: 'node1',
      terminationGracePeriodSeconds: 30,
      containers: [container],
      volumes: [
        { name: 'config', configMap: { name: 'cfg' } },
        { name: 'data', emptyDir: {} },
      ],
      ...specExtra,
    },
  };
  const vols = new PodVolumes({ podDir, lookup: lookup(OBJECTS) });
  const { paths } = await vols.setUp(pod);
  const input: ContainerConfigInput = {
    pod,
    container,
    attempt: 2,
    catalog: parseCatalog('images:\n  "my-image:v1.0.0":\n    builtin: kubelite/demo-web\n'),
    volumePaths: paths,
    podFiles: { hostsPath: path.join(podDir, 'etc-hosts'), resolvConfPath: path.join(podDir, 'resolv.conf') },
    podLogDir: '/var/log/pods/shop_web-0_uid-1',
    services: SERVICES,
    lookup: lookup(OBJECTS),
    podIP: '10.244.0.5',
    hostIP: '192.168.1.10',
    nodeName: 'node1',
  };
  return { input, podDir };
}

test('buildContainerConfig: the whole config for a typical container', async () => {
  const container = {
    name: 'app',
    image: 'my-image:v1.0.0',
    args: ['--greeting=$(GREETING)', '--pod=$(POD_NAME)', '$(UNKNOWN)'],
    workingDir: '/srv',
    env: [
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
    ],
    envFrom: [{ configMapRef: { name: 'cfg' } }],
    volumeMounts: [
      { name: 'config', mountPath: '/etc/app' },
      { name: 'data', mountPath: '/data' },
      { name: 'data', mountPath: '/cache', readOnly: true, subPath: 'cache/x' },
      { name: 'config', mountPath: '/etc/app.conf', subPath: 'app.conf' },
      { name: 'data', mountPath: '/per-pod', subPathExpr: '$(POD_NAME)' },
    ],
    resources: { limits: { memory: '64Mi', cpu: '1' } },
  };
  const { input, podDir } = await fixture(container);
  const r = buildContainerConfig(input);
  assert.ok(r.ok, JSON.stringify(r));
  const c = r.config;
  assert.equal(c.name, 'app');
  assert.equal(c.attempt, 2);
  assert.deepEqual(c.command, [...WEB, '--greeting=hello', '--pod=web-0', '$(UNKNOWN)']);
  assert.equal(c.workingDir, '/srv');
  assert.equal(c.logPath, '/var/log/pods/shop_web-0_uid-1/app/2.log');
  assert.equal(c.image, 'my-image:v1.0.0');
  assert.deepEqual(c.labels, {
    'io.kubernetes.pod.name': 'web-0',
    'io.kubernetes.pod.namespace': 'shop',
    'io.kubernetes.pod.uid': 'uid-1',
    'io.kubernetes.container.name': 'app',
  });
  assert.equal(c.annotations?.['io.kubernetes.container.hash'], containerHash(container));
  assert.equal(c.annotations?.['io.kubernetes.container.restartCount'], '2');
  assert.equal(c.annotations?.['io.kubernetes.pod.terminationGracePeriod'], '30');
  assert.deepEqual(c.resources, { memoryLimitBytes: 64 * 1024 * 1024, cpuLimitMillis: 1000, cpuRequestMillis: 1000 });
  // env: image defaults, service variables, envFrom, env
  assert.equal(c.env.PATH, IMAGE_DEFAULT_PATH);
  assert.equal(c.env.HOSTNAME, 'web-0');
  assert.equal(c.env.POD_NAME, 'web-0');
  assert.equal(c.env.DB_PASSWORD, 's3cret');
  assert.equal(c.env.GREETING, 'hello');
  assert.equal(c.env.KUBERNETES_SERVICE_HOST, '10.96.0.1');
  assert.equal(c.env.KUBERNETES_SERVICE_PORT, '443');
  // mounts
  const vol = (kind: string, name: string): string => path.join(podDir, 'volumes', kind, name);
  const realConfig = await fsp.realpath(path.join(vol('kubernetes.io~configmap', 'config'), 'app.conf'));
  assert.ok(realConfig.includes('/..20'), `subPath of a configMap key pins the payload file: ${realConfig}`);
  assert.deepEqual(c.mounts, [
    { containerPath: '/etc/app', hostPath: vol('kubernetes.io~configmap', 'config'), readonly: true },
    { containerPath: '/data', hostPath: vol('kubernetes.io~empty-dir', 'data'), readonly: false },
    { containerPath: '/cache', hostPath: path.join(await fsp.realpath(vol('kubernetes.io~empty-dir', 'data')), 'cache/x'), readonly: true },
    { containerPath: '/etc/app.conf', hostPath: realConfig, readonly: true },
    { containerPath: '/per-pod', hostPath: path.join(await fsp.realpath(vol('kubernetes.io~empty-dir', 'data')), 'web-0'), readonly: false },
    { containerPath: '/etc/hosts', hostPath: path.join(podDir, 'etc-hosts'), readonly: false },
    { containerPath: '/etc/resolv.conf', hostPath: path.join(podDir, 'resolv.conf'), readonly: false },
  ]);
  // subPath directories are created inside the volume
  assert.ok((await fsp.stat(path.join(vol('kubernetes.io~empty-dir', 'data'), 'cache/x'))).isDirectory());
  assert.ok((await fsp.stat(path.join(vol('kubernetes.io~empty-dir', 'data'), 'web-0'))).isDirectory());
});

test('buildContainerConfig: kubelet-managed /etc files', async () => {
  const cases: { name: string; mounts?: unknown[]; podIP?: string; hostnamePath?: boolean; noFiles?: boolean; want: string[] }[] = [
    { name: 'default', want: ['/etc/hosts', '/etc/resolv.conf'] },
    { name: 'no pod IP yet: no /etc/hosts', podIP: '', want: ['/etc/resolv.conf'] },
    { name: 'container mounts its own /etc/hosts', mounts: [{ name: 'config', mountPath: '/etc/hosts', subPath: 'app.conf' }], want: ['/etc/hosts', '/etc/resolv.conf'] },
    { name: 'container mounts its own resolv.conf', mounts: [{ name: 'data', mountPath: '/etc/resolv.conf' }], want: ['/etc/resolv.conf', '/etc/hosts'] },
    { name: 'with hostname file', hostnamePath: true, want: ['/etc/hosts', '/etc/resolv.conf', '/etc/hostname'] },
    { name: 'no pod files written: nothing mounted', noFiles: true, want: [] },
  ];
  for (const c of cases) {
    const { input, podDir } = await fixture({ name: 'c', image: 'busybox', volumeMounts: c.mounts ?? [] });
    if (c.podIP !== undefined) input.podIP = c.podIP;
    if (c.hostnamePath) input.podFiles.hostnamePath = path.join(podDir, 'hostname');
    if (c.noFiles) input.podFiles = { hostsPath: '', resolvConfPath: '' };
    const r = buildContainerConfig(input);
    assert.ok(r.ok, c.name);
    assert.deepEqual(r.config.mounts?.map((m) => m.containerPath), c.want, c.name);
    const own = r.config.mounts?.filter((m) => m.hostPath.startsWith(podDir) && !m.hostPath.includes('volumes')) ?? [];
    assert.equal(own.length, c.want.length - (c.mounts?.length ?? 0), c.name);
  }
});

test('buildContainerConfig: failures carry the kubelet reason and message', async () => {
  const cases: { name: string; container: Record<string, unknown>; reason: string; message: string | RegExp }[] = [
    { name: 'unmapped image', container: { name: 'c', image: 'nope:1' }, reason: 'ErrImagePull', message: /image "nope:1" is not in the kubelite image catalog; map it with/ },
    { name: 'invalid image', container: { name: 'c', image: 'Bad/Name' }, reason: 'InvalidImageName', message: /invalid image reference "Bad\/Name"/ },
    {
      name: 'missing configMap for env',
      container: { name: 'c', image: 'busybox', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'missing', key: 'k' } } }] },
      reason: 'CreateContainerConfigError',
      message: 'configmap "missing" not found',
    },
    {
      name: 'missing secret key',
      container: { name: 'c', image: 'busybox', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'db', key: 'user' } } }] },
      reason: 'CreateContainerConfigError',
      message: "couldn't find key user in Secret shop/db",
    },
    {
      name: 'missing envFrom secret',
      container: { name: 'c', image: 'busybox', envFrom: [{ secretRef: { name: 'gone' } }] },
      reason: 'CreateContainerConfigError',
      message: 'secret "gone" not found',
    },
    {
      name: 'volumeMount naming no volume',
      container: { name: 'c', image: 'busybox', volumeMounts: [{ name: 'ghost', mountPath: '/g' }] },
      reason: 'CreateContainerConfigError',
      message: 'cannot find volume "ghost" to mount into container "c"',
    },
    {
      name: 'subPathExpr with unset variable',
      container: { name: 'c', image: 'busybox', volumeMounts: [{ name: 'data', mountPath: '/d', subPathExpr: '$(NOPE)/$(ALSO)' }] },
      reason: 'CreateContainerConfigError',
      message: 'missing value for ALSO, NOPE',
    },
    {
      name: 'absolute subPath',
      container: { name: 'c', image: 'busybox', volumeMounts: [{ name: 'data', mountPath: '/d', subPath: '/etc' }] },
      reason: 'CreateContainerConfigError',
      message: 'error SubPath `/etc` must not be an absolute path',
    },
    {
      name: 'subPath with ..',
      container: { name: 'c', image: 'busybox', volumeMounts: [{ name: 'data', mountPath: '/d', subPath: 'a/../../x' }] },
      reason: 'CreateContainerConfigError',
      message: "unable to provision SubPath `a/../../x`: must not contain '..'",
    },
  ];
  for (const c of cases) {
    const { input } = await fixture(c.container);
    const r = buildContainerConfig(input);
    assert.equal(r.ok, false, c.name);
    if (r.ok) continue;
    assert.equal(r.reason, c.reason, c.name);
    if (typeof c.message === 'string') assert.equal(r.message, c.message, c.name);
    else assert.match(r.message, c.message, c.name);
  }
});

test('buildContainerConfig: a subPath symlink escaping its volume is refused', async () => {
  const { input, podDir } = await fixture({ name: 'c', image: 'busybox', volumeMounts: [{ name: 'data', mountPath: '/d', subPath: 'evil' }] });
  await fsp.symlink('/etc', path.join(podDir, 'volumes/kubernetes.io~empty-dir/data/evil'));
  const r = buildContainerConfig(input);
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.reason, 'CreateContainerConfigError');
    assert.match(r.message, /^subpath "\/etc" not within volume path ".*kubernetes\.io~empty-dir\/data"$/);
  }
});

test('buildContainerConfig: envFrom warnings and user env overriding image defaults', async () => {
  const objs: KObject[] = [...OBJECTS, { kind: 'ConfigMap', metadata: { name: 'weird', namespace: 'shop' }, data: { '1bad': 'x', ok: 'y' } }];
  const { input } = await fixture({ name: 'c', image: 'busybox', envFrom: [{ configMapRef: { name: 'weird' } }], env: [{ name: 'PATH', value: '/opt/bin' }, { name: 'HOSTNAME', value: 'custom' }] });
  input.lookup = lookup(objs);
  input.catalog = emptyCatalog();
  const r = buildContainerConfig(input);
  assert.ok(r.ok);
  assert.equal(r.config.env.PATH, '/opt/bin');
  assert.equal(r.config.env.HOSTNAME, 'custom');
  assert.equal(r.config.env.ok, 'y');
  assert.deepEqual(r.warnings, ['Keys [1bad] from the EnvFrom configMap shop/weird were skipped since they are considered invalid environment variable names.']);
  assert.deepEqual(r.config.command, ['/bin/sh']);
  assert.equal(r.config.workingDir, undefined);
  assert.deepEqual(r.config.resources, {});
});
