import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifests } from '../load.js';
import { lintObjects } from '../run.js';
import { containersOf, podTemplateOf } from '../objects.js';
import type { Check } from '../types.js';
import { formatHuman } from './human.js';
import { formatJson } from './json.js';
import { toSarif } from './sarif.js';
import { formatJunit, esc } from './junit.js';
import { pathString } from './common.js';
import type { FormatInput } from './common.js';

const tagCheck: Check = {
  id: 'test-tag',
  severity: 'warning',
  description: 'Images need a version tag.',
  kinds: ['Deployment'],
  scope: 'object',
  admission: true,
  origin: {},
  run: (obj) => {
    const t = podTemplateOf(obj);
    if (!t) return [];
    return containersOf(t)
      .filter((c) => !String(c.container['image']).includes(':'))
      .map((c) => ({ message: `image of <${c.name}> has no tag & "no" version: pin one`, path: [...c.path, 'image'], container: c.name }));
  },
};
const probeCheck: Check = {
  id: 'test-probe',
  severity: 'info',
  description: 'Containers should have probes.',
  kinds: ['Deployment'],
  scope: 'object',
  admission: true,
  origin: {},
  run: (obj) => {
    const t = podTemplateOf(obj);
    return t ? containersOf(t).map((c) => ({ message: 'add a readinessProbe', path: [...c.path, 'readinessProbe'], container: c.name })) : [];
  },
};
const CHECKS = [tagCheck, probeCheck];

const TEXT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
spec:
  template:
    spec:
      containers:
      - name: app
        image: nginx
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: clean
`;

function input(failOn: FormatInput['failOn'] = 'warning'): FormatInput {
  const { objects, errors } = parseManifests(TEXT, 'dir/app.yaml');
  assert.deepEqual(errors, []);
  return { objects, findings: lintObjects(objects, { checks: CHECKS }), checks: CHECKS, failOn, cwd: '/repo', docsUri: 'https://example.test/docs/lint.md' };
}

describe('formats (golden)', () => {
  it('human', () => {
    assert.equal(
      formatHuman(input()),
      `Deployment prod/web (dir/app.yaml:1)
  dir/app.yaml:10:9  info  test-probe  add a readinessProbe
  dir/app.yaml:11:9  warning  test-tag  image of <app> has no tag & "no" version: pin one

2 findings (0 error, 1 warning, 1 info) in 1 of 2 objects; 1 at or above --fail-on warning.
`,
    );
    assert.equal(formatHuman({ ...input(), findings: [] }), 'No findings in 2 objects.\n');
  });

  it('json', () => {
    assert.deepEqual(JSON.parse(formatJson(input())), [
      {
        check: 'test-probe',
        severity: 'info',
        message: 'add a readinessProbe',
        file: 'dir/app.yaml',
        line: 10,
        column: 9,
        path: 'spec.template.spec.containers[0].readinessProbe',
        container: 'app',
        object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'prod', name: 'web' },
      },
      {
        check: 'test-tag',
        severity: 'warning',
        message: 'image of <app> has no tag & "no" version: pin one',
        file: 'dir/app.yaml',
        line: 11,
        column: 9,
        path: 'spec.template.spec.containers[0].image',
        container: 'app',
        object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'prod', name: 'web' },
      },
    ]);
  });

  it('sarif', () => {
    const log = toSarif(input()) as { runs: { tool: { driver: { rules: unknown[] } }; results: unknown[]; originalUriBaseIds: unknown }[]; version: string };
    assert.equal(log.version, '2.1.0');
    assert.deepEqual(log.runs[0]!.tool.driver.rules, [
      { id: 'test-tag', shortDescription: { text: 'Images need a version tag.' }, helpUri: 'https://example.test/docs/lint.md#test-tag', defaultConfiguration: { level: 'warning' } },
      { id: 'test-probe', shortDescription: { text: 'Containers should have probes.' }, helpUri: 'https://example.test/docs/lint.md#test-probe', defaultConfiguration: { level: 'note' } },
    ]);
    assert.deepEqual(log.runs[0]!.originalUriBaseIds, { '%SRCROOT%': { uri: 'file:///repo/' } });
    assert.deepEqual(log.runs[0]!.results[1], {
      ruleId: 'test-tag',
      ruleIndex: 0,
      level: 'warning',
      message: { text: 'image of <app> has no tag & "no" version: pin one' },
      locations: [
        {
          physicalLocation: { artifactLocation: { uri: 'dir/app.yaml', uriBaseId: '%SRCROOT%' }, region: { startLine: 11, startColumn: 9 } },
          logicalLocations: [{ fullyQualifiedName: 'Deployment prod/web.spec.template.spec.containers[0].image', kind: 'object' }],
        },
      ],
    });
    assert.equal((log.runs[0]!.results[0] as { level: string }).level, 'note');
  });

  it('sarif URIs: outside cwd absolute, stdin, spaces encoded', () => {
    const base = input();
    const withFile = (file: string): unknown => {
      const f = { ...base.findings[0]!, source: { ...base.findings[0]!.source!, file } };
      return ((toSarif({ ...base, findings: [f] }) as { runs: { results: { locations: { physicalLocation: { artifactLocation: unknown } }[] }[] }[] }).runs[0]!.results[0]!.locations[0]!.physicalLocation.artifactLocation);
    };
    assert.deepEqual(withFile('/elsewhere/x.yaml'), { uri: 'file:///elsewhere/x.yaml' });
    assert.deepEqual(withFile('<stdin>'), { uri: 'stdin' });
    assert.deepEqual(withFile('/repo/my dir/a#b.yaml'), { uri: 'my%20dir/a%23b.yaml', uriBaseId: '%SRCROOT%' });
  });

  it('junit: a suite per file, a case per object, failures at or above --fail-on, escaped', () => {
    assert.equal(
      formatJunit(input()),
      `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="kubelite lint" tests="2" failures="1" errors="0">
  <testsuite name="dir/app.yaml" tests="2" failures="1" errors="0" skipped="0">
    <testcase name="Deployment prod/web" classname="dir/app.yaml">
      <failure message="image of &lt;app&gt; has no tag &amp; &quot;no&quot; version: pin one" type="test-tag">dir/app.yaml:11:9 warning test-tag image of &lt;app&gt; has no tag &amp; &quot;no&quot; version: pin one [Deployment prod/web]</failure>
      <system-out>dir/app.yaml:10:9 info test-probe add a readinessProbe [Deployment prod/web]</system-out>
    </testcase>
    <testcase name="ConfigMap clean" classname="dir/app.yaml"/>
  </testsuite>
</testsuites>
`,
    );
    assert.equal((formatJunit(input('info')).match(/<failure /g) ?? []).length, 2);
    assert.equal((formatJunit(input('error')).match(/<failure /g) ?? []).length, 0);
  });

  it('esc removes characters XML cannot hold', () => {
    assert.equal(esc('a\u0000b\u001bc\nd'), 'a\ufffdb\ufffdc&#10;d');
    assert.equal(esc('x\ud800y', false), 'x\ufffdy');
  });

  it('pathString', () => {
    assert.equal(pathString(['metadata', 'annotations', 'kubelite.io/x', 0]), 'metadata.annotations["kubelite.io/x"][0]');
    assert.equal(pathString([]), '');
  });
});
