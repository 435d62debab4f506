/**
 * `kubelite lint` as a user runs it: in-process through lintCommand (with test checks, so the
 * exit-code policy is tested independently of the real checks), and a few real processes
 * through src/cli/main.ts (stdin, directories, -k, formats, input errors).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { lintCommand } from '../../src/cli/lint.js';
import type { Check } from '../../src/lint/types.js';

const ROOT = new URL('../..', import.meta.url).pathname;
/** tsx by URL, so the CLI can run with another working directory. */
const TSX = import.meta.resolve('tsx');

const fake = (id: string, severity: Check['severity'], kind: string): Check => ({
  id,
  severity,
  description: `flags every ${kind}`,
  kinds: [kind],
  scope: 'object',
  admission: true,
  origin: {},
  run: () => [{ message: `${id} found it`, path: ['metadata', 'name'] }],
});
const CHECKS = [fake('err-pod', 'error', 'Pod'), fake('warn-svc', 'warning', 'Service'), fake('info-cm', 'info', 'ConfigMap')];

const POD = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n';
const SVC = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n';
const CM = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n';

async function runIn(args: string[], o: { stdin?: string; cwd?: string } = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await lintCommand(args, {
    checks: CHECKS,
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
    cwd: o.cwd ?? '/nonexistent-cwd',
    ...(o.stdin !== undefined ? { stdin: Readable.from([Buffer.from(o.stdin)]) } : {}),
  });
  return { code, out, err };
}

