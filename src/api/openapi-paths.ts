/**
 * The REST operations of every served resource, described once in a dialect-neutral form and
 * rendered as Swagger 2.0 or OpenAPI 3.0 path items. Paths, operation ids, actions, GVK
 * extensions and parameter names follow kube-apiserver's layout, because clients key off them:
 * kubectl decides whether server-side field validation is available by finding the PATCH
 * operation carrying the kind's `x-kubernetes-group-version-kind` and looking for an
 * operation-level query parameter named `fieldValidation` (cli-runtime
 * query_param_verifier_v3.go). Hence every PATCH of a kind, including /status, lists it inline.
 */
import { type ResourceInfo, RESOURCES, apiVersionOf } from './resources.js';
import { type Dialect, type Json, refPrefix } from './openapi-schema.js';

type ParamType = 'string' | 'boolean' | 'integer';
interface Param {
  name: string;
  in: 'path' | 'query';
  type: ParamType;
  description: string;
  required?: boolean;
}
interface Gvk {
  group: string;
  version: string;
  kind: string;
}
interface Op {
  method: 'get' | 'put' | 'post' | 'patch' | 'delete' | 'head' | 'options';
  operationId: string;
  description: string;
  action?: string;
  gvk?: Gvk;
  params: Param[];
  /** Request body definition name and whether it is required. */
  body?: { ref: string; required: boolean };
  consumes: string[];
  produces: string[];
  /** Status code → definition name, or 'string' for a plain-text body, or null for no body. */
  responses: [string, string | null][];
  tag: string;
}
interface PathItem {
  path: string;
  params: Param[];
  ops: Op[];
}

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const JSON_YAML = ['application/json', 'application/yaml'];
const WATCH_PRODUCES = [...JSON_YAML, 'application/json;stream=watch'];
const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
];

const q = (name: string, type: ParamType, description: string): Param => ({ name, in: 'query', type, description });
const P = {
  pretty: q('pretty', 'string', "If 'true', the output is indented."),
  dryRun: q('dryRun', 'string', "When 'All', the request is validated and processed but nothing is persisted."),
  fieldManager: q('fieldManager', 'string', 'Name of the actor making the change, recorded in managedFields.'),
  fieldValidation: q(
    'fieldValidation',
    'string',
    'How unknown or duplicate fields in the body are handled: Ignore (drop them), Warn (drop them and return a warning, the default) or Strict (reject the request).',
  ),
  force: q('force', 'boolean', 'For apply requests: take ownership of conflicting fields from other managers.'),
  allowWatchBookmarks: q('allowWatchBookmarks', 'boolean', 'Ask for BOOKMARK events in a watch.'),
  continue: q('continue', 'string', 'Token from a previous paged list, to fetch the next page.'),
  fieldSelector: q('fieldSelector', 'string', 'Restrict results to objects whose fields match this selector.'),
  labelSelector: q('labelSelector', 'string', 'Restrict results to objects whose labels match this selector.'),
  limit: q('limit', 'integer', 'Maximum number of items in one page of a list.'),
  resourceVersion: q('resourceVersion', 'string', 'Which version of the data the request may be served from.'),
  resourceVersionMatch: q('resourceVersionMatch', 'string', 'How resourceVersion is applied to a list: Exact or NotOlderThan.'),
  sendInitialEvents: q('sendInitialEvents', 'boolean', 'For watches: start with synthetic ADDED events for the current state.'),
  timeoutSeconds: q('timeoutSeconds', 'integer', 'Timeout of a list or watch call.'),
  watch: q('watch', 'boolean', 'Watch for changes instead of listing.'),
  gracePeriodSeconds: q('gracePeriodSeconds', 'integer', 'Seconds before the object is deleted; 0 deletes immediately.'),
  orphanDependents: q('orphanDependents', 'boolean', 'Deprecated: use propagationPolicy.'),
  propagationPolicy: q('propagationPolicy', 'string', 'Garbage collection of dependents: Orphan, Background or Foreground.'),
};
const LIST_PARAMS = [
  P.allowWatchBookmarks,
  P.continue,
  P.fieldSelector,
  P.labelSelector,
  P.limit,
  P.resourceVersion,
  P.resourceVersionMatch,
  P.sendInitialEvents,
  P.timeoutSeconds,
  P.watch,
];
const WRITE_PARAMS = [P.dryRun, P.fieldManager, P.fieldValidation];
const PATCH_PARAMS = [...WRITE_PARAMS, P.force];
const DELETE_PARAMS = [P.dryRun, P.gracePeriodSeconds, P.orphanDependents, P.propagationPolicy];

