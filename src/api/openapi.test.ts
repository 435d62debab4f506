import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { RESOURCES, apiVersionOf, groupVersions } from './resources.js';
import { openapiV2, openapiV3Doc, openapiV3Document, openapiV3Root } from './openapi.js';
import { collectRefs } from './openapi-schema.js';
import { verbsOf } from './openapi-paths.js';

type J = Record<string, any>;
const root = openapiV3Root() as { paths: Record<string, { serverRelativeURL: string }> };
const gvKey = (r: { group: string; version: string }): string => (r.group ? `apis/${r.group}/${r.version}` : `api/${r.version}`);

test('v3 root lists api, apis, every group and every group-version with a content hash', () => {
  const expected = ['api', 'apis'];
  for (const g of groupVersions()) {
    if (g.group) expected.push(`apis/${g.group}`);
    for (const v of g.versions) expected.push(gvKey({ group: g.group, version: v }));
  }
  assert.deepEqual(Object.keys(root.paths).sort(), expected.sort());
  for (const [key, { serverRelativeURL }] of Object.entries(root.paths)) {
    const doc = openapiV3Document(key)!;
    const hash = createHash('sha512').update(doc.json).digest('hex').toUpperCase();
    assert.equal(serverRelativeURL, `/openapi/v3/${key}?hash=${hash}`);
    assert.match(hash, /^[0-9A-F]{128}$/);
  }
  assert.equal(openapiV3Doc('apis/nope/v1'), undefined);
  assert.equal(openapiV3Doc('/api/v1/'), openapiV3Doc('api/v1'), 'keys are normalised and documents cached');
});

/** The check kubectl's queryParamVerifierV3 makes: the kind's PATCH operations take `fieldValidation` in the query. */
function supportsFieldValidation(doc: J, gvk: { group: string; version: string; kind: string }): boolean | 'no-patch' {
  let found: boolean | 'no-patch' = 'no-patch';
  for (const item of Object.values(doc.paths as J)) {
    const op = item.patch;
    const g = op?.['x-kubernetes-group-version-kind'];
    if (!g || g.group !== gvk.group || g.version !== gvk.version || g.kind !== gvk.kind) continue;
    const ok = (op.parameters ?? []).some((p: J) => p.name === 'fieldValidation' && p.in === 'query');
    if (!ok) return false; // kubectl may look at any matching PATCH; every one must qualify
    found = true;
  }
  return found;
}

test('every patchable kind passes kubectl field-validation detection', () => {
  for (const r of RESOURCES) {
    const doc = openapiV3Doc(gvKey(r)) as J;
    const expect = verbsOf(r).includes('patch') ? true : 'no-patch';
    assert.equal(supportsFieldValidation(doc, r), expect, `${r.kind} ${apiVersionOf(r)}`);
  }
  const broken = structuredClone(openapiV3Doc('api/v1')) as J;
  for (const item of Object.values(broken.paths as J)) if (item.patch) item.patch.parameters = (item.patch.parameters ?? []).filter((p: J) => p.name !== 'fieldValidation');
  assert.equal(supportsFieldValidation(broken, { group: '', version: 'v1', kind: 'Service' }), false);
});

test('every $ref resolves inside its document and kinds carry their GVK', () => {
  for (const key of Object.keys(root.paths)) {
    const doc = openapiV3Doc(key) as J;
    const missing = [...collectRefs(doc, '#/components/schemas/')].filter((n) => !doc.components.schemas[n]);
    assert.deepEqual(missing, [], key);
  }
  const v2 = openapiV2() as J;
  assert.deepEqual([...collectRefs(v2, '#/definitions/')].filter((n) => !v2.definitions[n]), []);
  for (const r of RESOURCES) {
    const schemas = (openapiV3Doc(gvKey(r)) as J).components.schemas;
    for (const name of [r.definition, ...(r.kind === 'Binding' ? [] : [`${r.definition}List`])]) {
      const gvk = schemas[name]?.['x-kubernetes-group-version-kind'] as J[] | undefined;
      const kind = name.slice(name.lastIndexOf('.') + 1);
      assert.ok(gvk?.some((g) => g.group === r.group && g.version === r.version && g.kind === kind), `${name} in ${gvKey(r)}`);
    }
  }
});

test('schema rendering follows kube v3/v2 conventions', () => {
  const v3 = (openapiV3Doc('api/v1') as J).components.schemas;
  const v2 = (openapiV2() as J).definitions;
  assert.deepEqual(v3['io.k8s.apimachinery.pkg.util.intstr.IntOrString'].oneOf, [{ type: 'integer' }, { type: 'string' }]);
  assert.equal(v3['io.k8s.apimachinery.pkg.util.intstr.IntOrString'].format, 'int-or-string');
  assert.equal(v2['io.k8s.apimachinery.pkg.util.intstr.IntOrString'].type, 'string');
  assert.deepEqual(v3['io.k8s.apimachinery.pkg.api.resource.Quantity'].oneOf, [{ type: 'string' }, { type: 'number' }]);
  const spec = v3['io.k8s.api.core.v1.Service'].properties.spec;
  assert.deepEqual(spec.allOf, [{ $ref: '#/components/schemas/io.k8s.api.core.v1.ServiceSpec' }]);
  assert.equal(typeof spec.description, 'string');
  assert.equal(v2['io.k8s.api.core.v1.Service'].properties.spec.$ref, '#/definitions/io.k8s.api.core.v1.ServiceSpec');
  const ports = v3['io.k8s.api.core.v1.ServiceSpec'].properties.ports;
  assert.equal(ports['x-kubernetes-patch-strategy'], 'merge');
  assert.equal(ports['x-kubernetes-patch-merge-key'], 'port');
  assert.deepEqual(ports['x-kubernetes-list-map-keys'], ['port', 'protocol']);
  assert.deepEqual(v3['io.k8s.api.core.v1.ServiceSpec'].properties.type.enum, ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort']);
  assert.equal(v2['io.k8s.api.core.v1.ServiceSpec'].properties.type.enum, undefined, 'v2 has no enums, as upstream');
  assert.equal(v3['io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector']['x-kubernetes-map-type'], 'atomic');
});

test('paths use kube operation ids, actions and parameters', () => {
  const paths = (openapiV3Doc('apis/apps/v1') as J).paths;
  const item = paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'];
  assert.equal(item.get.operationId, 'readAppsV1NamespacedDeployment');
  assert.equal(item.patch['x-kubernetes-action'], 'patch');
  assert.deepEqual(item.parameters.map((p: J) => p.name), ['name', 'namespace', 'pretty']);
  assert.equal(paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale'].put['x-kubernetes-group-version-kind'].kind, 'Scale');
  assert.equal(paths['/apis/apps/v1/deployments'].get.operationId, 'listAppsV1DeploymentForAllNamespaces');
  const core = (openapiV3Doc('api/v1') as J).paths;
  assert.equal(core['/api/v1/namespaces'].get.operationId, 'listCoreV1Namespace');
  assert.deepEqual(Object.keys(core['/api/v1/namespaces/{namespace}/bindings']).sort(), ['parameters', 'post']);
  assert.ok(core['/api/v1/namespaces/{namespace}/pods/{name}/log'].get);
  const v2paths = (openapiV2() as J).paths;
  const body = v2paths['/api/v1/namespaces/{namespace}/services'].post.parameters[0];
  assert.deepEqual(body, { in: 'body', name: 'body', required: true, schema: { $ref: '#/definitions/io.k8s.api.core.v1.Service' } });
});
