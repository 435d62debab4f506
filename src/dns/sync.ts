/**
 * Feeds the cluster zone from informers (CoreDNS's kubernetes plugin watches the same three
 * resources): Services, EndpointSlices and Namespaces. Every event is applied to the zone at
 * once, so an answer reflects the informer's view as soon as the event arrives; there is no
 * rebuild and nothing to retry (the zone's updates cannot fail).
 */
import type { KObject } from '../api/types.js';
import type { InformerFactory } from '../client/shared-informer.js';

/** The zone's update surface (src/dns/zone ClusterZone). */
export interface ZoneStore {
  upsertService(svc: KObject): void;
  deleteService(namespace: string, name: string): void;
  upsertEndpointSlice(slice: KObject): void;
  deleteEndpointSlice(namespace: string, name: string): void;
  upsertNamespace(name: string): void;
  deleteNamespace(name: string): void;
}

const ns = (o: KObject): string => o.metadata.namespace ?? '';
const name = (o: KObject): string => o.metadata.name ?? '';

/** Registers the handlers; `await informers.start()` afterwards to fill the zone. */
export function syncZone(informers: InformerFactory, zone: ZoneStore): void {
  informers.for('', 'services').addHandlers({
    onAdd: (o) => zone.upsertService(o),
    onUpdate: (o, old) => {
      if (o !== old) zone.upsertService(o);
    },
    onDelete: (o) => zone.deleteService(ns(o), name(o)),
  });
  informers.for('discovery.k8s.io', 'endpointslices').addHandlers({
    onAdd: (o) => zone.upsertEndpointSlice(o),
    onUpdate: (o, old) => {
      if (o !== old) zone.upsertEndpointSlice(o);
    },
    onDelete: (o) => zone.deleteEndpointSlice(ns(o), name(o)),
  });
  informers.for('', 'namespaces').addHandlers({
    onAdd: (o) => zone.upsertNamespace(name(o)),
    onDelete: (o) => zone.deleteNamespace(name(o)),
  });
}
