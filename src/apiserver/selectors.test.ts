import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RESOURCES, findResource } from '../api/resources.js';
import { StatusError } from './errors.js';
import {
  SelectorError,
  convertFieldSelector,
  fieldSelectorToString,
  fieldsFor,
  formatLabelSelector,
  formatLabels,
  fromLabelSelectorObject,
  matchFields,
  matchLabels,
  parseFieldSelector,
  parseLabelSelector,
  selectorToString,
  supportedFieldLabels,
} from './selectors.js';

const res = (group: string, version: string, plural: string) => {
  const r = findResource(group, version, plural);
  assert.ok(r, `${group}/${version}/${plural} is served`);
  return r;
};

const NAME_REGEX_TAIL =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const VALUE_REGEX_TAIL =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

test('label selectors parse to kube canonical form', () => {
  const cases: [string, string][] = [
    ['', ''],
    ['   ', ''],
    ['app=web', 'app=web'],
    ['app==web', 'app==web'],
    ['app!=web', 'app!=web'],
    ['app = web', 'app=web'],
    ['tier,!canary', '!canary,tier'],
    ['z=1,a=2,m', 'a=2,m,z=1'],
    ['env in (prod, dev,qa)', 'env in (dev,prod,qa)'],
    ['env notin (b,a,b)', 'env notin (a,b)'],
    ['env in ()', 'env in ()'],
    ['x in (a,,b)', 'x in (,a,b)'],
    ['x in (,a)', 'x in (,a)'],
    ['a=', 'a='],
    ['a=,b', 'a=,b'],
    ['in in (in,notin)', 'in in (in,notin)'],
    ['example.com/app=web', 'example.com/app=web'],
    ['count>5,age<10', 'age<10,count>5'],
    ['a\t=\nb', 'a=b'],
  ];
  for (const [input, want] of cases) {
    assert.equal(selectorToString(parseLabelSelector(input)), want, `parse(${JSON.stringify(input)})`);
  }
});

test('label selector syntax and validation errors carry kube messages as 400 BadRequest', () => {
  const cases: [string, string][] = [
    ['a b', "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"],
    ['a in x', "unable to parse requirement: found 'x' expected: '('"],
    ['a in (b', "unable to parse requirement: found '', expected: ',' or ')'"],
    ['a in (b c)', "unable to parse requirement: found 'c', expected: ',' or ')'"],
    ['a=(b)', "unable to parse requirement: found '(', expected: identifier"],
    ['!', "unable to parse requirement: found '', expected: identifier"],
    ['a,', "found '', expected: identifier after ','"],
    [',a', "found ',', expected: !, identifier, or 'end of string'"],
    ['a=b c', "found 'c', expected: ',' or 'end of string'"],
    ['a=b=c', "found '=', expected: ',' or 'end of string'"],
    ['Foo_=b', `unable to parse requirement: <nil>: Invalid value: "Foo_": name part ${NAME_REGEX_TAIL}`],
    ['/a', 'unable to parse requirement: <nil>: Invalid value: "/a": prefix part must be non-empty'],
    ['a/', 'unable to parse requirement: <nil>: Invalid value: "a/": name part must be non-empty; name part ' + NAME_REGEX_TAIL],
    ['k'.repeat(64), `unable to parse requirement: <nil>: Invalid value: "${'k'.repeat(64)}": name part must be no more than 63 characters`],
    ['a=-b', `unable to parse requirement: values[0][a]: Invalid value: "-b": ${VALUE_REGEX_TAIL}`],
    ['a=' + 'v'.repeat(64), `unable to parse requirement: values[0][a]: Invalid value: "${'v'.repeat(64)}": must be no more than 63 characters`],
    [
      'a in (-x,y_)',
      `unable to parse requirement: [values[0][a]: Invalid value: "-x": ${VALUE_REGEX_TAIL}, values[1][a]: Invalid value: "y_": ${VALUE_REGEX_TAIL}]`,
    ],
    ['a in (,,)', "unable to parse requirement: found ')', expected: ',', or identifier"],
    ['a<x', `unable to parse requirement: values[0]: Invalid value: "x": for 'Gt', 'Lt' operators, the value must be an integer`],
  ];
  for (const [input, message] of cases) {
    assert.throws(
      () => parseLabelSelector(input),
      (e: unknown) => {
        assert.ok(e instanceof StatusError, `${input}: StatusError`);
        assert.equal(e.code, 400);
        assert.equal(e.reason, 'BadRequest');
        assert.equal(e.message, message, `message for ${JSON.stringify(input)}`);
        return true;
      },
    );
  }
});

