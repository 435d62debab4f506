import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, openSync, ftruncateSync, closeSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseManifests, loadFile, loadPaths, parseBuffer, STDIN_NAME, LintInputError } from './load.js';
import { firstTooDeepLine } from './depth-scan.js';

const MULTI = `# a comment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: app
        image: nginx:1.27
        ports:
        - containerPort: 80
---
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ports: [{port: 80, targetPort: 8080}]
`;

describe('parseManifests: positions', () => {
  const r = parseManifests(MULTI, 'multi.yaml');
  it('loads both objects (the empty document is skipped) with their document index', () => {
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.objects.map((o) => [o.obj['kind'], o.source?.doc, o.source?.file]), [['Deployment', 0, 'multi.yaml'], ['Service', 2, 'multi.yaml']]);
  });
  const table: [number, (string | number)[], number, number][] = [
    [0, [], 2, 1],
    [0, ['kind'], 3, 1],
    [0, ['metadata', 'name'], 5, 3],
    [0, ['spec', 'template', 'spec', 'containers', 0], 10, 9],
    [0, ['spec', 'template', 'spec', 'containers', 0, 'image'], 11, 9],
    [0, ['spec', 'template', 'spec', 'containers', 0, 'ports', 0, 'containerPort'], 13, 11],
    // missing fields: the nearest existing ancestor
    [0, ['spec', 'template', 'spec', 'containers', 0, 'livenessProbe', 'httpGet'], 10, 9],
    [0, ['spec', 'replicas'], 6, 1],
    [0, ['spec', 'template', 'spec', 'containers', 5, 'image'], 9, 7],
    [1, ['metadata', 'name'], 18, 12],
    [1, ['spec', 'ports', 0, 'targetPort'], 20, 22],
  ];
  for (const [i, path, line, column] of table) {
    it(`object ${i} ${path.join('.') || '<root>'} is at ${line}:${column}`, () => {
      assert.deepEqual(r.objects[i]!.source!.locate(path), { line, column });
    });
  }
});

describe('parseManifests: CRLF and BOM', () => {
  it('positions are the same with CRLF line endings', () => {
    const r = parseManifests(MULTI.replace(/\n/g, '\r\n'), 'crlf.yaml');
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.objects[0]!.source!.locate(['spec', 'template', 'spec', 'containers', 0, 'image']), { line: 11, column: 9 });
    assert.deepEqual(r.objects[1]!.source!.locate(['spec', 'ports', 0, 'targetPort']), { line: 20, column: 22 });
  });
});

