/**
 * The EndpointSlice controller's decision logic as a pure function: from a Service, the pods
 * its selector matches and the slices this controller already manages for it, decide which
 * slices to create, update and delete. It reproduces kube's reconciler placement so that churn
 * is minimal: endpoints stay in the slice that holds them; a slice is rewritten only when one
 * of its endpoints (or the Service labels it mirrors) changed; new endpoints first fill slices
 * that are being rewritten anyway, then the unchanged slice that ends up closest to full, and
 * only then new slices; a slice that would be deleted while another is created is reused
 * (updated under its name) instead.
 *
 * Contract: inputs are never mutated (they are usually informer cache objects); returned
 * objects are fresh copies, ready to write. Updates carry the existing slice's name, uid and
 * resourceVersion (so a write against a stale slice fails with 409 and is retried); creates
 * have only generateName `<service>-`.
 */
import type { KObject } from '../../api/types.js';
import {
  ANNOTATION_TRIGGER_TIME,
  CONTROLLER_NAME,
  addressTypesForService,
  endpointPorts,
  endpointsEqualBeyondKey,
  isManagedService,
  newSlice,
  ownedBy,
  sameEndpointIdentity,
  podToEndpoint,
  portMapKey,
  sameStringMap,
  serviceSpec,
  shouldPodBeInEndpoints,
  sliceEndpoints,
  sliceLabels,
  slicePorts,
  type AddressType,
  type Endpoint,
  type EndpointPort,
} from './endpoints.js';

export const DEFAULT_MAX_ENDPOINTS_PER_SLICE = 100;

export interface ComputeOptions {
  /** At most this many endpoints per slice (kube's --max-endpoints-per-slice, default 100). */
  maxEndpointsPerSlice?: number;
  /**
   * Node lookup by name. When given, a pod whose node is unknown is left out (and reported in
   * `skippedPods`) unless the Service publishes not-ready addresses, as kube does; a known node
   * supplies the endpoint's zone. Without it nodes are not checked.
   */
  nodes?: (name: string) => KObject | undefined;
  /** RFC 3339 time for the last-change-trigger-time annotation; absent removes it. */
  triggerTime?: string;
  /** The managed-by label value (default endpointslice-controller.k8s.io). */
  controllerName?: string;
}

export interface SliceChanges {
  create: KObject[];
  update: KObject[];
  delete: KObject[];
  /** `namespace/name` of pods left out because their node is unknown (the caller retries later). */
  skippedPods: string[];
}

interface PreparedPod {
  pod: KObject;
  ports: EndpointPort[];
  portKey: string;
  node?: KObject;
}

interface GroupOptions {
  service: KObject;
  max: number;
  controllerName: string;
}

/**
 * Decides the slice writes that make `existingSlices` (the managed slices labelled with this
 * Service's name) represent `pods` (the pods its selector matches). A Service this controller
 * does not manage (no selector, or type ExternalName) gets all its managed slices deleted.
 */
export function computeSlices(service: KObject, pods: readonly KObject[], existingSlices: readonly KObject[], opts: ComputeOptions = {}): SliceChanges {
  const out: SliceChanges = { create: [], update: [], delete: [], skippedPods: [] };
  if (!isManagedService(service)) {
    out.delete.push(...existingSlices);
    return out;
  }
  const g: GroupOptions = { service, max: Math.max(1, opts.maxEndpointsPerSlice ?? DEFAULT_MAX_ENDPOINTS_PER_SLICE), controllerName: opts.controllerName ?? CONTROLLER_NAME };
  const publishNotReady = serviceSpec(service).publishNotReadyAddresses === true;
  const prepared: PreparedPod[] = [];
  // With only numeric targetPorts every pod resolves the same ports: compute them once.
  const shared = podIndependentPorts(service);
  const sharedKey = shared && portMapKey(shared);
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod)) continue;
    const ports = shared ?? endpointPorts(service, pod);
    let node: KObject | undefined;
    if (opts.nodes) {
      const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName ?? '';
      node = nodeName ? opts.nodes(nodeName) : undefined;
      if (!node && !publishNotReady) {
        out.skippedPods.push(`${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`);
        continue;
      }
    }
    prepared.push({ pod, ports, portKey: sharedKey ?? portMapKey(ports), node });
  }

  const types = addressTypesForService(service);
  const byType = new Map<AddressType, KObject[]>(types.map((t) => [t, []]));
  const unsupported: KObject[] = [];
  for (const s of existingSlices) {
    const list = byType.get(s.addressType as AddressType);
    if (list) list.push(s);
    else unsupported.push(s);
  }
  for (const t of types) {
    const r = reconcileAddressType(prepared, byType.get(t)!, { ...g, addressType: t });
    out.create.push(...r.create);
    out.update.push(...r.update);
    out.delete.push(...r.delete);
  }
  out.delete.push(...unsupported);

  // A Service pending deletion gets no new slices: the garbage collector is removing them.
  if (service.metadata.deletionTimestamp) out.create = [];
  for (const s of [...out.create, ...out.update]) setTriggerTime(s, opts.triggerTime);
  out.create = out.create.map(detach);
  out.update = out.update.map(detach);
  return out;
}