test('label selectors match label sets', () => {
  const labels = { app: 'web', tier: 'front', n: '7' };
  const cases: [string, Record<string, string> | undefined, boolean][] = [
    ['', labels, true],
    ['', undefined, true],
    ['app=web', labels, true],
    ['app=db', labels, false],
    ['app!=db', labels, true],
    ['missing!=x', labels, true],
    ['missing=', labels, false],
    ['app in (db,web)', labels, true],
    ['app notin (db,web)', labels, false],
    ['missing notin (a)', labels, true],
    ['tier', labels, true],
    ['!tier', labels, false],
    ['!missing', labels, true],
    ['app=web,tier=back', labels, false],
    ['n>6', labels, true],
    ['n<7', labels, false],
    ['app>1', labels, false],
    ['missing>1', labels, false],
  ];
  for (const [sel, ls, want] of cases) assert.equal(matchLabels(parseLabelSelector(sel), ls), want, `${sel} vs ${JSON.stringify(ls)}`);
});

test('metav1.LabelSelector objects convert as LabelSelectorAsSelector does', () => {
  const nothing = fromLabelSelectorObject(null);
  assert.equal(matchLabels(nothing, { a: 'b' }), false);
  assert.equal(selectorToString(nothing), '');
  assert.equal(matchLabels(fromLabelSelectorObject({}), { a: 'b' }), true);
  const sel = fromLabelSelectorObject({
    matchLabels: { app: 'web', a: 'x' },
    matchExpressions: [
      { key: 'env', operator: 'In', values: ['prod', 'dev'] },
      { key: 'canary', operator: 'DoesNotExist' },
      { key: 'tier', operator: 'Exists' },
      { key: 'zone', operator: 'NotIn', values: ['b'] },
    ],
  });
  assert.equal(selectorToString(sel), 'a=x,app=web,!canary,env in (dev,prod),tier,zone notin (b)');
  assert.equal(matchLabels(sel, { a: 'x', app: 'web', env: 'dev', tier: '' }), true);
  assert.equal(matchLabels(sel, { a: 'x', app: 'web', env: 'dev', tier: '', canary: '1' }), false);

  const errorCases: [Parameters<typeof fromLabelSelectorObject>[0], string][] = [
    [{ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }, "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty"],
    [{ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }, 'values: Invalid value: []string{"x"}: values set must be empty for exists and does not exist'],
    [{ matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] }, '"Gt" is not a valid label selector operator'],
    [{ matchLabels: { 'bad key': 'v' } }, `key: Invalid value: "bad key": name part ${NAME_REGEX_TAIL}`],
    [{ matchLabels: { ok: 'bad value' } }, `values[0][ok]: Invalid value: "bad value": ${VALUE_REGEX_TAIL}`],
  ];
  for (const [obj, message] of errorCases) {
    assert.throws(() => fromLabelSelectorObject(obj), (e: unknown) => e instanceof SelectorError && e.message === message, message);
  }
});

test('formatLabels and formatLabelSelector print as kubectl shows them', () => {
  assert.equal(formatLabels({ b: '2', a: '1' }), 'a=1,b=2');
  assert.equal(formatLabels({}), '<none>');
  assert.equal(formatLabels(undefined), '<none>');
  assert.equal(formatLabelSelector({ matchLabels: { app: 'x' } }), 'app=x');
  assert.equal(formatLabelSelector({}), '<none>');
  assert.equal(formatLabelSelector(null), '<none>');
  assert.equal(formatLabelSelector({ matchLabels: { 'a b': 'x' } }), '<error>');
});