describe('parseManifests: Lists and JSON', () => {
  it('flattens kind: List (and *List) items, each locating its own fields', () => {
    const text = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: a
- apiVersion: v1
  kind: ServiceList
  items:
  - apiVersion: v1
    kind: Service
    metadata:
      name: b
`;
    const r = parseManifests(text, 'l.yaml');
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.objects.map((o) => o.obj['kind']), ['ConfigMap', 'Service']);
    assert.deepEqual(r.objects[0]!.source!.locate(['metadata', 'name']), { line: 7, column: 5 });
    assert.deepEqual(r.objects[1]!.source!.locate(['metadata', 'name']), { line: 14, column: 7 });
    assert.deepEqual(r.objects[1]!.source!.locate([]), { line: 11, column: 5 });
  });
  it('reads JSON with positions (a pretty-printed kubectl -o json List)', () => {
    const json = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x' }] } }] }, null, 2);
    const r = parseManifests(json, 'l.json');
    assert.deepEqual(r.errors, []);
    assert.equal(r.objects.length, 1);
    const lines = json.split('\n');
    const want = lines.findIndex((l) => l.includes('"image"')) + 1;
    assert.deepEqual(r.objects[0]!.source!.locate(['spec', 'containers', 0, 'image']), { line: want, column: lines[want - 1]!.indexOf('"image"') + 1 });
  });
});

describe('parseManifests: garbage is a LintInputError with file and line', () => {
  const cases: [string, string, RegExp, number | undefined][] = [
    ['invalid YAML', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: [x\n', /invalid YAML/, 5],
    ['tab indentation', 'apiVersion: v1\nkind: Pod\nmetadata:\n\tname: x\n', /invalid YAML/, 4],
    ['duplicate key', 'apiVersion: v1\nkind: Pod\nkind: Service\n', /invalid YAML: duplicate key "kind"/, 3],
    ['invalid JSON', '{"apiVersion": "v1", "kind": "Pod",, }', /invalid YAML/, 1],
    ['a scalar document', 'apiVersion: v1\nkind: Pod\n---\njust a string\n', /document is a string/, 4],
    ['a list document', '- a\n- b\n', /document is a list/, 1],
    ['no kind', 'apiVersion: v1\nmetadata:\n  name: x\n', /no kind/, 1],
    ['no apiVersion and kind', '---\nmetadata: {}\n', /no apiVersion and kind/, 2],
    ['List item not an object', 'apiVersion: v1\nkind: List\nitems:\n- 3\n', /List item 0 is not an object/, 4],
    ['10,000-deep flow nesting', '['.repeat(10_000) + ']'.repeat(10_000), /nesting deeper than 100/, 1],
    ['10,000-deep JSON', '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000), /nesting deeper than 100/, 1],
    ['deep block nesting', Array.from({ length: 200 }, (_, i) => ' '.repeat(i) + 'a:').join('\n') + ' 1\n', /nesting deeper than 100/, 101],
    ['deep compact sequences', 'x: ' + '- '.repeat(150) + 'a\n', /nesting deeper than 100|invalid YAML/, 1],
    [
      'alias bomb',
      'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n',
      /alias/i,
      1,
    ],
  ];
  for (const [name, text, re, line] of cases) {
    it(name, () => {
      const started = performance.now();
      const r = parseManifests(text, 'bad.yaml');
      assert.ok(performance.now() - started < 2000, 'fails fast');
      assert.equal(r.errors.length, 1, JSON.stringify(r.errors.map((e) => e.format())));
      const e = r.errors[0]!;
      assert.ok(e instanceof LintInputError);
      assert.equal(e.file, 'bad.yaml');
      assert.match(e.message, re);
      if (line !== undefined) assert.equal(e.line, line, e.format());
    });
  }
  it('keeps the good documents next to a bad one', () => {
    const r = parseManifests('apiVersion: v1\nkind: Pod\n---\nfoo: [\n---\napiVersion: v1\nkind: Service\n', 'f.yaml');
    assert.deepEqual(r.objects.map((o) => o.obj['kind']), ['Pod', 'Service']);
    assert.equal(r.errors.length, 1);
  });
  it('accepts realistic documents a scanner could misread (block scalars, quotes, brackets in strings)', () => {
    const script = Array.from({ length: 150 }, (_, i) => ' '.repeat(6 + i) + 'if [[ -f x ]]; then {').join('\n');
    const text = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  run.sh: |\n${script}\n  q: "[[[[{{{{ '"\n  r: 'it''s [ { ['\n  s: a [b {c\n`;
    const r = parseManifests(text, 'ok.yaml');
    assert.deepEqual(r.errors.map((e) => e.format()), []);
    assert.equal(r.objects.length, 1);
  });
  it('accepts 100 levels and refuses 101 (scanner and parsed value agree)', () => {
    const nest = (n: number): string => 'apiVersion: v1\nkind: X\na: ' + '['.repeat(n - 1) + ']'.repeat(n - 1) + '\n';
    assert.equal(firstTooDeepLine(nest(100), 100), undefined);
    assert.deepEqual(parseManifests(nest(100), 'f').errors, []);
    assert.equal(firstTooDeepLine(nest(101), 100), 3);
    assert.match(parseManifests(nest(101), 'f').errors[0]!.message, /nesting deeper than 100/);
  });
});

