/** coordination.k8s.io/v1 Lease: leader election and node heartbeats. */
import { int32, kindObject, listObject, microTime, obj, ref, str, group, type Definitions } from '../schema.js';

const PKG = 'io.k8s.api.coordination.v1';
const gv = (kind: string): { group: string; version: string; kind: string } => ({
  group: 'coordination.k8s.io',
  version: 'v1',
  kind,
});

export const defs: Definitions = group(PKG, {
  Lease: kindObject(gv('Lease'), { spec: ref(`${PKG}.LeaseSpec`) }),
  LeaseList: listObject(gv('LeaseList'), `${PKG}.Lease`),
  LeaseSpec: obj({
    acquireTime: microTime(),
    holderIdentity: str(),
    leaseDurationSeconds: int32(),
    leaseTransitions: int32(),
    preferredHolder: str(),
    renewTime: microTime(),
    strategy: str(),
  }),
});
