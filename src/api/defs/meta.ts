/**
 * io.k8s.apimachinery.* definitions: object/list metadata, Status, selectors, discovery
 * documents and the special scalar types (Time, Quantity, IntOrString). Shapes, formats and
 * list/map extensions follow kube-apiserver's published schema field for field; descriptions
 * are our own short summaries.
 */
import {
  type Definitions,
  META,
  any,
  arr,
  bool,
  group,
  int32,
  int64,
  listMeta,
  map,
  obj,
  ref,
  str,
  time,
} from '../schema.js';
import { groupVersions } from '../resources.js';

const M = (name: string): string => `${META}.${name}`;

/** Meta kinds such as WatchEvent and DeleteOptions are registered in every served group-version. */
function everyGroupVersion(kind: string): { group: string; version: string; kind: string }[] {
  const out: { group: string; version: string; kind: string }[] = [];
  for (const g of groupVersions()) for (const v of g.versions) out.push({ group: g.group, version: v, kind });
  return out;
}

const apiVersion = str({ description: 'The versioned schema of this object.' });
const kind = str({ description: 'The REST resource this object represents, in CamelCase.' });

const metaDefs: Definitions = group(META, {
  Time: str({ format: 'date-time', description: 'A timestamp in RFC 3339 form, with second precision.' }),
  MicroTime: str({ format: 'date-time', description: 'A timestamp in RFC 3339 form, with microsecond precision.' }),
  FieldsV1: any({ objectLike: true, description: 'A set of field paths in the trie form used by managed fields.' }),
  Patch: obj({}, { description: 'The body of a PATCH request; its form depends on the Content-Type.' }),
  ObjectMeta: obj(
    {
      annotations: map(str(), { description: 'Unstructured key/value data kept with the object.' }),
      creationTimestamp: time({ description: 'When the server created the object.' }),
      deletionGracePeriodSeconds: int64({ description: 'Seconds allowed for graceful termination before removal.' }),
      deletionTimestamp: time({ description: 'When the object will be (or began being) deleted.' }),
      finalizers: arr(str(), { listType: 'set', patchStrategy: 'merge', description: 'Keys that must be cleared before the object is removed.' }),
      generateName: str({ description: 'Prefix used by the server to generate a unique name.' }),
      generation: int64({ description: 'Sequence number of changes to the desired state.' }),
      labels: map(str(), { description: 'Key/value pairs used to organise and select objects.' }),
      managedFields: arr(ref(M('ManagedFieldsEntry')), { listType: 'atomic', description: 'Which manager owns which fields.' }),
      name: str({ description: 'Name, unique within the namespace.' }),
      namespace: str({ description: 'The namespace the object lives in.' }),
      ownerReferences: arr(ref(M('OwnerReference')), {
        listType: 'map',
        listMapKeys: ['uid'],
        patchStrategy: 'merge',
        patchMergeKey: 'uid',
        description: 'Objects this object depends on.',
      }),
      resourceVersion: str({ description: 'Opaque version of the object, used for concurrency control and watches.' }),
      selfLink: str({ description: 'Deprecated and unset.' }),
      uid: str({ description: 'Unique identifier of this object for its whole lifetime.' }),
    },
    { description: 'Metadata every persisted object carries.' },
  ),
  ListMeta: obj(
    {
      continue: str({ description: 'Token for fetching the next page of a paged list.' }),
      remainingItemCount: int64({ description: 'Approximate number of items after this page.' }),
      resourceVersion: str({ description: 'Version of the collection at the time of the list.' }),
      selfLink: str({ description: 'Deprecated and unset.' }),
      shardInfo: ref(M('ShardInfo'), { description: 'The shard this list was served from, when sharded.' }),
    },
    { description: 'Metadata of list responses.' },
  ),
  ShardInfo: obj({ selector: str() }, { required: ['selector'], description: 'Describes a shard of a sharded list.' }),
  LabelSelector: obj(
    {
      matchExpressions: arr(ref(M('LabelSelectorRequirement')), { listType: 'atomic', description: 'Requirements that are ANDed.' }),
      matchLabels: map(str(), { description: 'Exact key/value matches, ANDed.' }),
    },
    { mapType: 'atomic', description: 'A label query over a set of objects.' },
  ),
  LabelSelectorRequirement: obj(
    {
      key: str({ description: 'The label key.' }),
      operator: str({ description: 'One of In, NotIn, Exists, DoesNotExist.' }),
      values: arr(str(), { listType: 'atomic', description: 'Values for In/NotIn; empty for Exists/DoesNotExist.' }),
    },
    { required: ['key', 'operator'] },
  ),
  OwnerReference: obj(
    {
      apiVersion: str({ description: 'API version of the owner.' }),
      blockOwnerDeletion: bool({ description: 'Whether foreground deletion of the owner waits for this object.' }),
      controller: bool({ description: 'Whether the owner is the managing controller.' }),
      kind: str({ description: 'Kind of the owner.' }),
      name: str({ description: 'Name of the owner.' }),
      uid: str({ description: 'UID of the owner.' }),
    },
    { required: ['apiVersion', 'kind', 'name', 'uid'], mapType: 'atomic', description: 'Identifies an owning object.' },
  ),
  ManagedFieldsEntry: obj({
    apiVersion: str(),
    fieldsType: str(),
    fieldsV1: ref(M('FieldsV1')),
    manager: str(),
    operation: str(),
    subresource: str(),
    time: time(),
  }),
  Status: obj(
    {
      apiVersion,
      code: int32({ description: 'HTTP status code.' }),
      details: ref(M('StatusDetails'), { description: 'Extended data about the failure.' }),
      kind,
      message: str({ description: 'Human readable description.' }),
      metadata: listMeta(),
      reason: str({ description: 'Machine readable reason.' }),
      status: str({ description: 'Success or Failure.' }),
    },
    { gvk: [{ group: '', version: 'v1', kind: 'Status' }], description: 'The result of an operation that does not return an object.' },
  ),
  StatusDetails: obj({
    causes: arr(ref(M('StatusCause')), { listType: 'atomic' }),
    group: str(),
    kind: str(),
    name: str(),
    retryAfterSeconds: int32(),
    uid: str(),
  }),
  StatusCause: obj({ field: str(), message: str(), reason: str() }),
  Condition: obj(
    {
      lastTransitionTime: time(),
      message: str(),
      observedGeneration: int64(),
      reason: str(),
      status: str(),
      type: str(),
    },
    { required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'] },
  ),
  DeleteOptions: obj(
    {
      apiVersion,
      dryRun: arr(str(), { listType: 'atomic' }),
      gracePeriodSeconds: int64(),
      ignoreStoreReadErrorWithClusterBreakingPotential: bool(),
      kind,
      orphanDependents: bool(),
      preconditions: ref(M('Preconditions')),
      propagationPolicy: str(),
    },
    { gvk: everyGroupVersion('DeleteOptions'), description: 'Options of a delete request.' },
  ),
  Preconditions: obj({ resourceVersion: str(), uid: str() }),
  WatchEvent: obj(
    {
      object: ref('io.k8s.apimachinery.pkg.runtime.RawExtension', { description: 'The object (or Status for errors).' }),
      type: str({ description: 'ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.' }),
    },
    { required: ['type', 'object'], gvk: everyGroupVersion('WatchEvent'), description: 'One event of a watch stream.' },
  ),
  APIResource: obj(
    {
      categories: arr(str(), { listType: 'atomic' }),
      group: str(),
      kind: str(),
      name: str(),
      namespaced: bool(),
      shortNames: arr(str(), { listType: 'atomic' }),
      singularName: str(),
      storageVersionHash: str(),
      verbs: arr(str()),
      version: str(),
    },
    { required: ['name', 'singularName', 'namespaced', 'kind', 'verbs'] },
  ),
  APIResourceList: obj(
    { apiVersion, groupVersion: str(), kind, resources: arr(ref(M('APIResource')), { listType: 'atomic' }) },
    { required: ['groupVersion', 'resources'], gvk: [{ group: '', version: 'v1', kind: 'APIResourceList' }] },
  ),
  APIGroup: obj(
    {
      apiVersion,
      kind,
      name: str(),
      preferredVersion: ref(M('GroupVersionForDiscovery')),
      serverAddressByClientCIDRs: arr(ref(M('ServerAddressByClientCIDR')), { listType: 'atomic' }),
      versions: arr(ref(M('GroupVersionForDiscovery')), { listType: 'atomic' }),
    },
    { required: ['name', 'versions'], gvk: [{ group: '', version: 'v1', kind: 'APIGroup' }] },
  ),
  APIGroupList: obj(
    { apiVersion, groups: arr(ref(M('APIGroup')), { listType: 'atomic' }), kind },
    { required: ['groups'], gvk: [{ group: '', version: 'v1', kind: 'APIGroupList' }] },
  ),
  APIVersions: obj(
    {
      apiVersion,
      kind,
      serverAddressByClientCIDRs: arr(ref(M('ServerAddressByClientCIDR')), { listType: 'atomic' }),
      versions: arr(str(), { listType: 'atomic' }),
    },
    { required: ['versions', 'serverAddressByClientCIDRs'], gvk: [{ group: '', version: 'v1', kind: 'APIVersions' }] },
  ),
  GroupVersionForDiscovery: obj({ groupVersion: str(), version: str() }, { required: ['groupVersion', 'version'] }),
  ServerAddressByClientCIDR: obj({ clientCIDR: str(), serverAddress: str() }, { required: ['clientCIDR', 'serverAddress'] }),
});

export const defs: Definitions = {
  ...metaDefs,
  'io.k8s.apimachinery.pkg.api.resource.Quantity': str({
    description: 'A fixed-point number with an optional SI or binary suffix, e.g. 100m, 1.5Gi.',
  }),
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': str({
    format: 'int-or-string',
    description: 'Either an integer or a string, e.g. a port number or a port name.',
  }),
  'io.k8s.apimachinery.pkg.runtime.RawExtension': any({ objectLike: true, description: 'An embedded object of any kind.' }),
};
