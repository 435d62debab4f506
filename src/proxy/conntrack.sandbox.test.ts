/**
 * ConntrackCleaner against the real kernel. Run only inside the throwaway namespace:
 *   /work/shared/tools/netns-sandbox node --import tsx --test src/proxy/conntrack.sandbox.test.ts
 * Inside it we add a veth pair, a route for the service CIDR and an nft DNAT rule, send
 * UDP packets so conntrack records real flows (one DNATed to an "endpoint", two un-NATed), then
 * check that the cleaner deletes exactly the flows kube-proxy would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConntrackCleaner } from './conntrack.js';
import type { ProxyEndpoint, ProxyState, ServicePlan, ServicePortInfo } from './types.js';

const inSandbox = Boolean(process.env.SANDBOX_NETNS) && process.getuid?.() === 0;

const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function udpFlows(): string[] {
  // conntrack -L prints the table on stdout and a summary on stderr.
  return sh('conntrack', ['-L', '-p', 'udp']).split('\n').filter((l) => l.trim() !== '');
}

const ep = (ip: string): ProxyEndpoint => ({ ip, port: 5353, ready: true, serving: true, terminating: false, isLocal: true });

function plan(name: string, clusterIP: string, eps: ProxyEndpoint[]): ServicePlan {
  const svc: ServicePortInfo = {
    id: `ns/${name}:dns/UDP`, namespace: 'ns', name, portName: 'dns', protocol: 'UDP', clusterIPs: [clusterIP], port: 53,
    externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [], externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster',
  };
  return { svc, clusterEndpoints: eps, externalEndpoints: eps, localEndpoints: eps, rejectCluster: eps.length === 0, rejectExternal: eps.length === 0 };
}

const state = (...plans: ServicePlan[]): ProxyState => ({
  node: { name: 'n', addresses: ['10.0.0.1'], serviceCIDRs: ['10.96.0.0/12'], podCIDRs: [] },
  services: new Map(plans.map((p) => [p.svc.id, p])),
});

test('ConntrackCleaner deletes stale UDP flows from the kernel table', { skip: !inSandbox && 'needs root inside netns-sandbox' }, async () => {
  // A veth pair (the kernel here has no dummy driver); both ends stay in the sandbox namespace.
  sh('ip', ['link', 'add', 'ctv0', 'type', 'veth', 'peer', 'name', 'ctv1']);
  sh('ip', ['addr', 'add', '10.0.0.1/24', 'dev', 'ctv0']);
  sh('ip', ['link', 'set', 'ctv0', 'up']);
  sh('ip', ['link', 'set', 'ctv1', 'up']);
  sh('ip', ['route', 'add', '10.96.0.0/12', 'dev', 'ctv0']);
  const dir = mkdtempSync(join(tmpdir(), 'ct-'));
  const rules = join(dir, 'rules.nft');
  writeFileSync(rules, [
    'table ip ctsandbox {',
    '  chain out {',
    '    type nat hook output priority -100; policy accept;',
    '    ip daddr 10.96.0.10 udp dport 53 dnat to 10.0.0.1:5353',
    '  }',
    '}',
    '',
  ].join('\n'));
  sh('nft', ['-f', rules]);

  const listener = dgram.createSocket('udp4');
  await new Promise<void>((r) => listener.bind(5353, '0.0.0.0', r));
  const got = new Promise<void>((r) => listener.once('message', () => r()));
  const client = dgram.createSocket('udp4');
  await new Promise<void>((r) => client.bind(40000, '10.0.0.1', r));
  const send = (ip: string): Promise<void> => new Promise((r, j) => client.send('ping', 53, ip, (err) => (err ? j(err) : r())));
  try {
    await send('10.96.0.10'); // DNATed to the endpoint 10.0.0.1:5353
    await send('10.96.0.11'); // service without endpoints yet: un-NATed flow into the void
    await send('10.96.0.12'); // unrelated service, must survive
    await got;
    const before = udpFlows();
    assert.ok(before.some((l) => l.includes('dst=10.96.0.10') && l.includes('src=10.0.0.1 dst=10.0.0.1 sport=5353')), `DNATed flow missing:\n${before.join('\n')}`);
    assert.ok(before.some((l) => l.includes('dst=10.96.0.11')), 'flow to 10.96.0.11 missing');
    assert.ok(before.some((l) => l.includes('dst=10.96.0.12')), 'flow to 10.96.0.12 missing');

    const prev = state(plan('a', '10.96.0.10', [ep('10.0.0.1')]), plan('b', '10.96.0.11', []), plan('c', '10.96.0.12', []));
    const next = state(plan('a', '10.96.0.10', [ep('10.0.0.2')]), plan('b', '10.96.0.11', [ep('10.0.0.3')]), plan('c', '10.96.0.12', []));
    const errors: string[] = [];
    const cleaner = new ConntrackCleaner({ onError: (argv, msg) => errors.push(`${argv.join(' ')}: ${msg}`) });
    const deleted = await cleaner.clear(prev, next);
    assert.deepEqual(errors, []);
    assert.equal(deleted, 2);
    const after = udpFlows();
    assert.ok(!after.some((l) => l.includes('dst=10.96.0.10')), `stale DNAT flow survived:\n${after.join('\n')}`);
    assert.ok(!after.some((l) => l.includes('dst=10.96.0.11')), 'blackholing flow survived');
    assert.ok(after.some((l) => l.includes('dst=10.96.0.12')), 'unrelated flow was deleted');

    // Nothing left to do: conntrack's exit code 1 for "0 deleted" counts as success.
    assert.equal(await cleaner.clear(next, next), 0);
    assert.equal(await cleaner.run([['-D', '-p', 'udp', '--orig-dst', '10.96.0.99', '--orig-port-dst', '53']]), 0);
    assert.deepEqual(errors, []);
  } finally {
    client.close();
    listener.close();
    sh('nft', ['delete', 'table', 'ip', 'ctsandbox']);
    sh('ip', ['link', 'del', 'ctv0']);
  }
});
