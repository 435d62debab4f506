import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { convert, HPA_ANNOTATIONS } from './convert.js';

type J = Record<string, any>;

/** Freezes deeply so any mutation of a test input throws. */
function frozen<T>(v: T): T {
  if (v && typeof v === 'object') {
    for (const x of Object.values(v)) frozen(x);
    Object.freeze(v);
  }
  return v;
}

const conv = (o: J, to: string): J => convert(frozen(structuredClone(o)), to) as J;

const cpu = (pct: number): J => ({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: pct } } });
const ref = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' };

const hpaV2 = (spec: J, status: J = { desiredReplicas: 0 }, metadata: J = { name: 'h', namespace: 'default' }): J => ({
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  metadata,
  spec: { scaleTargetRef: ref, maxReplicas: 5, ...spec },
  status,
});

const hpaV1 = (spec: J, status?: J, metadata: J = { name: 'h', namespace: 'default' }): J => ({
  apiVersion: 'autoscaling/v1',
  kind: 'HorizontalPodAutoscaler',
  metadata,
  spec: { scaleTargetRef: ref, maxReplicas: 5, ...spec },
  ...(status ? { status } : {}),
});

describe('convert: identity', () => {
  const cases: { name: string; obj: J; to: string }[] = [
    { name: 'same apiVersion', obj: hpaV2({}), to: 'autoscaling/v2' },
    { name: 'unknown kind', obj: { apiVersion: 'apps/v1', kind: 'Deployment', spec: {} }, to: 'apps/v1beta2' },
    { name: 'unknown pair for a known kind', obj: hpaV2({}), to: 'autoscaling/v2beta2' },
    { name: 'event to an unknown version', obj: { apiVersion: 'v1', kind: 'Event' }, to: 'events.k8s.io/v1beta1' },
    { name: 'no apiVersion', obj: { kind: 'Event' }, to: 'v1' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(convert(c.obj, c.to), c.obj);
    });
  }
});

describe('convert: HPA autoscaling/v1 -> v2', () => {
  const cases: { name: string; in: J; spec?: J; status?: J; annotations?: J | undefined }[] = [
    {
      name: 'targetCPUUtilizationPercentage becomes a CPU Utilization metric',
      in: hpaV1({ minReplicas: 2, targetCPUUtilizationPercentage: 50 }),
      spec: { scaleTargetRef: ref, minReplicas: 2, maxReplicas: 5, metrics: [cpu(50)] },
      status: { desiredReplicas: 0 },
    },
    {
      name: 'no target: the implicit 80% CPU default is made explicit',
      in: hpaV1({}),
      spec: { scaleTargetRef: ref, maxReplicas: 5, metrics: [cpu(80)] },
    },
    {
      name: 'status percentage becomes a current CPU metric; zero currentReplicas is omitted',
      in: hpaV1({}, { currentReplicas: 0, desiredReplicas: 3, currentCPUUtilizationPercentage: 42, observedGeneration: 4 }),
      status: {
        observedGeneration: 4,
        desiredReplicas: 3,
        currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 42 } } }],
      },
    },
    {
      name: 'annotated metrics come first, the targetCPU metric last, annotations dropped',
      in: hpaV1(
        { targetCPUUtilizationPercentage: 60 },
        undefined,
        {
          name: 'h',
          annotations: {
            keep: 'me',
            [HPA_ANNOTATIONS.metrics]: JSON.stringify([{ type: 'Pods', pods: { metricName: 'qps', targetAverageValue: '10' } }]),
            [HPA_ANNOTATIONS.scaleUpTolerance]: '0.1',
          },
        },
      ),
      spec: {
        scaleTargetRef: ref,
        maxReplicas: 5,
        metrics: [{ type: 'Pods', pods: { metric: { name: 'qps' }, target: { type: 'AverageValue', averageValue: '10' } } }, cpu(60)],
      },
      annotations: { keep: 'me' },
    },
    {
      name: 'malformed annotations are ignored but still dropped',
      in: hpaV1({}, undefined, { name: 'h', annotations: { [HPA_ANNOTATIONS.metrics]: '{nope', [HPA_ANNOTATIONS.behavior]: '[]' } }),
      spec: { scaleTargetRef: ref, maxReplicas: 5, metrics: [cpu(80)] },
      annotations: undefined,
    },
    {
      name: 'behavior is read from Go field names, case-insensitively; a zero behavior is ignored',
      in: hpaV1({}, undefined, {
        name: 'h',
        annotations: {
          [HPA_ANNOTATIONS.behavior]: JSON.stringify({
            scaleup: null,
            ScaleDown: { StabilizationWindowSeconds: 60, selectPolicy: 'Min', Policies: [{ Type: 'Pods', Value: 1, PeriodSeconds: 30 }], Tolerance: null },
          }),
        },
      }),
      spec: {
        scaleTargetRef: ref,
        maxReplicas: 5,
        metrics: [cpu(80)],
        behavior: { scaleDown: { stabilizationWindowSeconds: 60, selectPolicy: 'Min', policies: [{ type: 'Pods', value: 1, periodSeconds: 30 }] } },
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const out = conv(c.in, 'autoscaling/v2');
      assert.equal(out.apiVersion, 'autoscaling/v2');
      assert.equal(out.kind, 'HorizontalPodAutoscaler');
      if (c.spec) assert.deepEqual(out.spec, c.spec);
      if (c.status) assert.deepEqual(out.status, c.status);
      if ('annotations' in c) assert.deepEqual(out.metadata.annotations, c.annotations);
    });
  }
});

