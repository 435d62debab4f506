/**
 * The shared storage conformance suite (unchanged) against a real single-member etcd and a real
 * 3-member etcd cluster. Each store the suite opens is a fresh key prefix in the shared etcd,
 * seen through RebasedBackend because the suite asserts absolute revisions (see rebased.ts).
 */
import { after, test } from 'node:test';
import { runConformance } from '../../src/storage/conformance.js';
import { openEtcdBackend } from '../../src/storage/etcd.js';
import type { Backend } from '../../src/storage/types.js';
import { etcdAvailable, etcdSkipReason, startEtcd, startEtcdCluster, type EtcdServer } from './etcdtest.js';
import { RebasedBackend } from './rebased.js';

if (!etcdAvailable) {
  test('etcd storage conformance', { skip: etcdSkipReason }, () => {});
} else {
  const servers: Array<Promise<EtcdServer>> = [];
  after(async () => {
    await Promise.all(servers.map(async (s) => (await s).stop()));
  });

  let n = 0;
  /** A lazily started server, shared by every store opened on it. */
  const opener = (start: () => Promise<EtcdServer>): (() => Promise<Backend>) => {
    let server: Promise<EtcdServer> | null = null;
    return async () => {
      if (!server) {
        server = start();
        servers.push(server);
      }
      const { endpoints } = await server;
      // The trailing slash keeps /conformance-1/ from matching /conformance-10/.
      return RebasedBackend.at(await openEtcdBackend({ endpoints, prefix: `/conformance-${n++}/` }));
    };
  };

  runConformance('etcd (1 member)', opener(startEtcd));
  runConformance('etcd (3-member cluster)', opener(() => startEtcdCluster(3)));
}