/**
 * A copy of an output slice that shares nothing with the inputs. Endpoints are always built
 * fresh by podToEndpoint in this call, so only metadata and ports need copying (much cheaper
 * than a deep clone of a 100-endpoint slice).
 */
function detach(slice: KObject): KObject {
  return {
    ...slice,
    metadata: JSON.parse(JSON.stringify(slice.metadata)) as KObject['metadata'],
    endpoints: [...sliceEndpoints(slice)],
    ports: slicePorts(slice).map((p) => ({ ...p })),
  };
}

function podIndependentPorts(service: KObject): EndpointPort[] | undefined {
  const ports = serviceSpec(service).ports ?? [];
  if (ports.some((p) => typeof (p.targetPort ?? p.port) !== 'number')) return undefined;
  return endpointPorts(service, { metadata: {} });
}

function setTriggerTime(slice: KObject, triggerTime: string | undefined): void {
  const ann = { ...(slice.metadata.annotations ?? {}) };
  if (triggerTime) ann[ANNOTATION_TRIGGER_TIME] = triggerTime;
  else delete ann[ANNOTATION_TRIGGER_TIME];
  slice.metadata = { ...slice.metadata, annotations: ann };
  if (!Object.keys(ann).length) delete slice.metadata.annotations;
}

interface Writes {
  create: KObject[];
  update: KObject[];
  delete: KObject[];
}

/** kube's reconcileByAddressType, placeholder handling and create→update reuse included. */
function reconcileAddressType(pods: PreparedPod[], existing: KObject[], g: GroupOptions & { addressType: AddressType }): Writes {
  const { service, addressType } = g;
  const toDelete: KObject[] = [];
  const existingByPorts = new Map<string, KObject[]>();
  for (const s of existing) {
    if (!ownedBy(s, service)) {
      toDelete.push(s);
      continue;
    }
    const k = portMapKey(slicePorts(s));
    let list = existingByPorts.get(k);
    if (!list) existingByPorts.set(k, (list = []));
    list.push(s);
  }

  /** port key → ports and desired endpoints by pod name (unique: all pods share the Service's namespace) */
  const desiredByPorts = new Map<string, { ports: EndpointPort[]; endpoints: Map<string, Endpoint> }>();
  for (const p of pods) {
    let group = desiredByPorts.get(p.portKey);
    if (!group) desiredByPorts.set(p.portKey, (group = { ports: p.ports, endpoints: new Map() }));
    const ep = podToEndpoint(p.pod, { service, addressType, node: p.node });
    if (ep.addresses.length) group.endpoints.set(ep.targetRef?.name ?? '', ep);
  }

  const toCreate: KObject[] = [];
  const toUpdate: KObject[] = [];
  for (const [key, group] of desiredByPorts) {
    const r = reconcilePortGroup(existingByPorts.get(key) ?? [], group.endpoints, { ...g, ports: group.ports });
    toCreate.push(...r.create);
    toUpdate.push(...r.update);
    toDelete.push(...r.delete);
  }
  for (const [key, slices] of existingByPorts) {
    if (!desiredByPorts.has(key)) toDelete.push(...slices);
  }

  // With no slice left, keep (or create) one placeholder: no endpoints, no ports.
  if (existing.length === toDelete.length && toCreate.length === 0) {
    const placeholder = newSlice(service, { addressType, ports: [], controllerName: g.controllerName });
    if (toDelete.length === 1 && placeholderEqual(toDelete[0], placeholder)) toDelete.length = 0;
    else toCreate.push(placeholder);
  }

  // Rather than delete one slice and create another, rewrite the doomed one under its name.
  for (let i = 0; i < toDelete.length && toCreate.length > 0; ) {
    const victim = toDelete[i];
    const fresh = toCreate[toCreate.length - 1];
    if (victim.addressType === fresh.addressType && ownedBy(victim, service)) {
      fresh.metadata = {
        ...fresh.metadata,
        name: victim.metadata.name,
        uid: victim.metadata.uid,
        resourceVersion: victim.metadata.resourceVersion,
        creationTimestamp: victim.metadata.creationTimestamp,
      };
      delete fresh.metadata.generateName;
      toCreate.pop();
      toUpdate.push(fresh);
      toDelete.splice(i, 1);
    } else {
      i++;
    }
  }
  return { create: toCreate, update: toUpdate, delete: toDelete };
}

