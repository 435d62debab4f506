import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseFastYaml } from './fast-yaml.js';
import { parseManifests } from './load.js';
import { assertSameAsYamlPackage, fuzzAgainstYamlPackage } from './fast-testutil.js';

/** The fast path must give exactly what the yaml package gives: values, documents, positions. */
function assertSame(text: string, fastExpected: boolean): void {
  const fast = parseFastYaml(text, 100);
  assert.equal(fast !== undefined, fastExpected, `fast path ${fastExpected ? 'should' : 'should not'} accept:\n${text}`);
  assertSameAsYamlPackage(text);
}

const ACCEPTED: [string, string][] = [
  ['seed sample', readFileSync(new URL('../../../shared/examples/seed-app.yaml', import.meta.url), 'utf8')],
  ['indented lists, comments, markers', `# leading comment
---
apiVersion: v1   # trailing comment
kind: ConfigMap
metadata:
  name: "quoted name"
  labels: {}
  annotations:
    app.kubernetes.io/name: 'it''s'
    "quoted.key/x": "a \\"b\\" \\u00e9\\n"
data:
  script: |
    #!/bin/sh
    echo hi

      indented more
  stripped: |-
    one
    two


  empty: []
  num: 8080
  neg: -3
  mem: 128Mi
  cpu: 500m
  flag: --port=80
  path: /healthz
  url: http://example.com:80/x
  nothing:
  tilde: ~
  word: Never
---
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
`.replace('metadata: {name: x}', 'metadata:\n  name: x')],
  ['k8s style and indented sequences', `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: a
        args:
        - --a
        - "b c"
        ports:
          - containerPort: 80
            name: http
          -   containerPort: 81
      - name: b
        image: nginx:1.25
`],
  ['1.1 scalars via the yaml package', `apiVersion: v1
kind: ConfigMap
metadata:
  name: x
data:
  a: yes
  b: Off
  c: 0755
  d: 1.50
  e: 2001-12-14
  f: 0x1F
  g: 1e3
  h: .inf
  i: 12345678901234567890
`],
  ['List kind', `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata:
    name: s
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: c
`],
  ['missing kind reported the same way', 'apiVersion: v1\nmetadata:\n  name: x\n'],
  ['comment-only document between', 'apiVersion: v1\nkind: A\nmetadata:\n  name: a\n---\n# nothing\n---\napiVersion: v1\nkind: B\nmetadata:\n  name: b\n'],
];

const REFUSED: [string, string][] = [
  ['anchors and aliases', 'apiVersion: v1\nkind: A\nmetadata: &m\n  name: a\nx: *m\n'],
  ['flow mapping', 'apiVersion: v1\nkind: A\nmetadata: {name: a}\n'],
  ['flow sequence', 'apiVersion: v1\nkind: A\nx: [a, b]\n'],
  ['duplicate key', 'apiVersion: v1\nkind: A\nkind: B\n'],
  ['multi-line plain scalar', 'apiVersion: v1\nkind: A\nx: one\n  two\n'],
  ['folded block', 'apiVersion: v1\nkind: A\nx: >\n  one\n  two\n'],
  ['tab', 'apiVersion: v1\nkind:\tA\n'],
  ['CRLF', 'apiVersion: v1\r\nkind: A\r\n'],
  ['root list', '- a\n- b\n'],
  ['root scalar', 'hello\n'],
  ['bad indentation', 'apiVersion: v1\nkind: A\nmetadata:\n    name: a\n  x: 1\n'],
  ['unterminated quote', 'apiVersion: v1\nkind: "A\n'],
  ['tag', 'apiVersion: v1\nkind: !!str A\n'],
  ['directive', '%YAML 1.1\n---\napiVersion: v1\nkind: A\n'],
  ['merge key', 'apiVersion: v1\nkind: A\n<<:\n  x: 1\n'],
  ['numeric key', 'apiVersion: v1\nkind: A\ndata:\n  80: http\n'],
  ['key without space', 'apiVersion: v1\nkind: A\nx:y: 1\n'],
  ['value with colon-space', 'apiVersion: v1\nkind: A\nx: a: b\n'],
  ['null item', 'apiVersion: v1\nkind: A\nx:\n-\n- a\n'],
  ['document end marker', 'apiVersion: v1\nkind: A\n...\n'],
];

for (const [name, text] of ACCEPTED) {
  test(`fast path accepts and matches the yaml package: ${name}`, () => assertSame(text, true));
}
for (const [name, text] of REFUSED) {
  test(`fast path leaves to the yaml package (same result): ${name}`, () => assertSame(text, false));
}

test('fast path respects the depth limit (falls back, same error)', () => {
  let text = 'apiVersion: v1\nkind: A\nx:\n';
  for (let i = 1; i < 8; i++) text += `${'  '.repeat(i)}k${i}:\n`;
  text += `${'  '.repeat(8)}leaf: 1\n`;
  assert.equal(parseFastYaml(text, 5), undefined);
  assert.notEqual(parseFastYaml(text, 50), undefined);
  assert.match(parseManifests(text, 'f', { maxDepth: 5 }).errors[0]?.message ?? '', /nesting deeper than 5 levels/);
});

test('fast path matches the yaml package on a generated corpus (every kind the benchmark writes)', async () => {
  const { generateCorpus, toYamlFile } = await import('../../bench/lib/lintcorpus.js');
  const files = generateCorpus({ objects: 600, namespaces: 3 }).map((objs) => toYamlFile(objs));
  for (const text of files) assertSame(text, true);
});

test('fast path equals the yaml package on mutated manifests (accepts only what it reads exactly)', () => {
  const accepted = fuzzAgainstYamlPackage({
    base: ACCEPTED.map(([, text]) => text),
    pieces: [' ', '  ', '\n', ':', ': ', '- ', '#', ' #x', '"', "'", '|', '|-', '[]', '{}', '---\n', 'a', '0', '1.5', 'yes', '~', '&a ', '*a', '!!str ', '\\', 'é'],
    swapLines: true,
    fast: (text) => parseFastYaml(text, 100) !== undefined,
  });
  assert.ok(accepted > 40, `the fast path should still accept many mutated files (accepted ${accepted})`);
});
