/**
 * events.k8s.io/v1 Event. It is a view of the same stored objects as core/v1 Event (see
 * src/api/convert.ts for the field mapping), so its fields mirror core's under new names.
 */
import { int32, kindObject, listObject, microTime, obj, ref, str, time, group, type Definitions } from '../schema.js';

const PKG = 'io.k8s.api.events.v1';
const CORE = 'io.k8s.api.core.v1';
const gv = (kind: string): { group: string; version: string; kind: string } => ({
  group: 'events.k8s.io',
  version: 'v1',
  kind,
});

export const defs: Definitions = group(PKG, {
  Event: kindObject(
    gv('Event'),
    {
      action: str(),
      deprecatedCount: int32(),
      deprecatedFirstTimestamp: time(),
      deprecatedLastTimestamp: time(),
      deprecatedSource: ref(`${CORE}.EventSource`),
      eventTime: microTime(),
      note: str(),
      reason: str(),
      regarding: ref(`${CORE}.ObjectReference`),
      related: ref(`${CORE}.ObjectReference`),
      reportingController: str(),
      reportingInstance: str(),
      series: ref(`${PKG}.EventSeries`),
      type: str(),
    },
    { required: ['eventTime'] },
  ),
  EventList: listObject(gv('EventList'), `${PKG}.Event`),
  EventSeries: obj({ count: int32(), lastObservedTime: microTime() }, { required: ['count', 'lastObservedTime'] }),
});
