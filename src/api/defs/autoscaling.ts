/**
 * autoscaling/v1 (HorizontalPodAutoscaler, and Scale: the shape of every `/scale` subresource)
 * and autoscaling/v2 (HorizontalPodAutoscaler with its metric and behavior closure). The server
 * stores HPAs as v2; v1 is a served view converted in src/api/convert.ts.
 */
import {
  arr,
  int32,
  int64,
  kindObject,
  labelSelector,
  listObject,
  obj,
  quantity,
  ref,
  str,
  time,
  group,
  type Definitions,
  type Schema,
} from '../schema.js';

const V1 = 'io.k8s.api.autoscaling.v1';
const V2 = 'io.k8s.api.autoscaling.v2';
const gv = (version: string, kind: string): { group: string; version: string; kind: string } => ({
  group: 'autoscaling',
  version,
  kind,
});

const crossVersionRef = (): Record<string, Schema> => ({ apiVersion: str(), kind: str(), name: str() });

const v1: Definitions = group(V1, {
  HorizontalPodAutoscaler: kindObject(
    gv('v1', 'HorizontalPodAutoscaler'),
    { spec: ref(`${V1}.HorizontalPodAutoscalerSpec`), status: ref(`${V1}.HorizontalPodAutoscalerStatus`) },
    { required: ['spec'] },
  ),
  HorizontalPodAutoscalerList: listObject(gv('v1', 'HorizontalPodAutoscalerList'), `${V1}.HorizontalPodAutoscaler`),
  HorizontalPodAutoscalerSpec: obj(
    {
      maxReplicas: int32(),
      minReplicas: int32(),
      scaleTargetRef: ref(`${V1}.CrossVersionObjectReference`),
      targetCPUUtilizationPercentage: int32(),
    },
    { required: ['scaleTargetRef', 'maxReplicas'] },
  ),
  HorizontalPodAutoscalerStatus: obj(
    {
      currentCPUUtilizationPercentage: int32(),
      currentReplicas: int32(),
      desiredReplicas: int32(),
      lastScaleTime: time(),
      observedGeneration: int64(),
    },
    { required: ['currentReplicas', 'desiredReplicas'] },
  ),
  // v1's reference is atomic (replaced whole by strategic merge); v2's is not marked so upstream.
  CrossVersionObjectReference: obj(crossVersionRef(), { required: ['kind', 'name'], mapType: 'atomic' }),
  Scale: kindObject(gv('v1', 'Scale'), { spec: ref(`${V1}.ScaleSpec`), status: ref(`${V1}.ScaleStatus`) }),
  ScaleSpec: obj({ replicas: int32() }),
  ScaleStatus: obj({ replicas: int32(), selector: str() }, { required: ['replicas'] }),
});

