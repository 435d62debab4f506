/**
 * Internal-consistency tests for the core/v1 Pod/Node closure. Field-by-field parity with the
 * upstream OpenAPI document is checked separately (test/schema-compare.test.ts); these tests pin
 * the invariants other parts rely on: references resolve, each name is defined once, and the
 * strategic-merge metadata that patching depends on is present.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ArraySchema, Definitions, ObjectSchema, Schema } from '../schema.js';
import { defs as containerDefs } from './core-container.js';
import { defs as nodeDefs } from './core-node.js';
import { defs, podDefs } from './core-pod.js';
import { defs as volumeDefs, VOLUME_SOURCE_FIELDS } from './core-volume.js';

const P = 'io.k8s.api.core.v1.';
/** Definitions these modules reference but others own (core.ts, meta.ts). */
const EXTERNAL = new Set([
  `${P}ObjectReference`,
  `${P}LocalObjectReference`,
  'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta',
  'io.k8s.apimachinery.pkg.apis.meta.v1.Time',
  'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector',
  'io.k8s.apimachinery.pkg.api.resource.Quantity',
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString',
]);

function objectDef(name: string): ObjectSchema {
  const d = defs[P + name];
  assert.ok(d, `${name} is defined`);
  assert.equal(d.type, 'object', `${name} is an object`);
  return d as ObjectSchema;
}

function refsIn(s: Schema, out: Set<string>): void {
  if (s.type === 'ref') out.add(s.ref);
  else if (s.type === 'array') refsIn(s.items, out);
  else if (s.type === 'map') refsIn(s.values, out);
  else if (s.type === 'object') for (const p of Object.values(s.properties)) refsIn(p, out);
}