describe('files, directories, stdin', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kubelite-lint-load-'));
    mkdirSync(join(dir, 'sub', 'deeper'), { recursive: true });
    writeFileSync(join(dir, 'a.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n');
    writeFileSync(join(dir, 'sub', 'b.yml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n');
    writeFileSync(join(dir, 'sub', 'deeper', 'c.json'), '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}');
    writeFileSync(join(dir, 'sub', 'notes.txt'), 'not a manifest');
    symlinkSync(dir, join(dir, 'sub', 'loop'));
    writeFileSync(join(dir, 'nul.bin'), Buffer.from([0x61, 0x3a, 0x0a, 0x62, 0x00, 0x01]));
    writeFileSync(join(dir, 'latin1.yaml'), Buffer.from([0x61, 0x3a, 0x20, 0xe9, 0x0a]));
    writeFileSync(join(dir, 'bom.yaml'), '\ufeffapiVersion: v1\nkind: ConfigMap\nmetadata: {name: bom}\n');
    // 50 MB, sparse: created instantly, must be refused by its size without being read.
    const fd = openSync(join(dir, 'huge.yaml'), 'w');
    ftruncateSync(fd, 50 * 1024 * 1024);
    closeSync(fd);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('walks directories recursively (yaml, yml, json only; symlink loops once), sorted', async () => {
    const r = await loadPaths([dir]);
    const names = r.objects.map((o) => (o.obj['metadata'] as { name: string }).name);
    assert.deepEqual(names, ['a', 'bom', 'b', 'c']);
    // huge.yaml and latin1.yaml are in the directory: their errors are reported, the rest loads
    assert.deepEqual(r.errors.map((e) => e.file.slice(dir.length + 1)).sort(), ['huge.yaml', 'latin1.yaml']);
  });
  it('refuses a 50 MB file by its size, fast', () => {
    const started = performance.now();
    const r = loadFile(join(dir, 'huge.yaml'));
    assert.ok(performance.now() - started < 500);
    assert.match(r.errors[0]!.message, /file is 50 MiB, over the 10 MiB limit/);
  });
  it('refuses binary files: NUL bytes (with the line) and invalid UTF-8', () => {
    const nul = loadFile(join(dir, 'nul.bin')).errors[0]!;
    assert.match(nul.message, /binary file/);
    assert.equal(nul.line, 2);
    assert.match(loadFile(join(dir, 'latin1.yaml')).errors[0]!.message, /binary file \(invalid UTF-8\)/);
  });
  it('reports missing paths', async () => {
    const r = await loadPaths([join(dir, 'nope.yaml')]);
    assert.match(r.errors[0]!.format(), /nope\.yaml: no such file or directory/);
  });
  it('reads `-` from stdin, with a size limit', async () => {
    const ok = await loadPaths(['-'], { stdin: Readable.from([Buffer.from('apiVersion: v1\nkind: '), Buffer.from('Pod\n')]) });
    assert.deepEqual(ok.objects.map((o) => [o.obj['kind'], o.source!.file]), [['Pod', STDIN_NAME]]);
    const big = await loadPaths(['-'], { maxBytes: 10, stdin: Readable.from([Buffer.alloc(8, 0x20), Buffer.alloc(8, 0x20)]) });
    assert.match(big.errors[0]!.format(), /<stdin>: input is over the 10 bytes limit/);
  });
  it('parseBuffer checks the limit too', () => {
    assert.match(parseBuffer(Buffer.alloc(20, 0x20), 'x', { maxBytes: 10 }).errors[0]!.message, /over the 10 bytes limit/);
  });
  it('-k without kubectl is a clear error', async () => {
    const r = await loadPaths([], { kustomize: [dir], kubectl: join(dir, 'no-kubectl') });
    assert.match(r.errors[0]!.message, /-k needs kubectl/);
  });
});
