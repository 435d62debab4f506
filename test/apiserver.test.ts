/**
 * API semantics against a running server over HTTPS: errors as Status, concurrency, allocation,
 * deletion (finalizers, propagation, namespaces), watch resourceVersion rules, paging.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { startCluster, type TestCluster } from './harness.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function until<T>(fn: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Reads watch events until `stop` says enough (or the stream ends). */
function watchEvents(c: TestCluster, path: string, stop: (evs: Obj[]) => boolean, ms = 10_000): Promise<Obj[]> {
  const url = new URL(c.url);
  return new Promise((resolve, reject) => {
    const evs: Obj[] = [];
    let buf = '';
    const req = request({ host: url.hostname, port: url.port, path, ca: c.caCertPem, headers: { authorization: `Bearer ${c.token}` } }, (res) => {
      res.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          evs.push(JSON.parse(buf.slice(0, i)));
          buf = buf.slice(i + 1);
        }
        if (stop(evs)) {
          req.destroy();
          resolve(evs);
        }
      });
      res.on('end', () => resolve(evs));
      res.on('error', () => resolve(evs));
    });
    req.on('error', (e) => (evs.length || (e as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve(evs) : reject(e)));
    setTimeout(() => {
      req.destroy();
      resolve(evs);
    }, ms);
    req.end();
  });
}

const cm = (name: string, extra: Obj = {}): string => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...extra }, data: { a: '1' } });