describe('kubelite lint (in process): exit codes and flags', () => {
  const cases: [string, string[], string, number, RegExp?][] = [
    ['clean input exits 0', ['-'], 'apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n', 0, /No findings in 1 object/],
    ['an error finding exits 1', ['-'], POD, 1],
    ['a warning exits 1 with the default --fail-on warning', ['-'], SVC, 1],
    ['an info finding exits 0 by default', ['-'], CM, 0],
    ['--fail-on info makes info fail', ['-', '--fail-on', 'info'], CM, 1],
    ['--fail-on error lets warnings pass', ['-', '--fail-on', 'error'], SVC, 0],
    ['--disable removes the check', ['-', '--disable', 'err-pod'], POD, 0],
    ['--enable runs only the listed checks (comma lists too)', ['-', '--enable', 'info-cm,warn-svc'], POD + '---\n' + CM, 0],
    ['unknown --enable id is a usage error', ['-', '--enable', 'nope'], POD, 2, /unknown check: nope/],
    ['bad --format', ['-', '--format', 'xml'], POD, 2, /--format must be human, json, sarif or junit/],
    ['bad --fail-on', ['-', '--fail-on', 'fatal'], POD, 2, /--fail-on must be error, warning or info/],
    ['unknown flag', ['-', '--frobnicate'], POD, 2, /Unknown option '--frobnicate'/],
    ['no input', [], POD, 2, /no input/],
    ['empty input is clean, with a warning on stderr', ['-'], '# nothing\n---\n', 0, /warning: the input holds no Kubernetes objects/],
    ['invalid YAML exits 2 with file and line', ['-'], POD + '---\nkind: [\n', 2, /<stdin>:\d+:\d+: invalid YAML/],
    ['a document without kind exits 2 with its line', ['-'], POD + '---\napiVersion: v1\nmetadata: {}\n', 2, /<stdin>:6:1: object has no kind/],
    ['input over --max-file-size exits 2', ['-', '--max-file-size', '40'], POD + POD, 2, /<stdin>: input is over the 40 bytes limit/],
    ['--max-file-size with units lets it through', ['-', '--max-file-size', '1Ki'], POD, 1],
    ['bad --max-file-size', ['-', '--max-file-size', '12x'], POD, 2, /--max-file-size must be a size/],
  ];
  for (const [name, args, stdin, code, re] of cases) {
    it(name, async () => {
      const r = await runIn(args, { stdin });
      assert.equal(r.code, code, r.out + r.err);
      if (re) assert.match(r.out + r.err, re);
      if (code === 2) assert.equal(r.out, '', 'nothing on stdout for usage/input errors');
    });
  }
  it('--list prints every check (and JSON with --format json)', async () => {
    const r = await runIn(['--list']);
    assert.equal(r.code, 0);
    for (const c of CHECKS) assert.match(r.out, new RegExp(`^${c.id}\\s+${c.severity}`, 'm'));
    const j = await runIn(['--list', '--format', 'json']);
    assert.deepEqual((JSON.parse(j.out) as { id: string }[]).map((c) => c.id), ['err-pod', 'warn-svc', 'info-cm']);
  });
  it('--help prints the usage with the ignore annotations', async () => {
    const r = await runIn(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.out, /kubelite\.io\/lint-ignore\.container\.NAME/);
  });

  describe('config file', () => {
    let dir: string;
    before(() => (dir = mkdtempSync(join(tmpdir(), 'kubelite-lint-cli-cfg-'))));
    after(() => rmSync(dir, { recursive: true, force: true }));
    it('the default file in cwd applies (disable, failOn); flags win over it', async () => {
      writeFileSync(join(dir, '.kubelite-lint.yaml'), 'disable: [err-pod]\nfailOn: info\n');
      assert.equal((await runIn(['-'], { stdin: POD, cwd: dir })).code, 0, 'err-pod disabled by the file');
      assert.equal((await runIn(['-'], { stdin: CM, cwd: dir })).code, 1, 'failOn info from the file');
      assert.equal((await runIn(['-', '--fail-on', 'warning'], { stdin: CM, cwd: dir })).code, 0, '--fail-on wins');
      assert.equal((await runIn(['-', '--enable', 'err-pod'], { stdin: POD, cwd: dir })).code, 1, '--enable re-enables');
    });
    it('severity overrides apply to findings', async () => {
      writeFileSync(join(dir, 'c.yaml'), 'severity: {err-pod: info}\n');
      const r = await runIn(['-', '--config', join(dir, 'c.yaml'), '--format', 'json'], { stdin: POD });
      assert.equal(r.code, 0);
      assert.equal((JSON.parse(r.out) as { severity: string }[])[0]!.severity, 'info');
    });
    it('an invalid config is exit 2 with file and line', async () => {
      writeFileSync(join(dir, 'bad.yaml'), 'enable: [err-pod]\ndisable: [typo]\n');
      const r = await runIn(['-', '--config', join(dir, 'bad.yaml')], { stdin: POD });
      assert.equal(r.code, 2);
      assert.match(r.err, /bad\.yaml:2: disable: unknown check typo/);
    });
  });
});

/** Runs the real CLI: node --import tsx src/cli/main.ts lint ... */
function runCli(args: string[], o: { stdin?: string; cwd?: string } = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', TSX, join(ROOT, 'src/cli/main.ts'), 'lint', ...args], { cwd: o.cwd ?? ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => resolve({ code, out, err }));
    child.stdin.end(o.stdin ?? '');
  });
}

