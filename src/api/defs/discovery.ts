/**
 * discovery.k8s.io/v1 EndpointSlice and the types it reaches. EndpointSlice has no spec: its
 * payload fields sit at top level beside metadata, so they are passed to kindObject directly.
 */
import {
  arr,
  bool,
  int32,
  kindObject,
  listObject,
  map,
  obj,
  ref,
  str,
  group,
  type Definitions,
} from '../schema.js';

const PKG = 'io.k8s.api.discovery.v1';
const gv = (kind: string): { group: string; version: string; kind: string } => ({
  group: 'discovery.k8s.io',
  version: 'v1',
  kind,
});

export const defs: Definitions = group(PKG, {
  EndpointSlice: kindObject(
    gv('EndpointSlice'),
    {
      addressType: str(),
      endpoints: arr(ref(`${PKG}.Endpoint`), { listType: 'atomic' }),
      ports: arr(ref(`${PKG}.EndpointPort`), { listType: 'atomic' }),
    },
    { required: ['addressType'] },
  ),
  EndpointSliceList: listObject(gv('EndpointSliceList'), `${PKG}.EndpointSlice`),
  Endpoint: obj(
    {
      addresses: arr(str(), { listType: 'set' }),
      conditions: ref(`${PKG}.EndpointConditions`),
      deprecatedTopology: map(str()),
      hints: ref(`${PKG}.EndpointHints`),
      hostname: str(),
      nodeName: str(),
      targetRef: ref('io.k8s.api.core.v1.ObjectReference'),
      zone: str(),
    },
    { required: ['addresses'] },
  ),
  EndpointConditions: obj({ ready: bool(), serving: bool(), terminating: bool() }),
  EndpointHints: obj({
    forNodes: arr(ref(`${PKG}.ForNode`), { listType: 'atomic' }),
    forZones: arr(ref(`${PKG}.ForZone`), { listType: 'atomic' }),
  }),
  ForNode: obj({ name: str() }, { required: ['name'] }),
  ForZone: obj({ name: str() }, { required: ['name'] }),
  EndpointPort: obj(
    { appProtocol: str(), name: str(), port: int32(), protocol: str() },
    { mapType: 'atomic' },
  ),
});