test('canonical label selector text re-parses to the same selector', () => {
  const key = fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/);
  const value = fc.stringMatching(/^[a-z0-9]{0,4}$/);
  // Non-empty inside lists: kube 1.32 rejects two empty items in a row ("(,,)").
  const listValue = fc.stringMatching(/^[a-z0-9]{1,4}$/);
  const req = fc.oneof(
    fc.tuple(key, fc.constantFrom('=', '==', '!='), value).map(([k, op, v]) => `${k}${op}${v}`),
    fc.tuple(key, fc.constantFrom('in', 'notin'), fc.array(listValue, { minLength: 1, maxLength: 3 })).map(([k, op, vs]) => `${k} ${op} (${vs.join(',')})`),
    key,
    key.map((k) => `!${k}`),
  );
  fc.assert(
    fc.property(fc.array(req, { maxLength: 5 }), (reqs) => {
      const once = selectorToString(parseLabelSelector(reqs.join(',')));
      assert.equal(selectorToString(parseLabelSelector(once)), once);
    }),
  );
});

test('field selectors parse with escaping and kube error texts', () => {
  const ok: [string, string][] = [
    ['', ''],
    ['metadata.name=foo', 'metadata.name=foo'],
    ['metadata.name==foo', 'metadata.name=foo'],
    ['status.phase!=Running,spec.nodeName=n1', 'spec.nodeName=n1,status.phase!=Running'],
    ['a=x\\,y\\=z\\\\', 'a=x\\,y\\=z\\\\'],
    ['a=,,b=c', 'a=,b=c'],
  ];
  for (const [input, want] of ok) assert.equal(fieldSelectorToString(parseFieldSelector(input)), want, input);
  assert.deepEqual(parseFieldSelector('a=x\\,y').requirements, [{ field: 'a', operator: '=', value: 'x,y' }]);

  const bad: [string, string][] = [
    ['foo', "invalid selector: 'foo'; can't understand 'foo'"],
    ['a=b,c', "invalid selector: 'a=b,c'; can't understand 'c'"],
    ['a=b=c', 'invalid field selector: unescaped character in value: 61'],
    ['a=b\\x', 'invalid field selector: invalid escape sequence: \\x'],
    ['a=b\\', 'invalid field selector: invalid escape sequence: \\'],
  ];
  for (const [input, message] of bad) {
    assert.throws(() => parseFieldSelector(input), (e: unknown) => e instanceof StatusError && e.code === 400 && e.message === message, input);
  }
});

test('field labels are checked per kind as kube-apiserver registers them', () => {
  const cases: [string, string, string, string, string | null][] = [
    // group, version, plural, selector, error (null = accepted)
    ['', 'v1', 'pods', 'spec.nodeName=n1,status.phase=Running,spec.hostNetwork=false', null],
    ['', 'v1', 'pods', 'status.podIPs=1.2.3.4', null],
    ['', 'v1', 'pods', 'spec.host=n1', null],
    ['', 'v1', 'pods', 'spec.foo=x', 'field label not supported: spec.foo'],
    ['', 'v1', 'nodes', 'spec.unschedulable=true,metadata.name=n', null],
    ['', 'v1', 'nodes', 'metadata.namespace=x', 'field label not supported: metadata.namespace'],
    ['', 'v1', 'namespaces', 'status.phase=Active', null],
    ['', 'v1', 'secrets', 'type=Opaque', null],
    ['', 'v1', 'services', 'spec.type=ClusterIP,spec.clusterIP=None', null],
    ['', 'v1', 'events', 'involvedObject.name=x,reason=Started,source=kubelet', null],
    ['', 'v1', 'configmaps', 'metadata.name=x,metadata.namespace=y', null],
    ['', 'v1', 'configmaps', 'data=x', 'field label not supported: data'],
    ['apps', 'v1', 'replicasets', 'status.replicas=0', null],
    ['apps', 'v1', 'deployments', 'status.replicas=0', 'field label not supported: status.replicas'],
    ['events.k8s.io', 'v1', 'events', 'regarding.name=x,reportingController=kubelet', null],
    ['events.k8s.io', 'v1', 'events', 'involvedObject.name=x', 'field label not supported: involvedObject.name'],
  ];
  for (const [g, v, p, sel, err] of cases) {
    const run = () => convertFieldSelector(res(g, v, p), parseFieldSelector(sel));
    if (err === null) run();
    else assert.throws(run, (e: unknown) => e instanceof StatusError && e.code === 400 && e.reason === 'BadRequest' && e.message === err, `${p}: ${sel}`);
  }
  const renamed = convertFieldSelector(res('events.k8s.io', 'v1', 'events'), parseFieldSelector('regarding.name=x,reportingController=c'));
  assert.deepEqual(renamed.requirements.map((r) => r.field), ['involvedObject.name', 'reportingComponent']);
  assert.deepEqual(convertFieldSelector(res('', 'v1', 'pods'), parseFieldSelector('spec.host=n1')).requirements[0].field, 'spec.nodeName');
  for (const r of RESOURCES) assert.ok(supportedFieldLabels(r).includes('metadata.name'), r.plural);
});