describe('core/v1 pod closure', () => {
  it('every reference resolves to a local or a known external definition', () => {
    const refs = new Set<string>();
    for (const d of Object.values(defs)) refsIn(d, refs);
    const dangling = [...refs].filter((r) => !defs[r] && !EXTERNAL.has(r));
    assert.deepEqual(dangling, []);
  });

  it('defines each name in exactly one module, and the merged table is their union', () => {
    const modules: Definitions[] = [podDefs, containerDefs, volumeDefs, nodeDefs];
    const seen = new Map<string, number>();
    for (const m of modules) for (const k of Object.keys(m)) seen.set(k, (seen.get(k) ?? 0) + 1);
    assert.deepEqual([...seen].filter(([, n]) => n > 1), []);
    assert.equal(Object.keys(defs).length, seen.size);
    assert.ok(Object.keys(defs).every((k) => k.startsWith(P)));
    assert.ok(!(`${P}ObjectReference` in defs) && !(`${P}LocalObjectReference` in defs), 'core.ts owns these');
  });

  it('nests no anonymous objects (every struct is a named definition, as in OpenAPI v2)', () => {
    const inline: string[] = [];
    const walk = (s: Schema, at: string): void => {
      if (s.type === 'object') inline.push(at);
      else if (s.type === 'array') walk(s.items, `${at}[]`);
      else if (s.type === 'map') walk(s.values, `${at}{}`);
    };
    for (const [name, d] of Object.entries(defs)) {
      if (d.type !== 'object') continue;
      for (const [f, p] of Object.entries(d.properties)) walk(p, `${name}.${f}`);
    }
    assert.deepEqual(inline, []);
  });

  it('gives top-level kinds their group-version-kind', () => {
    for (const kind of ['Pod', 'PodTemplate', 'Binding', 'Node', 'PersistentVolumeClaim']) {
      assert.deepEqual(objectDef(kind).gvk, [{ group: '', version: 'v1', kind }], kind);
    }
    assert.deepEqual(objectDef('Binding').required, ['target']);
    assert.equal(objectDef('PodStatus').gvk, undefined);
  });

  it('keeps EphemeralContainer field-identical to Container apart from targetContainerName', () => {
    const c = Object.keys(objectDef('Container').properties).sort();
    const e = Object.keys(objectDef('EphemeralContainer').properties).filter((k) => k !== 'targetContainerName').sort();
    assert.deepEqual(e, c);
    assert.ok('targetContainerName' in objectDef('EphemeralContainer').properties);
  });

  it('lists every volume source on Volume, each a reference to a defined *Source type', () => {
    const vol = objectDef('Volume');
    assert.equal(VOLUME_SOURCE_FIELDS.length, 30);
    assert.deepEqual(Object.keys(vol.properties).filter((k) => k !== 'name').sort(), [...VOLUME_SOURCE_FIELDS].sort());
    for (const f of VOLUME_SOURCE_FIELDS) {
      const p = vol.properties[f];
      assert.equal(p.type, 'ref', f);
      if (p.type === 'ref') assert.ok(defs[p.ref], `${f} -> ${p.ref}`);
    }
  });

  // [definition, field, listType, listMapKeys, patchStrategy, patchMergeKey]
  const listMeta: [string, string, string, string[] | undefined, string | undefined, string | undefined][] = [
    ['PodSpec', 'containers', 'map', ['name'], 'merge', 'name'],
    ['PodSpec', 'volumes', 'map', ['name'], 'merge,retainKeys', 'name'],
    ['PodSpec', 'resourceClaims', 'map', ['name'], 'merge,retainKeys', 'name'],
    ['PodSpec', 'imagePullSecrets', 'map', ['name'], 'merge', 'name'],
    ['PodSpec', 'topologySpreadConstraints', 'map', ['topologyKey', 'whenUnsatisfiable'], 'merge', 'topologyKey'],
    ['PodSpec', 'tolerations', 'atomic', undefined, undefined, undefined],
    ['Container', 'ports', 'map', ['containerPort', 'protocol'], 'merge', 'containerPort'],
    ['Container', 'env', 'map', ['name'], 'merge', 'name'],
    ['Container', 'volumeMounts', 'map', ['mountPath'], 'merge', 'mountPath'],
    ['Container', 'args', 'atomic', undefined, undefined, undefined],
    ['ResourceRequirements', 'claims', 'map', ['name'], undefined, undefined],
    ['PodStatus', 'conditions', 'map', ['type'], 'merge', 'type'],
    ['PodStatus', 'hostIPs', 'atomic', undefined, 'merge', 'ip'],
    ['PodStatus', 'containerStatuses', 'atomic', undefined, undefined, undefined],
    ['NodeStatus', 'addresses', 'map', ['type'], 'merge', 'type'],
    ['NodeSpec', 'podCIDRs', 'set', undefined, 'merge', undefined],
    ['ContainerRestartRuleOnExitCodes', 'values', 'set', undefined, undefined, undefined],
    ['PersistentVolumeClaimStatus', 'conditions', 'map', ['type'], 'merge', 'type'],
  ];
  for (const [def, field, listType, keys, strategy, mergeKey] of listMeta) {
    it(`${def}.${field} carries its list/patch metadata`, () => {
      const p = objectDef(def).properties[field] as ArraySchema;
      assert.equal(p.type, 'array');
      assert.equal(p.listType, listType);
      assert.deepEqual(p.listMapKeys, keys);
      assert.equal(p.patchStrategy, strategy);
      assert.equal(p.patchMergeKey, mergeKey);
    });
  }

  // [definition, mapType of the struct or of a field ('' = the struct itself)]
  const atomicMaps: [string, string][] = [
    ['NodeSelector', ''],
    ['NodeSelectorTerm', ''],
    ['ConfigMapKeySelector', ''],
    ['ObjectFieldSelector', ''],
    ['TypedLocalObjectReference', ''],
    ['PodSpec', 'nodeSelector'],
  ];
  for (const [def, field] of atomicMaps) {
    it(`${def}${field ? '.' + field : ''} is atomic`, () => {
      const d = objectDef(def);
      const target = field ? d.properties[field] : d;
      assert.ok(target.type === 'object' || target.type === 'map');
      assert.equal(target.mapType, 'atomic');
    });
  }

  it('uses the upstream integer formats on a sample of fields', () => {
    const cases: [string, string, string][] = [
      ['Probe', 'timeoutSeconds', 'int32'],
      ['Probe', 'terminationGracePeriodSeconds', 'int64'],
      ['PodSpec', 'activeDeadlineSeconds', 'int64'],
      ['PodSpec', 'priority', 'int32'],
      ['ContainerImage', 'sizeBytes', 'int64'],
      ['DaemonEndpoint', 'Port', 'int32'],
    ];
    for (const [def, field, format] of cases) {
      const p = objectDef(def).properties[field];
      assert.equal(p.type === 'integer' ? p.format : p.type, format, `${def}.${field}`);
    }
  });
});