describe('convert: HPA autoscaling/v2 -> v1', () => {
  it('a lone CPU utilization metric maps to targetCPUUtilizationPercentage with no annotations', () => {
    const out = conv(hpaV2({ minReplicas: 1, metrics: [cpu(55)] }), 'autoscaling/v1');
    assert.deepEqual(out, {
      apiVersion: 'autoscaling/v1',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'h', namespace: 'default' },
      spec: { scaleTargetRef: ref, minReplicas: 1, maxReplicas: 5, targetCPUUtilizationPercentage: 55 },
      status: { currentReplicas: 0, desiredReplicas: 0 },
    });
  });

  it('only the first CPU resource metric is considered for the target', () => {
    const avg = { type: 'Resource', resource: { name: 'cpu', target: { type: 'AverageValue', averageValue: '500m' } } };
    const out = conv(hpaV2({ metrics: [avg, cpu(30)] }), 'autoscaling/v1');
    assert.equal(out.spec.targetCPUUtilizationPercentage, undefined);
    const carried = JSON.parse(out.metadata.annotations[HPA_ANNOTATIONS.metrics]);
    assert.deepEqual(carried, [{ type: 'Resource', resource: { name: 'cpu', targetAverageValue: '500m' } }]);
  });

  it('the last CPU status with a utilization gives currentCPUUtilizationPercentage', () => {
    const cur = (u: number): J => ({ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: u, averageValue: '100m' } } });
    const out = conv(hpaV2({ metrics: [cpu(50)] }, { currentReplicas: 2, desiredReplicas: 3, currentMetrics: [cur(10), cur(20)] }), 'autoscaling/v1');
    assert.deepEqual(out.status, { currentReplicas: 2, desiredReplicas: 3, currentCPUUtilizationPercentage: 20 });
    assert.deepEqual(JSON.parse(out.metadata.annotations[HPA_ANNOTATIONS.currentMetrics]), [
      { type: 'Resource', resource: { name: 'cpu', currentAverageUtilization: 10, currentAverageValue: '100m' } },
      { type: 'Resource', resource: { name: 'cpu', currentAverageUtilization: 20, currentAverageValue: '100m' } },
    ]);
  });

  it('writes v2-only fields in the legacy annotation formats', () => {
    const out = conv(
      hpaV2({
        metrics: [
          { type: 'Pods', pods: { metric: { name: 'qps' }, target: { type: 'AverageValue', averageValue: '10' } } },
          { type: 'External', external: { metric: { name: 'queue', selector: { matchLabels: { q: 'a' } } }, target: { type: 'Value', value: '3' } } },
        ],
        behavior: { scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] } },
      }),
      'autoscaling/v1',
    );
    const ann = out.metadata.annotations;
    assert.equal(
      ann[HPA_ANNOTATIONS.metrics],
      '[{"type":"Pods","pods":{"metricName":"qps","targetAverageValue":"10"}},' +
        '{"type":"External","external":{"metricName":"queue","metricSelector":{"matchLabels":{"q":"a"}},"targetValue":"3"}}]',
    );
    assert.equal(
      ann[HPA_ANNOTATIONS.behavior],
      '{"ScaleUp":{"StabilizationWindowSeconds":0,"SelectPolicy":null,"Policies":[{"Type":"Percent","Value":100,"PeriodSeconds":15}],"Tolerance":null},"ScaleDown":null}',
    );
    assert.equal(out.spec.targetCPUUtilizationPercentage, undefined);
  });

  it('drops stale round-trip annotations and keeps the others', () => {
    const md = { name: 'h', annotations: { a: 'b', [HPA_ANNOTATIONS.conditions]: '[]', [HPA_ANNOTATIONS.scaleDownTolerance]: '1' } };
    const out = conv(hpaV2({ metrics: [cpu(50)] }, { desiredReplicas: 0 }, md), 'autoscaling/v1');
    assert.deepEqual(out.metadata.annotations, { a: 'b' });
    const only = conv(hpaV2({ metrics: [cpu(50)] }, { desiredReplicas: 0 }, { name: 'h', annotations: { [HPA_ANNOTATIONS.metrics]: '[]' } }), 'autoscaling/v1');
    assert.equal('annotations' in only.metadata, false);
  });
});