test('fieldsFor exposes the selectable fields and matchFields applies selectors', () => {
  const pod = {
    metadata: { name: 'p', namespace: 'ns' },
    spec: { nodeName: 'n1', restartPolicy: 'Always', schedulerName: 'default-scheduler', serviceAccountName: 'default' },
    status: { phase: 'Running', podIP: '10.0.0.5', podIPs: [{ ip: '10.0.0.5' }] },
  };
  const pods = res('', 'v1', 'pods');
  assert.deepEqual(fieldsFor(pods, pod), {
    'metadata.name': 'p',
    'metadata.namespace': 'ns',
    'spec.nodeName': 'n1',
    'spec.restartPolicy': 'Always',
    'spec.schedulerName': 'default-scheduler',
    'spec.serviceAccountName': 'default',
    'spec.hostNetwork': 'false',
    'status.phase': 'Running',
    'status.podIP': '10.0.0.5',
    'status.nominatedNodeName': '',
  });
  const matches = (r: typeof pods, sel: string, obj: Record<string, unknown>) => matchFields(convertFieldSelector(r, parseFieldSelector(sel)), fieldsFor(r, obj));
  assert.equal(matches(pods, 'spec.nodeName=n1,status.phase!=Failed', pod), true);
  assert.equal(matches(pods, 'spec.host=n2', pod), false);
  assert.equal(matches(pods, 'spec.nodeName=', { metadata: { name: 'q' } }), true);
  assert.equal(matches(pods, 'status.podIPs=10.0.0.5', pod), false, 'accepted but never populated, as in kube');

  const nodes = res('', 'v1', 'nodes');
  assert.deepEqual(fieldsFor(nodes, { metadata: { name: 'n' }, spec: { unschedulable: true } }), { 'metadata.name': 'n', 'spec.unschedulable': 'true' });

  const coreEvent = {
    apiVersion: 'v1',
    metadata: { name: 'e', namespace: 'ns' },
    involvedObject: { kind: 'Pod', name: 'p', namespace: 'ns' },
    reason: 'Started',
    source: { component: 'kubelet' },
    type: 'Normal',
  };
  const newEvent = {
    apiVersion: 'events.k8s.io/v1',
    metadata: { name: 'e', namespace: 'ns' },
    regarding: { kind: 'Pod', name: 'p', namespace: 'ns' },
    reason: 'Started',
    reportingController: 'kubelet',
    type: 'Normal',
  };
  for (const [r, ev, sel] of [
    [res('', 'v1', 'events'), coreEvent, 'involvedObject.kind=Pod,involvedObject.name=p,source=kubelet'],
    [res('events.k8s.io', 'v1', 'events'), newEvent, 'regarding.kind=Pod,regarding.name=p,source=kubelet,reportingController=kubelet'],
  ] as const) {
    assert.equal(matches(r, sel, ev), true, `${r.group} event`);
  }
  const rs = res('apps', 'v1', 'replicasets');
  assert.equal(matches(rs, 'status.replicas=0', { metadata: { name: 'r' } }), true);
  assert.equal(matches(rs, 'status.replicas=3', { metadata: { name: 'r' }, status: { replicas: 3 } }), true);
  const ic = res('networking.k8s.io', 'v1', 'ingressclasses');
  assert.deepEqual(fieldsFor(ic, { metadata: { name: 'nginx' } }), { 'metadata.name': 'nginx' });
});