describe('kubelite lint (real process)', () => {
  let dir: string;
  const BAD_DEPLOY = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: nginx:latest
`;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kubelite-lint-cli-'));
    mkdirSync(join(dir, 'manifests', 'nested'), { recursive: true });
    writeFileSync(join(dir, 'manifests', 'nested', 'deploy.yaml'), BAD_DEPLOY);
    writeFileSync(join(dir, 'manifests', 'readme.md'), '# not linted');
    mkdirSync(join(dir, 'kust'));
    writeFileSync(join(dir, 'kust', 'kustomization.yaml'), 'resources:\n- deploy.yaml\nnamePrefix: k-\n');
    writeFileSync(join(dir, 'kust', 'deploy.yaml'), BAD_DEPLOY);
    writeFileSync(join(dir, 'garbage.yaml'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x00, 0x00]));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a directory, recursively, as JSON with file and line of the field; exit 1', async () => {
    const r = await runCli([join(dir, 'manifests'), '--format', 'json', '--enable', 'image-tag']);
    assert.equal(r.code, 1, r.err);
    const findings = JSON.parse(r.out) as { check: string; file: string; line: number; column: number }[];
    assert.deepEqual(findings.map((f) => [f.check, f.file, f.line, f.column]), [['image-tag', join(dir, 'manifests', 'nested', 'deploy.yaml'), 13, 9]]);
  });
  it('stdin with SARIF (relative to cwd) and the ignore annotation; exit 0 when ignored', async () => {
    const sarif = await runCli(['-', '--format', 'sarif', '--enable', 'image-tag'], { stdin: BAD_DEPLOY, cwd: dir });
    assert.equal(sarif.code, 1, sarif.err);
    const log = JSON.parse(sarif.out) as { runs: { results: { ruleId: string; locations: { physicalLocation: { artifactLocation: { uri: string }; region: unknown } }[] }[] }[] };
    assert.equal(log.runs[0]!.results[0]!.ruleId, 'image-tag');
    assert.deepEqual(log.runs[0]!.results[0]!.locations[0]!.physicalLocation, { artifactLocation: { uri: 'stdin' }, region: { startLine: 13, startColumn: 9 } });
    const ignored = BAD_DEPLOY.replace('  name: web\n', '  name: web\n  annotations:\n    kubelite.io/lint-ignore.container.app: image-tag\n');
    const r = await runCli(['-', '--enable', 'image-tag'], { stdin: ignored });
    assert.equal(r.code, 0, r.out + r.err);
  });
  it('garbage input: exit 2, the file on stderr, no stack trace', async () => {
    const r = await runCli([join(dir, 'garbage.yaml'), join(dir, 'manifests')]);
    assert.equal(r.code, 2);
    assert.match(r.err, /garbage\.yaml:1: binary file/);
    assert.doesNotMatch(r.err, /\bat .*\.ts:\d+/);
    assert.equal(r.out, '');
  });
  it('-k renders a kustomization with kubectl (skipped without kubectl)', async (t) => {
    if (spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status !== 0) {
      t.skip('kubectl is not installed');
      return;
    }
    const r = await runCli(['-k', join(dir, 'kust'), '--format', 'junit', '--enable', 'image-tag']);
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /<testsuite name="[^"]*kust \(kustomized\)" tests="1" failures="1"/);
    assert.match(r.out, /<testcase name="Deployment k-web"/);
  });
});

describe('kubelite lint: optional checks', () => {
  const SEED = new URL('../../../shared/examples/seed-app.yaml', import.meta.url).pathname;
  const ids = async (args: string[]): Promise<{ code: number; ids: string[]; out: string }> => {
    let out = '';
    const code = await lintCommand(args, { stdout: (s) => (out += s), stderr: () => {} });
    return { code, out, ids: args.includes('--list') ? [] : (JSON.parse(out) as { check: string }[]).map((f) => f.check) };
  };
  it('are off by default and run with --enable-optional; --list marks them', { skip: existsSync(SEED) ? false : 'no seed sample' }, async () => {
    assert.ok(!(await ids([SEED, '--format', 'json'])).ids.includes('container-ephemeral-storage'));
    const on = await ids([SEED, '--format', 'json', '--enable-optional', 'container-ephemeral-storage']);
    assert.ok(on.ids.includes('container-ephemeral-storage'), on.ids.join(','));
    assert.equal((await lintCommand([SEED, '--enable-optional', 'image-tag'], { stdout: () => {}, stderr: () => {} })), 2, 'a default check is not optional');
    const list = await ids(['--list']);
    assert.match(list.out, /^container-ephemeral-storage .*\(optional: --enable-optional\)/m);
  });
});