describe('convert: HPA v2 -> v1 -> v2 round trip', () => {
  const cases: { name: string; obj: J }[] = [
    {
      name: 'every metric source, behavior, conditions and current metrics',
      obj: hpaV2(
        {
          minReplicas: 2,
          metrics: [
            { type: 'Resource', resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 70 } } },
            { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '1Gi' } } },
            { type: 'ContainerResource', containerResource: { name: 'cpu', container: 'app', target: { type: 'Utilization', averageUtilization: 40 } } },
            { type: 'Pods', pods: { metric: { name: 'qps', selector: { matchLabels: { a: 'b' } } }, target: { type: 'AverageValue', averageValue: '10' } } },
            { type: 'Object', object: { describedObject: { kind: 'Ingress', name: 'main', apiVersion: 'networking.k8s.io/v1' }, metric: { name: 'rps' }, target: { type: 'Value', value: '2k' } } },
            { type: 'External', external: { metric: { name: 'queue' }, target: { type: 'AverageValue', averageValue: '30' } } },
            cpu(65),
          ],
          behavior: {
            scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }], tolerance: '50m' },
            scaleDown: { stabilizationWindowSeconds: 300 },
          },
        },
        {
          observedGeneration: 3,
          lastScaleTime: '2024-01-01T00:00:00Z',
          currentReplicas: 2,
          desiredReplicas: 3,
          currentMetrics: [
            { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 12, averageValue: '120m' } } },
            { type: 'Pods', pods: { metric: { name: 'qps' }, current: { averageValue: '7' } } },
            { type: 'External', external: { metric: { name: 'queue' }, current: { value: '0', averageValue: '5' } } },
          ],
          conditions: [{ type: 'AbleToScale', status: 'True', lastTransitionTime: '2024-01-01T00:00:00Z', reason: 'ReadyForNewScale', message: 'ok' }],
        },
        { name: 'h', namespace: 'default', annotations: { team: 'x' } },
      ),
    },
    { name: 'CPU only', obj: hpaV2({ minReplicas: 1, metrics: [cpu(50)] }) },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const v1 = conv(c.obj, 'autoscaling/v1');
      const back = conv(v1, 'autoscaling/v2');
      // The CPU utilization metric travels in targetCPU and is re-appended after the annotated ones.
      const expected = structuredClone(c.obj);
      assert.deepEqual(back, expected);
    });
  }
});

