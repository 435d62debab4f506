import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Definitions, Schema } from '../schema.js';
import { RESOURCES } from '../resources.js';
import { defs as apps } from './apps.js';
import { defs as autoscaling } from './autoscaling.js';
import { defs as coordination } from './coordination.js';
import { defs as discovery } from './discovery.js';
import { defs as events } from './events.js';
import { defs as networking } from './networking.js';
import { defs as policy } from './policy.js';

const files: Record<string, Definitions> = { apps, autoscaling, coordination, discovery, events, networking, policy };
const all: Definitions = Object.assign({}, ...Object.values(files));
const OWN = /^io\.k8s\.api\.(apps|autoscaling|coordination|discovery|events|networking|policy)\./;

function refsOf(s: Schema, out: string[] = []): string[] {
  if (s.type === 'ref') out.push(s.ref);
  else if (s.type === 'array') refsOf(s.items, out);
  else if (s.type === 'map') refsOf(s.values, out);
  else if (s.type === 'object') for (const p of Object.values(s.properties)) refsOf(p, out);
  return out;
}

describe('non-core definitions', () => {
  it('no definition is defined by two files', () => {
    const n = Object.values(files).reduce((acc, d) => acc + Object.keys(d).length, 0);
    assert.equal(Object.keys(all).length, n);
  });

  it('every reference into our own packages resolves', () => {
    for (const [name, s] of Object.entries(all)) {
      for (const r of refsOf(s)) if (OWN.test(r)) assert.ok(all[r], `${name} -> ${r}`);
    }
  });

  const served = RESOURCES.filter((r) => OWN.test(r.definition));
  for (const res of served) {
    it(`${res.group}/${res.version} ${res.kind} and its list carry their gvk`, () => {
      for (const kind of [res.kind, `${res.kind}List`]) {
        const d = all[res.definition.replace(/[^.]+$/, kind)];
        assert.ok(d && d.type === 'object', kind);
        assert.deepEqual(d.gvk, [{ group: res.group, version: res.version, kind }]);
      }
    });
  }

  const required: [string, string[]][] = [
    ['io.k8s.api.apps.v1.DeploymentSpec', ['selector', 'template']],
    ['io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler', ['spec']],
    ['io.k8s.api.events.v1.Event', ['eventTime']],
    ['io.k8s.api.discovery.v1.EndpointSlice', ['addressType']],
  ];
  for (const [name, req] of required) {
    it(`${name} requires ${req.join(', ')}`, () => {
      const d = all[name];
      assert.ok(d && d.type === 'object');
      assert.deepEqual(d.required, req);
    });
  }
});
