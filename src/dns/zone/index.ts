/** The cluster zone: CoreDNS kubernetes-plugin behaviour as pure logic (see zone.ts). */
export { ClusterZone, DNS_SCHEMA_VERSION, type ClusterZoneOptions } from './zone.js';