const pathParam = (name: string, description: string): Param => ({ name, in: 'path', type: 'string', description, required: true });

/** 'CoreV1', 'AppsV1', 'NetworkingV1' — the group-version part of kube's operation ids. */
function gvCamel(group: string, version: string): string {
  return groupCamel(group) + version.charAt(0).toUpperCase() + version.slice(1);
}
function groupCamel(group: string): string {
  if (!group) return 'Core';
  return group
    .replace(/\.k8s\.io$/, '')
    .split('.')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
}
/** The OpenAPI tag: core_v1, apps_v1, networking_v1. */
function tagOf(group: string, version: string): string {
  const g = groupCamel(group);
  return `${g.charAt(0).toLowerCase()}${g.slice(1)}_${version}`;
}

/** '/api/v1' or '/apis/<group>/<version>'. */
export function gvPrefix(group: string, version: string): string {
  return group ? `/apis/${group}/${version}` : `/api/${version}`;
}

/** Verbs a resource supports; bindings can only be created, as in kube. */
export function verbsOf(res: ResourceInfo): string[] {
  if (res.kind === 'Binding' && res.group === '') return ['create'];
  return ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
}

function resourcePaths(res: ResourceInfo): PathItem[] {
  const base = gvPrefix(res.group, res.version);
  const gv = gvCamel(res.group, res.version);
  const tag = tagOf(res.group, res.version);
  const gvk: Gvk = { group: res.group, version: res.version, kind: res.kind };
  const def = res.definition;
  const list = `${def}List`;
  const ns = res.namespaced ? 'Namespaced' : '';
  const nsParam = pathParam('namespace', 'The namespace of the objects.');
  const nameParam = pathParam('name', `Name of the ${res.kind}.`);
  const coll = res.namespaced ? `${base}/namespaces/{namespace}/${res.plural}` : `${base}/${res.plural}`;
  const collParams = res.namespaced ? [nsParam, P.pretty] : [P.pretty];
  const itemParams = res.namespaced ? [nameParam, nsParam, P.pretty] : [nameParam, P.pretty];
  const verbs = new Set(verbsOf(res));
  const op = (o: Omit<Op, 'tag' | 'consumes' | 'produces'> & Partial<Pick<Op, 'consumes' | 'produces'>>): Op => ({
    consumes: ['*/*'],
    produces: JSON_YAML,
    tag,
    ...o,
  });
  const read = (suffix: string, ref: string, g: Gvk): Op =>
    op({ method: 'get', operationId: `read${gv}${ns}${res.kind}${suffix}`, description: `Read the ${suffix ? suffix.toLowerCase() + ' of the ' : ''}specified ${res.kind}.`, action: 'get', gvk: g, params: [], responses: [['200', ref], ['401', null]] });
  const replace = (suffix: string, ref: string, g: Gvk): Op =>
    op({ method: 'put', operationId: `replace${gv}${ns}${res.kind}${suffix}`, description: `Replace the ${suffix ? suffix.toLowerCase() + ' of the ' : ''}specified ${res.kind}.`, action: 'put', gvk: g, params: WRITE_PARAMS, body: { ref, required: true }, responses: [['200', ref], ['201', ref], ['401', null]] });
  const patch = (suffix: string, ref: string, g: Gvk): Op =>
    op({ method: 'patch', operationId: `patch${gv}${ns}${res.kind}${suffix}`, description: `Partially update the ${suffix ? suffix.toLowerCase() + ' of the ' : ''}specified ${res.kind}.`, action: 'patch', gvk: g, params: PATCH_PARAMS, body: { ref: `${META}.Patch`, required: true }, consumes: PATCH_TYPES, responses: [['200', ref], ['201', ref], ['401', null]] });
  const out: PathItem[] = [];

  const collOps: Op[] = [];
  if (verbs.has('list'))
    collOps.push(op({ method: 'get', operationId: `list${gv}${ns}${res.kind}`, description: `List or watch objects of kind ${res.kind}.`, action: 'list', gvk, params: LIST_PARAMS, produces: WATCH_PRODUCES, responses: [['200', list], ['401', null]] }));
  if (verbs.has('create'))
    collOps.push(op({ method: 'post', operationId: `create${gv}${ns}${res.kind}`, description: `Create a ${res.kind}.`, action: 'post', gvk, params: WRITE_PARAMS, body: { ref: def, required: true }, responses: [['200', def], ['201', def], ['202', def], ['401', null]] }));
  if (verbs.has('deletecollection'))
    collOps.push(op({ method: 'delete', operationId: `delete${gv}Collection${ns}${res.kind}`, description: `Delete a collection of ${res.kind} objects.`, action: 'deletecollection', gvk, params: [...DELETE_PARAMS, ...LIST_PARAMS.filter((p) => p.name !== 'watch' && p.name !== 'allowWatchBookmarks')], body: { ref: `${META}.DeleteOptions`, required: false }, responses: [['200', `${META}.Status`], ['401', null]] }));
  out.push({ path: coll, params: collParams, ops: collOps });

  if (verbs.has('get')) {
    const deleted = res.kind === 'Namespace' ? `${META}.Status` : def;
    out.push({
      path: `${coll}/{name}`,
      params: itemParams,
      ops: [
        read('', def, gvk),
        replace('', def, gvk),
        patch('', def, gvk),
        op({ method: 'delete', operationId: `delete${gv}${ns}${res.kind}`, description: `Delete a ${res.kind}.`, action: 'delete', gvk, params: DELETE_PARAMS, body: { ref: `${META}.DeleteOptions`, required: false }, responses: [['200', deleted], ['202', deleted], ['401', null]] }),
      ],
    });
  }
  if (verbs.has('list') && res.namespaced) {
    out.push({ path: `${base}/${res.plural}`, params: [...LIST_PARAMS, P.pretty], ops: [op({ method: 'get', operationId: `list${gv}${res.kind}ForAllNamespaces`, description: `List or watch objects of kind ${res.kind} in all namespaces.`, action: 'list', gvk, params: [], produces: WATCH_PRODUCES, responses: [['200', list], ['401', null]] })] });
  }
  if (verbs.has('watch')) {
    const watchColl = res.namespaced ? `${base}/watch/namespaces/{namespace}/${res.plural}` : `${base}/watch/${res.plural}`;
    const watchOp = (operationId: string, action: string): Op =>
      op({ method: 'get', operationId, description: `Watch changes to ${res.kind} objects (deprecated: use the watch parameter of list).`, action, gvk, params: [], produces: WATCH_PRODUCES, responses: [['200', `${META}.WatchEvent`], ['401', null]] });
    out.push({ path: watchColl, params: [...LIST_PARAMS, ...collParams], ops: [watchOp(`watch${gv}${ns}${res.kind}List`, 'watchlist')] });
    out.push({ path: `${watchColl}/{name}`, params: [...LIST_PARAMS, ...itemParams], ops: [watchOp(`watch${gv}${ns}${res.kind}`, 'watch')] });
    if (res.namespaced)
      out.push({ path: `${base}/watch/${res.plural}`, params: [...LIST_PARAMS, P.pretty], ops: [watchOp(`watch${gv}${res.kind}ListForAllNamespaces`, 'watchlist')] });
  }
  for (const sub of res.subresources) out.push(...subresourcePaths(res, sub, { coll, itemParams, op, read, replace, patch }));
  return out;
}