/** A shallow working copy: new metadata, labels and endpoints array (elements are shared, never mutated). */
function workingCopy(slice: KObject): KObject {
  return { ...slice, metadata: { ...slice.metadata }, endpoints: [...sliceEndpoints(slice)] };
}

/**
 * kube's reconcileByPortMapping for one port set: (1) keep desired endpoints where they are
 * and drop the rest, (2) fill slices already being updated (fullest first), (3) put what is
 * left into the unchanged slice that ends closest to full, else into new slices.
 */
function reconcilePortGroup(existing: KObject[], desired: Map<string, Endpoint>, g: GroupOptions & { addressType: AddressType; ports: EndpointPort[] }): Writes {
  const byName = new Map<string, KObject>();
  const unchanged = new Set<string>();
  const toUpdate = new Set<string>();
  const toDelete = new Set<string>();

  for (const slice of existing) {
    const name = slice.metadata.name ?? '';
    byName.set(name, slice);
    const current = sliceEndpoints(slice);
    const kept: Endpoint[] = [];
    let changed = false;
    for (const ep of current) {
      const key = ep.targetRef?.name;
      const want = key === undefined ? undefined : desired.get(key);
      if (!want || !sameEndpointIdentity(want, ep)) continue;
      kept.push(want);
      if (!endpointsEqualBeyondKey(want, ep)) changed = true;
      desired.delete(key!);
    }
    const labels = sliceLabels(slice, g.service, g.controllerName);
    if (changed || kept.length !== current.length) {
      if (kept.length === 0) {
        toDelete.add(name);
      } else {
        const copy = workingCopy(slice);
        copy.endpoints = kept;
        copy.metadata.labels = labels.labels;
        byName.set(name, copy);
        toUpdate.add(name);
      }
    } else if (labels.changed) {
      const copy = workingCopy(slice);
      copy.metadata.labels = labels.labels;
      byName.set(name, copy);
      toUpdate.add(name);
    } else {
      unchanged.add(name);
    }
  }

  const next = desired.values();
  const take = (): Endpoint => {
    const ep = next.next().value as Endpoint;
    desired.delete(ep.targetRef?.name ?? '');
    return ep;
  };

  if (desired.size > 0 && toUpdate.size > 0) {
    const slices = [...toUpdate].map((n) => byName.get(n)!);
    slices.sort((a, b) => sliceEndpoints(b).length - sliceEndpoints(a).length);
    for (const s of slices) {
      const eps = s.endpoints as Endpoint[];
      while (desired.size > 0 && eps.length < g.max) eps.push(take());
    }
  }

  const toCreate: KObject[] = [];
  while (desired.size > 0) {
    let fill: KObject | undefined;
    if (desired.size < g.max && unchanged.size > 0) {
      fill = sliceToFill([...unchanged].map((n) => byName.get(n)!), desired.size, g.max);
    }
    if (!fill) {
      fill = newSlice(g.service, { addressType: g.addressType, ports: g.ports, controllerName: g.controllerName });
    } else {
      fill = workingCopy(fill);
      byName.set(fill.metadata.name ?? '', fill);
    }
    const eps = fill.endpoints as Endpoint[];
    while (desired.size > 0 && eps.length < g.max) eps.push(take());
    if (fill.metadata.name) {
      toUpdate.add(fill.metadata.name);
      unchanged.delete(fill.metadata.name);
    } else {
      toCreate.push(fill);
    }
  }

  return {
    create: toCreate,
    update: [...toUpdate].map((n) => byName.get(n)!),
    delete: [...toDelete].map((n) => byName.get(n)!),
  };
}

/** kube's getSliceToFill: the slice that ends closest to full after adding n endpoints, if any fits. */
function sliceToFill(slices: KObject[], n: number, max: number): KObject | undefined {
  let best: KObject | undefined;
  let bestDiff = max;
  for (const s of slices) {
    const diff = max - (n + sliceEndpoints(s).length);
    if (diff >= 0 && diff < bestDiff) {
      bestDiff = diff;
      best = s;
      if (diff === 0) break;
    }
  }
  return best;
}

/** kube's placeholderSliceCompare: namespace, labels, owners, address type, no endpoints or ports. */
function placeholderEqual(a: KObject, b: KObject): boolean {
  if ((a.metadata.namespace ?? '') !== (b.metadata.namespace ?? '')) return false;
  if (!sameStringMap(a.metadata.labels ?? {}, b.metadata.labels ?? {})) return false;
  const owners = (o: KObject): string =>
    JSON.stringify((o.metadata.ownerReferences ?? []).map((r) => [r.apiVersion, r.kind, r.name, r.uid, r.controller ?? null, r.blockOwnerDeletion ?? null]));
  if (owners(a) !== owners(b)) return false;
  return a.addressType === b.addressType && sliceEndpoints(a).length === 0 && slicePorts(a).length === 0;
}