describe('convert: Event core/v1 <-> events.k8s.io/v1', () => {
  const involved = { kind: 'Pod', namespace: 'default', name: 'p', uid: 'u1', apiVersion: 'v1' };
  const core: J = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'p.1', namespace: 'default' },
    involvedObject: involved,
    reason: 'Scheduled',
    message: 'assigned',
    source: { component: 'scheduler', host: 'n1' },
    firstTimestamp: '2024-01-01T00:00:00Z',
    lastTimestamp: '2024-01-01T00:01:00Z',
    count: 3,
    type: 'Normal',
    eventTime: '2024-01-01T00:00:00.000000Z',
    series: { count: 2, lastObservedTime: '2024-01-01T00:01:00.000000Z' },
    action: 'Binding',
    related: { kind: 'Node', name: 'n1' },
    reportingComponent: 'default-scheduler',
    reportingInstance: 'default-scheduler-n1',
  };
  const events: J = {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name: 'p.1', namespace: 'default' },
    regarding: involved,
    reason: 'Scheduled',
    note: 'assigned',
    deprecatedSource: { component: 'scheduler', host: 'n1' },
    deprecatedFirstTimestamp: '2024-01-01T00:00:00Z',
    deprecatedLastTimestamp: '2024-01-01T00:01:00Z',
    deprecatedCount: 3,
    type: 'Normal',
    eventTime: '2024-01-01T00:00:00.000000Z',
    series: { count: 2, lastObservedTime: '2024-01-01T00:01:00.000000Z' },
    action: 'Binding',
    related: { kind: 'Node', name: 'n1' },
    reportingController: 'default-scheduler',
    reportingInstance: 'default-scheduler-n1',
  };
  const cases: { name: string; in: J; to: string; want: J }[] = [
    { name: 'core -> events renames every field', in: core, to: 'events.k8s.io/v1', want: events },
    { name: 'events -> core renames every field', in: events, to: 'v1', want: core },
    {
      name: 'absent fields stay absent; null values are kept',
      in: { apiVersion: 'events.k8s.io/v1', kind: 'Event', eventTime: 'x', deprecatedFirstTimestamp: null, note: 'n' },
      to: 'v1',
      want: { apiVersion: 'v1', kind: 'Event', eventTime: 'x', firstTimestamp: null, message: 'n' },
    },
    {
      name: 'fields foreign to the target version are not carried',
      in: { apiVersion: 'v1', kind: 'Event', message: 'm', note: 'stray' },
      to: 'events.k8s.io/v1',
      want: { apiVersion: 'events.k8s.io/v1', kind: 'Event', note: 'm' },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(conv(c.in, c.to), c.want);
    });
  }
});

describe('convert: lists', () => {
  it('converts each HPA item and the list apiVersion, keeping items without kind/apiVersion bare', () => {
    const item = hpaV2({ metrics: [cpu(50)] });
    delete item.apiVersion;
    delete item.kind;
    const list = { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscalerList', metadata: { resourceVersion: '5' }, items: [item] };
    const out = conv(list, 'autoscaling/v1');
    assert.equal(out.apiVersion, 'autoscaling/v1');
    assert.deepEqual(out.metadata, { resourceVersion: '5' });
    assert.deepEqual(out.items[0].spec.targetCPUUtilizationPercentage, 50);
    assert.equal('kind' in out.items[0], false);
    assert.equal('apiVersion' in out.items[0], false);
  });

  it('converts EventList items, keeping item kind when present', () => {
    const list = { apiVersion: 'v1', kind: 'EventList', items: [{ apiVersion: 'v1', kind: 'Event', message: 'm' }] };
    assert.deepEqual(conv(list, 'events.k8s.io/v1'), {
      apiVersion: 'events.k8s.io/v1',
      kind: 'EventList',
      items: [{ apiVersion: 'events.k8s.io/v1', kind: 'Event', note: 'm' }],
    });
  });

  it('leaves lists of unknown kinds alone', () => {
    const list = { apiVersion: 'apps/v1', kind: 'DeploymentList', items: [] };
    assert.equal(convert(list, 'apps/v1beta1'), list);
  });
});