/** MetricSpec and MetricStatus are discriminated by `type`; each member names one source kind. */
const v2: Definitions = group(V2, {
  HorizontalPodAutoscaler: kindObject(
    gv('v2', 'HorizontalPodAutoscaler'),
    { spec: ref(`${V2}.HorizontalPodAutoscalerSpec`), status: ref(`${V2}.HorizontalPodAutoscalerStatus`) },
    { required: ['spec'] },
  ),
  HorizontalPodAutoscalerList: listObject(gv('v2', 'HorizontalPodAutoscalerList'), `${V2}.HorizontalPodAutoscaler`),
  HorizontalPodAutoscalerSpec: obj(
    {
      behavior: ref(`${V2}.HorizontalPodAutoscalerBehavior`),
      maxReplicas: int32(),
      metrics: arr(ref(`${V2}.MetricSpec`), { listType: 'atomic' }),
      minReplicas: int32(),
      scaleTargetRef: ref(`${V2}.CrossVersionObjectReference`),
    },
    { required: ['scaleTargetRef', 'maxReplicas'] },
  ),
  HorizontalPodAutoscalerStatus: obj(
    {
      conditions: arr(ref(`${V2}.HorizontalPodAutoscalerCondition`), {
        listType: 'map',
        listMapKeys: ['type'],
        patchStrategy: 'merge',
        patchMergeKey: 'type',
      }),
      currentMetrics: arr(ref(`${V2}.MetricStatus`), { listType: 'atomic' }),
      currentReplicas: int32(),
      desiredReplicas: int32(),
      lastScaleTime: time(),
      observedGeneration: int64(),
    },
    { required: ['desiredReplicas'] },
  ),
  HorizontalPodAutoscalerCondition: obj(
    { lastTransitionTime: time(), message: str(), reason: str(), status: str(), type: str() },
    { required: ['type', 'status'] },
  ),
  HorizontalPodAutoscalerBehavior: obj({
    scaleDown: ref(`${V2}.HPAScalingRules`),
    scaleUp: ref(`${V2}.HPAScalingRules`),
  }),
  HPAScalingRules: obj({
    policies: arr(ref(`${V2}.HPAScalingPolicy`), { listType: 'atomic' }),
    selectPolicy: str(),
    stabilizationWindowSeconds: int32(),
    tolerance: quantity(),
  }),
  HPAScalingPolicy: obj(
    { periodSeconds: int32(), type: str(), value: int32() },
    { required: ['type', 'value', 'periodSeconds'] },
  ),
  CrossVersionObjectReference: obj(crossVersionRef(), { required: ['kind', 'name'] }),
  MetricIdentifier: obj({ name: str(), selector: labelSelector() }, { required: ['name'] }),
  MetricTarget: obj(
    { averageUtilization: int32(), averageValue: quantity(), type: str(), value: quantity() },
    { required: ['type'] },
  ),
  MetricValueStatus: obj({ averageUtilization: int32(), averageValue: quantity(), value: quantity() }),

  MetricSpec: obj(
    {
      containerResource: ref(`${V2}.ContainerResourceMetricSource`),
      external: ref(`${V2}.ExternalMetricSource`),
      object: ref(`${V2}.ObjectMetricSource`),
      pods: ref(`${V2}.PodsMetricSource`),
      resource: ref(`${V2}.ResourceMetricSource`),
      type: str(),
    },
    { required: ['type'] },
  ),
  ContainerResourceMetricSource: obj(
    { container: str(), name: str(), target: ref(`${V2}.MetricTarget`) },
    { required: ['name', 'target', 'container'] },
  ),
  ExternalMetricSource: obj(
    { metric: ref(`${V2}.MetricIdentifier`), target: ref(`${V2}.MetricTarget`) },
    { required: ['metric', 'target'] },
  ),
  ObjectMetricSource: obj(
    {
      describedObject: ref(`${V2}.CrossVersionObjectReference`),
      metric: ref(`${V2}.MetricIdentifier`),
      target: ref(`${V2}.MetricTarget`),
    },
    { required: ['describedObject', 'target', 'metric'] },
  ),
  PodsMetricSource: obj(
    { metric: ref(`${V2}.MetricIdentifier`), target: ref(`${V2}.MetricTarget`) },
    { required: ['metric', 'target'] },
  ),
  ResourceMetricSource: obj({ name: str(), target: ref(`${V2}.MetricTarget`) }, { required: ['name', 'target'] }),

  MetricStatus: obj(
    {
      containerResource: ref(`${V2}.ContainerResourceMetricStatus`),
      external: ref(`${V2}.ExternalMetricStatus`),
      object: ref(`${V2}.ObjectMetricStatus`),
      pods: ref(`${V2}.PodsMetricStatus`),
      resource: ref(`${V2}.ResourceMetricStatus`),
      type: str(),
    },
    { required: ['type'] },
  ),
  ContainerResourceMetricStatus: obj(
    { container: str(), current: ref(`${V2}.MetricValueStatus`), name: str() },
    { required: ['name', 'current', 'container'] },
  ),
  ExternalMetricStatus: obj(
    { current: ref(`${V2}.MetricValueStatus`), metric: ref(`${V2}.MetricIdentifier`) },
    { required: ['metric', 'current'] },
  ),
  ObjectMetricStatus: obj(
    {
      current: ref(`${V2}.MetricValueStatus`),
      describedObject: ref(`${V2}.CrossVersionObjectReference`),
      metric: ref(`${V2}.MetricIdentifier`),
    },
    { required: ['metric', 'current', 'describedObject'] },
  ),
  PodsMetricStatus: obj(
    { current: ref(`${V2}.MetricValueStatus`), metric: ref(`${V2}.MetricIdentifier`) },
    { required: ['metric', 'current'] },
  ),
  ResourceMetricStatus: obj(
    { current: ref(`${V2}.MetricValueStatus`), name: str() },
    { required: ['name', 'current'] },
  ),
});

export const defs: Definitions = { ...v1, ...v2 };