interface SubCtx {
  coll: string;
  itemParams: Param[];
  op: (o: Omit<Op, 'tag' | 'consumes' | 'produces'> & Partial<Pick<Op, 'consumes' | 'produces'>>) => Op;
  read: (suffix: string, ref: string, g: Gvk) => Op;
  replace: (suffix: string, ref: string, g: Gvk) => Op;
  patch: (suffix: string, ref: string, g: Gvk) => Op;
}

function subresourcePaths(res: ResourceInfo, sub: ResourceInfo['subresources'][number], c: SubCtx): PathItem[] {
  const gv = gvCamel(res.group, res.version);
  const ns = res.namespaced ? 'Namespaced' : '';
  const item = `${c.coll}/{name}`;
  const gvk: Gvk = { group: res.group, version: res.version, kind: res.kind };
  const create = (suffix: string, ref: string, g: Gvk): Op =>
    c.op({ method: 'post', operationId: `create${gv}${ns}${res.kind}${suffix}`, description: `Create ${suffix.toLowerCase()} of a ${res.kind}.`, action: 'post', gvk: g, params: WRITE_PARAMS, body: { ref, required: true }, responses: [['200', ref], ['201', ref], ['202', ref], ['401', null]] });
  const connect = (name: string, methods: Op['method'][], params: Param[], kind: string): Op[] =>
    methods.map((m) =>
      c.op({ method: m, operationId: `connect${gv}${m.charAt(0).toUpperCase()}${m.slice(1)}${ns}${res.kind}${name}`, description: `Connect ${m.toUpperCase()} requests to ${name.toLowerCase()} of ${res.kind}.`, action: 'connect', gvk: { group: '', version: 'v1', kind }, params, consumes: ['*/*'], produces: ['*/*'], responses: [['200', 'string'], ['401', null]] }),
    );
  switch (sub) {
    case 'status':
      return [{ path: `${item}/status`, params: c.itemParams, ops: [c.read('Status', res.definition, gvk), c.replace('Status', res.definition, gvk), c.patch('Status', res.definition, gvk)] }];
    case 'scale': {
      const scale = 'io.k8s.api.autoscaling.v1.Scale';
      const g = { group: 'autoscaling', version: 'v1', kind: 'Scale' };
      return [{ path: `${item}/scale`, params: c.itemParams, ops: [c.read('Scale', scale, g), c.replace('Scale', scale, g), c.patch('Scale', scale, g)] }];
    }
    case 'binding':
      return [{ path: `${item}/binding`, params: c.itemParams, ops: [create('Binding', 'io.k8s.api.core.v1.Binding', { group: '', version: 'v1', kind: 'Binding' })] }];
    case 'eviction':
      return [{ path: `${item}/eviction`, params: c.itemParams, ops: [create('Eviction', 'io.k8s.api.policy.v1.Eviction', { group: 'policy', version: 'v1', kind: 'Eviction' })] }];
    case 'log': {
      const params = [
        q('container', 'string', 'The container to read logs from.'),
        q('follow', 'boolean', 'Stream the log as it grows.'),
        q('limitBytes', 'integer', 'Stop after this many bytes.'),
        q('previous', 'boolean', 'Read the log of the previous, terminated container.'),
        q('sinceSeconds', 'integer', 'Only lines newer than this many seconds.'),
        q('tailLines', 'integer', 'Only this many lines from the end.'),
        q('timestamps', 'boolean', 'Prefix each line with its timestamp.'),
      ];
      return [{ path: `${item}/log`, params: [...params, ...c.itemParams], ops: [c.op({ method: 'get', operationId: `read${gv}${ns}${res.kind}Log`, description: `Read the log of a ${res.kind}.`, action: 'get', gvk, params: [], produces: ['text/plain', ...JSON_YAML], responses: [['200', 'string'], ['401', null]] })] }];
    }
    case 'exec':
    case 'attach': {
      const stream = [q('container', 'string', 'The container to connect to.'), q('stderr', 'boolean', 'Redirect stderr.'), q('stdin', 'boolean', 'Redirect stdin.'), q('stdout', 'boolean', 'Redirect stdout.'), q('tty', 'boolean', 'Allocate a TTY.')];
      const params = sub === 'exec' ? [q('command', 'string', 'The command to run, one argv element per parameter.'), ...stream] : stream;
      const name = sub === 'exec' ? 'Exec' : 'Attach';
      return [{ path: `${item}/${sub}`, params: [...params, ...c.itemParams.filter((p) => p.name !== 'pretty')], ops: connect(name, ['get', 'post'], [], `Pod${name}Options`) }];
    }
    case 'portforward':
      return [{ path: `${item}/portforward`, params: [q('ports', 'integer', 'Ports to forward.'), ...c.itemParams.filter((p) => p.name !== 'pretty')], ops: connect('Portforward', ['get', 'post'], [], 'PodPortForwardOptions') }];
    case 'proxy': {
      const methods: Op['method'][] = ['delete', 'get', 'head', 'options', 'patch', 'post', 'put'];
      const base = c.itemParams.filter((p) => p.name !== 'pretty');
      const kind = `${res.kind}ProxyOptions`;
      return [
        { path: `${item}/proxy`, params: [q('path', 'string', 'Path to proxy to.'), ...base], ops: connect('Proxy', methods, [], kind) },
        { path: `${item}/proxy/{path}`, params: [pathParam('path', 'Path to proxy to.'), ...base], ops: connect('ProxyWithPath', methods, [], kind) },
      ];
    }
  }
}