describe('API server semantics', () => {
  let c: TestCluster;
  before(async () => {
    c = await startCluster({ store: 'memory' });
  });
  after(async () => {
    await c?.close();
  });

  it('refuses requests without a valid token with a 401 Status', async () => {
    for (const token of [null, 'wrong']) {
      const r = await c.http('GET', '/api/v1/namespaces', { token });
      assert.equal(r.status, 401);
      assert.deepEqual(r.json(), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    }
    assert.equal((await c.http('GET', '/healthz', { token: null })).status, 200);
    assert.equal((await c.http('GET', '/version', { token: null })).json().minor, '32');
  });

  it('serves aggregated discovery when asked and the legacy form otherwise', async () => {
    const agg = await c.http('GET', '/apis', { headers: { accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' } });
    assert.match(String(agg.headers['content-type']), /as=APIGroupDiscoveryList/);
    const apps = agg.json<Obj>().items.find((g: Obj) => g.metadata.name === 'apps');
    const deploy = apps.versions[0].resources.find((r: Obj) => r.resource === 'deployments');
    assert.deepEqual(deploy.subresources.map((s: Obj) => s.subresource).sort(), ['scale', 'status']);
    const legacy = await c.http('GET', '/apis');
    assert.equal(legacy.json().kind, 'APIGroupList');
    const v1 = await c.http('GET', '/api/v1');
    assert.ok(v1.json<Obj>().resources.some((r: Obj) => r.name === 'pods/binding'));
  });

  it('create, conflict, generateName, NotFound and AlreadyExists are Statuses as kube returns them', async () => {
    const r1 = await c.http('POST', '/api/v1/namespaces/default/configmaps', { body: cm('c1') });
    assert.equal(r1.status, 201);
    const created = r1.json<Obj>();
    assert.match(created.metadata.uid, /^[0-9a-f-]{36}$/);
    assert.match(created.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const dup = await c.http('POST', '/api/v1/namespaces/default/configmaps', { body: cm('c1') });
    assert.equal(dup.status, 409);
    assert.deepEqual(dup.json(), {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'configmaps "c1" already exists', reason: 'AlreadyExists',
      details: { name: 'c1', kind: 'configmaps' }, code: 409,
    });
    const stale = await c.http('PUT', '/api/v1/namespaces/default/configmaps/c1', { body: JSON.stringify({ ...created, metadata: { ...created.metadata, resourceVersion: '1' } }) });
    assert.equal(stale.status, 409);
    assert.equal(stale.json().reason, 'Conflict');
    assert.match(stale.json<Obj>().message, /the object has been modified; please apply your changes to the latest version and try again/);
    const gen = await c.http('POST', '/api/v1/namespaces/default/configmaps', { body: JSON.stringify({ metadata: { generateName: 'gen-' }, data: {} }) });
    assert.equal(gen.status, 201);
    assert.match(gen.json<Obj>().metadata.name, /^gen-[a-z0-9]{5}$/);
    const missing = await c.http('GET', '/apis/apps/v1/namespaces/default/deployments/nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.json().message, 'deployments.apps "nope" not found');
    const noNs = await c.http('POST', '/api/v1/namespaces/nowhere/configmaps', { body: cm('x') });
    assert.equal(noNs.status, 404);
    assert.equal(noNs.json().message, 'namespaces "nowhere" not found');
  });

  it('invalid objects get 422 with causes; bad JSON 400; huge bodies 413', async () => {
    const bad = await c.http('POST', '/api/v1/namespaces/default/services', {
      body: JSON.stringify({ metadata: { name: 'Bad_Name' }, spec: { ports: [{ port: 80, protocol: 'UDPX' }] } }),
    });
    assert.equal(bad.status, 422);
    const st = bad.json<Obj>();
    assert.equal(st.reason, 'Invalid');
    assert.ok(st.details.causes.some((x: Obj) => x.field === 'metadata.name' && x.reason === 'FieldValueInvalid'));
    assert.ok(st.details.causes.some((x: Obj) => x.field === 'spec.ports[0].protocol' && x.reason === 'FieldValueNotSupported'));
    assert.match(st.message, /^Service "Bad_Name" is invalid: \[/);
    const syntax = await c.http('POST', '/api/v1/namespaces/default/configmaps', { body: '{"metadata": {' });
    assert.equal(syntax.status, 400);
    assert.equal(syntax.json().kind, 'Status');
    const big = await c.http('POST', '/api/v1/namespaces/default/configmaps', { body: cm('big').replace('"1"', JSON.stringify('x'.repeat(3 * 1024 * 1024 + 10))) });
    assert.equal(big.status, 413);
    assert.equal(big.json().reason, 'RequestEntityTooLarge');
    const sel = await c.http('GET', '/api/v1/pods?labelSelector=' + encodeURIComponent('a in (b'));
    assert.equal(sel.status, 400);
  });

  it('fieldValidation=Strict refuses unknown and duplicate fields; Warn returns warnings', async () => {
    const body = '{"metadata":{"name":"fv"},"data":{"a":"1"},"bogus":1}';
    const strict = await c.http('POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Strict', { body });
    assert.equal(strict.status, 400);
    assert.equal(strict.json().message, 'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "bogus"');
    const dup = await c.http('POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Strict', { body: '{"metadata":{"name":"fv","name":"fv"}}' });
    assert.equal(dup.status, 400);
    assert.match(dup.json<Obj>().message, /duplicate field "metadata.name"/);
    const warn = await c.http('POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Warn', { body });
    assert.equal(warn.status, 201);
    assert.match(String(warn.headers.warning), /299 - "unknown field \\"bogus\\""/);
  });

  it('allocates ClusterIPs and NodePorts, honours requested ones, refuses taken ones and releases on delete', async () => {
    const svc = (name: string, spec: Obj): string => JSON.stringify({ metadata: { name }, spec: { ports: [{ port: 80 }], selector: { a: 'b' }, ...spec } });
    const a = await c.http('POST', '/api/v1/namespaces/default/services', { body: svc('a', { type: 'NodePort', clusterIP: '10.96.5.5', ports: [{ port: 80, nodePort: 30080 }] }) });
    assert.equal(a.status, 201, a.body);
    assert.equal(a.json<Obj>().spec.clusterIP, '10.96.5.5');
    assert.equal(a.json<Obj>().spec.ports[0].nodePort, 30080);
    const b = await c.http('POST', '/api/v1/namespaces/default/services', { body: svc('b', { type: 'NodePort', clusterIP: '10.96.5.5', ports: [{ port: 80, nodePort: 30080 }] }) });
    assert.equal(b.status, 422);
    assert.match(b.json<Obj>().message, /provided IP is already allocated|already allocated/);
    const headless = await c.http('POST', '/api/v1/namespaces/default/services', { body: svc('h', { clusterIP: 'None' }) });
    assert.equal(headless.json<Obj>().spec.clusterIP, 'None');
    const ext = await c.http('POST', '/api/v1/namespaces/default/services', { body: JSON.stringify({ metadata: { name: 'e' }, spec: { type: 'ExternalName', externalName: 'example.com' } }) });
    assert.equal(ext.status, 201, ext.body);
    assert.equal(ext.json<Obj>().spec.clusterIP, undefined);
    const auto = await c.http('POST', '/api/v1/namespaces/default/services', { body: svc('auto', {}) });
    const ip = auto.json<Obj>().spec.clusterIP;
    assert.match(ip, /^10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+$/);
    assert.notEqual(ip, '10.96.0.10', 'the tenth address is kept for cluster DNS');
    assert.equal((await c.http('DELETE', '/api/v1/namespaces/default/services/a')).status, 200);
    const again = await c.http('POST', '/api/v1/namespaces/default/services', { body: svc('b', { type: 'NodePort', clusterIP: '10.96.5.5', ports: [{ port: 80, nodePort: 30080 }] }) });
    assert.equal(again.status, 201, 'released IP and port can be taken again: ' + again.body);
  });

  it('scale subresource reads and writes spec.replicas', async () => {
    const d = { metadata: { name: 'web' }, spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x:1' }] } } } };
    assert.equal((await c.http('POST', '/apis/apps/v1/namespaces/default/deployments', { body: JSON.stringify(d) })).status, 201);
    const s = await c.http('GET', '/apis/apps/v1/namespaces/default/deployments/web/scale');
    assert.deepEqual({ spec: s.json<Obj>().spec, selector: s.json<Obj>().status.selector }, { spec: { replicas: 2 }, selector: 'app=web' });
    const p = await c.http('PATCH', '/apis/apps/v1/namespaces/default/deployments/web/scale', { body: '{"spec":{"replicas":4}}', headers: { 'content-type': 'application/merge-patch+json' } });
    assert.equal(p.status, 200, p.body);
    const g = await c.http('GET', '/apis/apps/v1/namespaces/default/deployments/web');
    assert.equal(g.json<Obj>().spec.replicas, 4);
    assert.equal(g.json<Obj>().metadata.generation, 2);
    const neg = await c.http('PUT', '/apis/apps/v1/namespaces/default/deployments/web/scale', { body: '{"kind":"Scale","apiVersion":"autoscaling/v1","metadata":{"name":"web"},"spec":{"replicas":-1}}' });
    assert.equal(neg.status, 422);
  });

  it('lists page with limit/continue and filter with label and field selectors', async () => {
    await c.http('POST', '/api/v1/namespaces', { body: JSON.stringify({ metadata: { name: 'paging' } }) });
    for (let i = 0; i < 7; i++) {
      await c.http('POST', '/api/v1/namespaces/paging/configmaps', { body: cm(`p${i}`, { labels: { parity: i % 2 ? 'odd' : 'even' } }) });
    }
    const names: string[] = [];
    let cont = '';
    let pages = 0;
    do {
      const r = await c.http('GET', `/api/v1/namespaces/paging/configmaps?limit=3${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`);
      const l = r.json<Obj>();
      names.push(...l.items.map((i: Obj) => i.metadata.name));
      cont = l.metadata.continue ?? '';
      pages++;
    } while (cont);
    assert.deepEqual(names, ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
    assert.equal(pages, 3);
    // Paging across all namespaces: continue tokens carry "namespace/name".
    const all: string[] = [];
    let token = '';
    do {
      const l = (await c.http('GET', `/api/v1/configmaps?limit=2${token ? `&continue=${encodeURIComponent(token)}` : ''}`)).json<Obj>();
      assert.ok(l.items, JSON.stringify(l));
      all.push(...l.items.map((i: Obj) => `${i.metadata.namespace}/${i.metadata.name}`));
      token = l.metadata.continue ?? '';
    } while (token);
    const direct = (await c.http('GET', '/api/v1/configmaps')).json<Obj>().items.map((i: Obj) => `${i.metadata.namespace}/${i.metadata.name}`);
    assert.deepEqual(all, direct);
    const odd = await c.http('GET', '/api/v1/namespaces/paging/configmaps?labelSelector=' + encodeURIComponent('parity in (odd)'));
    assert.deepEqual(odd.json<Obj>().items.map((i: Obj) => i.metadata.name), ['p1', 'p3', 'p5']);
    const byName = await c.http('GET', '/api/v1/configmaps?fieldSelector=' + encodeURIComponent('metadata.name=p2,metadata.namespace=paging'));
    assert.deepEqual(byName.json<Obj>().items.map((i: Obj) => i.metadata.name), ['p2']);
    const badField = await c.http('GET', '/api/v1/configmaps?fieldSelector=spec.foo%3Dbar');
    assert.equal(badField.status, 400);
  });

  it('watch: resourceVersion unset replays state, an exact RV resumes, bookmarks and timeouts work', async () => {
    await c.http('POST', '/api/v1/namespaces', { body: JSON.stringify({ metadata: { name: 'watching' } }) });
    const w1 = await c.http('POST', '/api/v1/namespaces/watching/configmaps', { body: cm('w1') });
    const rv1 = w1.json<Obj>().metadata.resourceVersion;
    const initial = await watchEvents(c, '/api/v1/namespaces/watching/configmaps?watch=true', (e) => e.length >= 1, 3000);
    assert.deepEqual(initial.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'w1']]);
    await c.http('POST', '/api/v1/namespaces/watching/configmaps', { body: cm('w2') });
    await c.http('DELETE', '/api/v1/namespaces/watching/configmaps/w1');
    const resumed = await watchEvents(c, `/api/v1/namespaces/watching/configmaps?watch=true&resourceVersion=${rv1}`, (e) => e.length >= 2, 3000);
    assert.deepEqual(resumed.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'w2'], ['DELETED', 'w1']]);
    const timed = await watchEvents(c, `/api/v1/namespaces/watching/configmaps?watch=true&resourceVersion=${rv1}&timeoutSeconds=1`, () => false, 5000);
    assert.equal(timed.length, 2, 'the stream ends by itself after timeoutSeconds');
    const bm = await watchEvents(c, `/api/v1/namespaces/watching/configmaps?watch=true&resourceVersion=${rv1}&allowWatchBookmarks=true`, (e) => e.some((x) => x.type === 'BOOKMARK'), 5000);
    const mark = bm.find((x) => x.type === 'BOOKMARK')!;
    assert.ok(mark, 'a bookmark arrives');
    assert.equal(mark.object.kind, 'ConfigMap');
    assert.ok(Number(mark.object.metadata.resourceVersion) >= Number(resumed[1].object.metadata.resourceVersion));
  });

  it('watch with a label selector sees objects enter (ADDED) and leave (DELETED) the selection', async () => {
    const rv = (await c.http('POST', '/api/v1/namespaces/watching/configmaps', { body: cm('sel') })).json<Obj>().metadata.resourceVersion;
    const p = watchEvents(c, `/api/v1/namespaces/watching/configmaps?watch=true&resourceVersion=${rv}&labelSelector=pick%3Dme`, (e) => e.length >= 2, 5000);
    const patch = (labels: string): Promise<unknown> =>
      c.http('PATCH', '/api/v1/namespaces/watching/configmaps/sel', { body: `{"metadata":{"labels":${labels}}}`, headers: { 'content-type': 'application/merge-patch+json' } });
    await new Promise((r) => setTimeout(r, 200));
    await patch('{"pick":"me"}');
    await patch('{"pick":null}');
    const evs = await p;
    assert.deepEqual(evs.map((e) => e.type), ['ADDED', 'DELETED']);
  });

  it('watch from a compacted revision gets a 410 Expired ERROR event', async () => {
    await c.http('POST', '/api/v1/namespaces/default/configmaps', { body: cm('old') });
    const cur = await c.server.registry.backend.currentRevision();
    await c.http('POST', '/api/v1/namespaces/default/configmaps', { body: cm('newer') });
    await c.server.compact(cur);
    const evs = await watchEvents(c, '/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1', (e) => e.length >= 1, 3000);
    assert.equal(evs[0]?.type, 'ERROR', JSON.stringify(evs));
    assert.equal(evs[0].object.code, 410);
    assert.equal(evs[0].object.reason, 'Expired');
  });

  it('finalizers hold an object until removed; Background, Foreground and Orphan propagation', async () => {
    await c.http('POST', '/api/v1/namespaces', { body: JSON.stringify({ metadata: { name: 'gc' } }) });
    const owner = (await c.http('POST', '/api/v1/namespaces/gc/configmaps', { body: cm('owner', { finalizers: ['example.com/hold'] }) })).json<Obj>();
    const ref = [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid, blockOwnerDeletion: true }];
    await c.http('POST', '/api/v1/namespaces/gc/configmaps', { body: cm('dep1', { ownerReferences: ref }) });
    const d = await c.http('DELETE', '/api/v1/namespaces/gc/configmaps/owner');
    assert.equal(d.status, 200);
    const held = (await c.http('GET', '/api/v1/namespaces/gc/configmaps/owner')).json<Obj>();
    assert.ok(held.metadata.deletionTimestamp, 'marked for deletion, still there');
    await c.http('PATCH', '/api/v1/namespaces/gc/configmaps/owner', { body: '{"metadata":{"finalizers":null}}', headers: { 'content-type': 'application/merge-patch+json' } });
    assert.equal((await c.http('GET', '/api/v1/namespaces/gc/configmaps/owner')).status, 404);
    await until(async () => ((await c.http('GET', '/api/v1/namespaces/gc/configmaps/dep1')).status === 404 ? true : undefined));

    // Foreground: the owner waits for its dependents.
    const o2 = (await c.http('POST', '/api/v1/namespaces/gc/configmaps', { body: cm('o2') })).json<Obj>();
    await c.http('POST', '/api/v1/namespaces/gc/configmaps', { body: cm('d2', { ownerReferences: [{ ...ref[0], name: 'o2', uid: o2.metadata.uid }] }) });
    const fg = await c.http('DELETE', '/api/v1/namespaces/gc/configmaps/o2?propagationPolicy=Foreground');
    assert.ok(fg.json<Obj>().metadata.finalizers.includes('foregroundDeletion'));
    await until(async () => ((await c.http('GET', '/api/v1/namespaces/gc/configmaps/o2')).status === 404 ? true : undefined));
    assert.equal((await c.http('GET', '/api/v1/namespaces/gc/configmaps/d2')).status, 404);

    // Orphan: the dependent stays, without the owner reference.
    const o3 = (await c.http('POST', '/api/v1/namespaces/gc/configmaps', { body: cm('o3') })).json<Obj>();
    await c.http('POST', '/api/v1/namespaces/gc/configmaps', { body: cm('d3', { ownerReferences: [{ ...ref[0], name: 'o3', uid: o3.metadata.uid }] }) });
    await c.http('DELETE', '/api/v1/namespaces/gc/configmaps/o3', { body: '{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Orphan"}' });
    await until(async () => ((await c.http('GET', '/api/v1/namespaces/gc/configmaps/o3')).status === 404 ? true : undefined));
    const d3 = (await c.http('GET', '/api/v1/namespaces/gc/configmaps/d3')).json<Obj>();
    assert.equal(d3.metadata.ownerReferences, undefined);
  });

  it('deleting a namespace deletes its contents, then the namespace', async () => {
    await c.http('POST', '/api/v1/namespaces', { body: JSON.stringify({ metadata: { name: 'doomed' } }) });
    await c.http('POST', '/api/v1/namespaces/doomed/configmaps', { body: cm('x') });
    await c.http('POST', '/api/v1/namespaces/doomed/secrets', { body: JSON.stringify({ metadata: { name: 's' }, stringData: { a: 'b' } }) });
    const del = await c.http('DELETE', '/api/v1/namespaces/doomed');
    assert.equal(del.json<Obj>().status.phase, 'Terminating');
    const refused = await c.http('POST', '/api/v1/namespaces/doomed/configmaps', { body: cm('late') });
    assert.ok(refused.status === 403 || refused.status === 404, refused.body);
    await until(async () => ((await c.http('GET', '/api/v1/namespaces/doomed')).status === 404 ? true : undefined));
    assert.equal((await c.http('GET', '/api/v1/namespaces/doomed/configmaps')).json<Obj>().items.length, 0);
  });

  it('crafted values that cannot be printed with String() still get a Status, not a 500', async () => {
    const kind = await c.http('DELETE', '/api/v1/namespaces/default/configmaps', { body: '{"kind":{"toString":{"toString":1}}}' });
    assert.equal(kind.status, 400, kind.body);
    const pp = await c.http('DELETE', '/api/v1/namespaces/default/configmaps/x', { body: '{"propagationPolicy":{"toString":1}}' });
    assert.equal(pp.status, 422, pp.body);
    const pre = await c.http('DELETE', '/api/v1/namespaces/default/services/kubernetes', { body: '{"preconditions":{"uid":{"toString":1}}}' });
    assert.equal(pre.status, 409, pre.body);
  });

  it('dryRun=All validates without storing', async () => {
    const r = await c.http('POST', '/api/v1/namespaces/default/configmaps?dryRun=All', { body: cm('dry') });
    assert.equal(r.status, 201);
    assert.equal((await c.http('GET', '/api/v1/namespaces/default/configmaps/dry')).status, 404);
  });
});
