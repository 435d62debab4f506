import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  normalizeImageRef,
  resolveImage,
  parseCatalog,
  loadCatalog,
  saveMapping,
  watchCatalog,
  imageMapCommand,
  emptyCatalog,
  catalogPath,
  type ImageCatalog,
} from './images.js';

const tmpDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'kl-images-'));

test('normalizeImageRef: docker rules', () => {
  const D = 'sha256:' + 'a'.repeat(64);
  const table: Array<[string, string, string]> = [
    // ref, canonical, name
    ['busybox', 'docker.io/library/busybox:latest', 'docker.io/library/busybox'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36', 'docker.io/library/busybox'],
    ['docker.io/library/busybox', 'docker.io/library/busybox:latest', 'docker.io/library/busybox'],
    ['index.docker.io/library/alpine:3', 'docker.io/library/alpine:3', 'docker.io/library/alpine'],
    ['docker.io/alpine', 'docker.io/library/alpine:latest', 'docker.io/library/alpine'],
    ['kubelite/demo-web', 'docker.io/kubelite/demo-web:latest', 'docker.io/kubelite/demo-web'],
    ['my-image:v1.0.0', 'docker.io/library/my-image:v1.0.0', 'docker.io/library/my-image'],
    ['registry.k8s.io/e2e-test-images/agnhost:2.52', 'registry.k8s.io/e2e-test-images/agnhost:2.52', 'registry.k8s.io/e2e-test-images/agnhost'],
    ['localhost/foo', 'localhost/foo:latest', 'localhost/foo'],
    ['localhost:5000/foo:1', 'localhost:5000/foo:1', 'localhost:5000/foo'],
    [`debian@${D}`, `docker.io/library/debian@${D}`, 'docker.io/library/debian'],
    [`debian:12@${D}`, `docker.io/library/debian:12@${D}`, 'docker.io/library/debian'],
  ];
  for (const [ref, canonical, name] of table) {
    const r = normalizeImageRef(ref);
    assert.equal(r.canonical, canonical, ref);
    assert.equal(r.name, name, ref);
  }
  for (const bad of ['', ' busybox', 'BusyBox', 'foo:', 'foo@sha256:xyz', 'a//b', 'foo:bad tag']) {
    assert.throws(() => normalizeImageRef(bad), /invalid image reference/, JSON.stringify(bad));
  }
});

test('resolveImage: built-ins, user mappings, unmapped', () => {
  const cat: ImageCatalog = parseCatalog(`
images:
  "my-image:v1.0.0": { builtin: kubelite/demo-web }
  "tool:1": { command: [/usr/bin/python3, -m, http.server] }
  "busybox:custom": { command: [/bin/true] }
  "myshell": { builtin: shell }
`);
  const table: Array<[string, unknown]> = [
    ['kubelite/demo-web', { kind: 'builtin', name: 'kubelite/demo-web' }],
    ['docker.io/kubelite/demo-web:v2', { kind: 'builtin', name: 'kubelite/demo-web' }],
    ['registry.k8s.io/e2e-test-images/agnhost:2.52', { kind: 'builtin', name: 'agnhost' }],
    ['registry.k8s.io/e2e-test-images/agnhost:2.39', { kind: 'builtin', name: 'agnhost' }],
    ['busybox', { kind: 'command', command: ['/bin/sh'] }],
    ['busybox:1.36', { kind: 'command', command: ['/bin/sh'] }],
    ['docker.io/library/alpine:3.19', { kind: 'command', command: ['/bin/sh'] }],
    ['debian:bookworm', { kind: 'command', command: ['/bin/sh'] }],
    ['my-image:v1.0.0', { kind: 'builtin', name: 'kubelite/demo-web' }],
    ['docker.io/library/my-image:v1.0.0', { kind: 'builtin', name: 'kubelite/demo-web' }],
    ['tool:1', { kind: 'command', command: ['/usr/bin/python3', '-m', 'http.server'] }],
    ['busybox:custom', { kind: 'command', command: ['/bin/true'] }], // user wins over built-in
    ['myshell:latest', { kind: 'command', command: ['/bin/sh'] }],
  ];
  for (const [ref, want] of table) assert.deepEqual(resolveImage(ref, cat), want, ref);

  const un = resolveImage('my-image:v2', cat);
  assert.equal(un.kind, 'unmapped');
  if (un.kind === 'unmapped') {
    assert.equal(un.reason, 'ErrImagePull');
    assert.match(un.message, /kubelite image map my-image:v2 --builtin kubelite\/demo-web/);
    assert.match(un.message, /kubelite image map my-image:v2 --command CMD \[ARG\.\.\.\]/);
  }
  const unE = resolveImage('my-image:v1.0.0', emptyCatalog());
  assert.equal(unE.kind, 'unmapped');
  const inv = resolveImage('Bad:Image', cat);
  assert.equal(inv.kind === 'unmapped' && inv.reason, 'InvalidImageName');
});

test('parseCatalog: bad files give clear errors', () => {
  const table: Array<[string, RegExp]> = [
    ['images: [1, 2]', /"images" must be a map/],
    ['- a', /top level must be a map/],
    ['foo: 1', /unknown top-level field\(s\) foo/],
    ['images:\n  x: { builtin: nope }', /images\["x"\]\.builtin: must be one of/],
    ['images:\n  x: { command: [] }', /images\["x"\]\.command: must be a non-empty list/],
    ['images:\n  x: { command: [1] }', /command: must be a non-empty list/],
    ['images:\n  x: { builtin: agnhost, command: [a] }', /exactly one of/],
    ['images:\n  x: {}', /exactly one of/],
    ['images:\n  x: { builtin: agnhost, extra: 1 }', /unknown field\(s\) extra/],
    ['images:\n  x: 3', /must be a map with/],
    ['images:\n  "Bad": { builtin: agnhost }', /images\["Bad"\]: invalid image reference/],
    ['images:\n  x: { builtin: agnhost }\n  "x:latest": { builtin: agnhost }', /duplicate/],
    ['images: {x: [', /invalid YAML/],
  ];
  for (const [text, re] of table) assert.throws(() => parseCatalog(text, 'f.yaml'), re, text);
  assert.equal(parseCatalog('').mappings.size, 0);
  assert.equal(parseCatalog('images:').mappings.size, 0);
});

test('loadCatalog / saveMapping: missing file, atomic rewrite, replace by normalised ref', () => {
  const dir = tmpDir();
  try {
    const file = path.join(dir, 'sub', 'images.yaml');
    assert.equal(loadCatalog(file).mappings.size, 0);
    saveMapping(file, 'my-image:v1.0.0', { builtin: 'kubelite/demo-web' });
    saveMapping(file, 'tool', { command: ['/bin/echo', 'hi'] });
    assert.deepEqual(resolveImage('my-image:v1.0.0', loadCatalog(file)), { kind: 'builtin', name: 'kubelite/demo-web' });
    // Same image spelled differently replaces the entry instead of duplicating it.
    saveMapping(file, 'docker.io/library/my-image:v1.0.0', { command: ['/bin/true'] });
    const cat = loadCatalog(file);
    assert.equal(cat.mappings.size, 2);
    assert.deepEqual(resolveImage('my-image:v1.0.0', cat), { kind: 'command', command: ['/bin/true'] });
    assert.deepEqual(resolveImage('tool:latest', cat), { kind: 'command', command: ['/bin/echo', 'hi'] });
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['images.yaml']); // no temp files left
    assert.throws(() => saveMapping(file, 'x', { builtin: 'nope' as 'shell' }), /must be one of/);
    fs.writeFileSync(file, 'images: {x: {builtin: nope}}');
    assert.throws(() => loadCatalog(file), /images\.yaml: images\["x"\]\.builtin/);
    assert.throws(() => saveMapping(file, 'y', { builtin: 'agnhost' }), /builtin: must be one of/); // never clobbers a bad file
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('watchCatalog: re-reads on change, reports bad files', async () => {
  const dir = tmpDir();
  const file = path.join(dir, 'images.yaml');
  const seen: ImageCatalog[] = [];
  const errors: Error[] = [];
  const w = watchCatalog(file, (c) => seen.push(c), { intervalMs: 20, onError: (e) => errors.push(e) });
  const until = async (cond: () => boolean): Promise<void> => {
    for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(cond(), 'timed out');
  };
  try {
    await new Promise((r) => setTimeout(r, 50));
    saveMapping(file, 'my-image:v1.0.0', { builtin: 'kubelite/demo-web' });
    await until(() => seen.length >= 1);
    assert.equal(resolveImage('my-image:v1.0.0', seen.at(-1)!).kind, 'builtin');
    fs.writeFileSync(file, 'images: [broken, file]');
    await until(() => errors.length >= 1);
    assert.match(errors[0].message, /"images" must be a map/);
  } finally {
    w.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('imageMapCommand: parses args, writes DIR/images.yaml, clear errors', () => {
  const dir = tmpDir();
  try {
    const run = (args: string[]): [number, string, string] => {
      let out = '';
      let err = '';
      const code = imageMapCommand(args, { dataDir: dir, stdout: (s) => (out += s), stderr: (s) => (err += s) });
      return [code, out, err];
    };
    const bad: Array<[string[], RegExp]> = [
      [[], /missing subcommand/],
      [['list'], /unknown subcommand "list"/],
      [['map'], /missing image reference/],
      [['map', '--builtin', 'agnhost'], /missing image reference/],
      [['map', 'x'], /missing --builtin NAME or --command CMD/],
      [['map', 'x', '--foo'], /unknown flag "--foo"/],
      [['map', 'x', '--builtin'], /--builtin needs a NAME/],
      [['map', 'x', '--builtin', 'nope'], /unknown builtin "nope"/],
      [['map', 'x', '--builtin', 'agnhost', 'extra'], /unexpected argument/],
      [['map', 'x', '--command'], /--command needs CMD/],
      [['map', 'Bad', '--builtin', 'agnhost'], /invalid image reference/],
    ];
    for (const [args, re] of bad) {
      const [code, , err] = run(args);
      assert.equal(code, 1, args.join(' '));
      assert.match(err, re, args.join(' '));
      assert.match(err, /usage: kubelite image map REF/);
    }
    assert.equal(fs.existsSync(catalogPath(dir)), false);

    assert.equal(run(['map', 'my-image:v1.0.0', '--builtin', 'kubelite/demo-web'])[0], 0);
    const [code, out] = run(['map', 'tool:1', '--command', 'python3', '-m', 'http.server', '--bind', '0.0.0.0']);
    assert.equal(code, 0);
    assert.match(out, /tool:1 mapped to command/);
    const cat = loadCatalog(catalogPath(dir));
    assert.deepEqual(resolveImage('my-image:v1.0.0', cat), { kind: 'builtin', name: 'kubelite/demo-web' });
    assert.deepEqual(resolveImage('tool:1', cat), {
      kind: 'command',
      command: ['python3', '-m', 'http.server', '--bind', '0.0.0.0'],
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