/** Discovery endpoints described in each document ('/api/v1/' resource list, '/apis/apps/' group, ...). */
function discoveryPath(path: string, operationId: string, ref: string, tag: string): PathItem {
  return { path, params: [], ops: [{ method: 'get', operationId, description: 'Get available resources.', params: [], consumes: JSON_YAML, produces: JSON_YAML, responses: [['200', ref], ['401', null]], tag }] };
}

/**
 * Path items of one OpenAPI v3 document key: 'api', 'apis', 'apis/<group>' or a group-version
 * ('api/v1', 'apis/apps/v1'). Undefined for keys we do not serve.
 */
export function pathItemsFor(key: string): PathItem[] | undefined {
  if (key === 'api') return [discoveryPath('/api/', 'getCoreAPIVersions', `${META}.APIVersions`, 'core')];
  if (key === 'apis') return [discoveryPath('/apis/', 'getAPIVersions', `${META}.APIGroupList`, 'apis')];
  const resources = RESOURCES.filter((r) => `${r.group ? 'apis/' : 'api/'}${apiVersionOf(r)}` === key);
  if (resources.length) {
    const { group, version } = resources[0];
    const items = [discoveryPath(`${gvPrefix(group, version)}/`, `get${gvCamel(group, version)}APIResources`, `${META}.APIResourceList`, tagOf(group, version))];
    for (const r of resources) items.push(...resourcePaths(r));
    return items;
  }
  const m = /^apis\/([^/]+)$/.exec(key);
  if (m && RESOURCES.some((r) => r.group === m[1])) {
    const g = groupCamel(m[1]);
    return [discoveryPath(`/apis/${m[1]}/`, `get${g}APIGroup`, `${META}.APIGroup`, g.charAt(0).toLowerCase() + g.slice(1))];
  }
  return undefined;
}

/** Every document key kube would list in /openapi/v3 for our resources, in a stable order. */
export function documentKeys(): string[] {
  const keys = ['api', 'apis'];
  for (const r of RESOURCES) {
    const gvKey = `${r.group ? 'apis/' : 'api/'}${apiVersionOf(r)}`;
    if (r.group && !keys.includes(`apis/${r.group}`)) keys.push(`apis/${r.group}`);
    if (!keys.includes(gvKey)) keys.push(gvKey);
  }
  return keys;
}

function renderParam(p: Param, dialect: Dialect): Json {
  const out: Json = { description: p.description, in: p.in, name: p.name };
  if (p.required) out.required = true;
  if (dialect === 'v2') return { ...out, type: p.type, uniqueItems: true };
  return { ...out, schema: { type: p.type, uniqueItems: true } };
}

function renderResponses(op: Op, dialect: Dialect): Json {
  const out: Json = {};
  const names: Record<string, string> = { '200': 'OK', '201': 'Created', '202': 'Accepted', '401': 'Unauthorized' };
  for (const [code, target] of op.responses) {
    const r: Json = { description: names[code] ?? code };
    if (target) {
      const schema = target === 'string' ? { type: 'string' } : { $ref: refPrefix(dialect) + target };
      if (dialect === 'v2') r.schema = schema;
      else r.content = Object.fromEntries(op.produces.map((m) => [m, { schema }]));
    }
    out[code] = r;
  }
  return out;
}

function renderOp(op: Op, dialect: Dialect): Json {
  const out: Json = { description: op.description, operationId: op.operationId };
  const params = op.params.map((p) => renderParam(p, dialect));
  if (dialect === 'v2') {
    out.consumes = op.consumes;
    out.produces = op.produces;
    if (op.body) params.unshift({ in: 'body', name: 'body', ...(op.body.required ? { required: true } : {}), schema: { $ref: refPrefix('v2') + op.body.ref } });
    out.schemes = ['https'];
  } else if (op.body) {
    const schema = { $ref: refPrefix('v3') + op.body.ref };
    out.requestBody = { content: Object.fromEntries(op.consumes.map((m) => [m, { schema }])), ...(op.body.required ? { required: true } : {}) };
  }
  if (params.length) out.parameters = params;
  out.responses = renderResponses(op, dialect);
  out.tags = [op.tag];
  if (op.action) out['x-kubernetes-action'] = op.action;
  if (op.gvk) out['x-kubernetes-group-version-kind'] = { group: op.gvk.group, kind: op.gvk.kind, version: op.gvk.version };
  return out;
}

/** Renders path items as an OpenAPI `paths` object. */
export function renderPaths(items: PathItem[], dialect: Dialect): Json {
  const out: Json = {};
  for (const it of items) {
    const p: Json = {};
    for (const op of it.ops) p[op.method] = renderOp(op, dialect);
    if (it.params.length) p.parameters = it.params.map((x) => renderParam(x, dialect));
    out[it.path] = p;
  }
  return out;
}
