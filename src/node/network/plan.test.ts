import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  IpAllocator, parseCidr, ipToInt, intToIp, netnsName, hostVethName, shortHash,
  planBridge, planBridgeTeardown, planPodSetup, planPodTeardown, type NetCommand,
} from './plan.js';

const node = { bridge: 'kubelite0', podCIDR: '10.244.0.0/24', hostName: 'n1' };
const UID = '6f1c2a9e-1234-4abc-9def-0123456789ab';

function show(cmds: NetCommand[]): string[] {
  return cmds.map((c) => (c.kind === 'exec' ? c.argv.join(' ') + (c.okIfExists ? '  [ok-if-exists]' : '') : `write ${c.path} = ${c.content}`));
}

test('ip <-> int round trip and CIDR parsing', () => {
  for (const ip of ['0.0.0.0', '10.244.0.1', '255.255.255.255', '192.168.1.200']) assert.equal(intToIp(ipToInt(ip)), ip);
  assert.deepEqual(parseCidr('10.244.0.0/24'), { network: ipToInt('10.244.0.0'), prefix: 24, size: 256 });
  for (const bad of ['10.244.0.1/24', '10.244.0.0', '10.244.0.0/31', '300.1.1.0/24', 'x/24']) {
    assert.throws(() => parseCidr(bad), /CIDR|IPv4/, bad);
  }
});

test('allocator: gateway .1, pods from .2, lowest free, stable per key', () => {
  const a = new IpAllocator('10.244.0.0/24');
  assert.equal(a.gateway(), '10.244.0.1');
  assert.equal(a.allocate('a'), '10.244.0.2');
  assert.equal(a.allocate('b'), '10.244.0.3');
  assert.equal(a.allocate('a'), '10.244.0.2');
  assert.equal(a.release('a'), '10.244.0.2');
  assert.equal(a.release('a'), undefined);
  assert.equal(a.allocate('c'), '10.244.0.2');
  assert.equal(a.get('b'), '10.244.0.3');
});

test('allocator: never network/gateway/broadcast; exhaustion errors', () => {
  const a = new IpAllocator('10.0.0.0/29'); // .0 net, .1 gw, .2-.6 pods, .7 broadcast
  const got = [1, 2, 3, 4, 5].map((i) => a.allocate(`p${i}`));
  assert.deepEqual(got, ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
  assert.throws(() => a.allocate('p6'), /no free pod addresses/);
});

test('allocator: reserve existing addresses', () => {
  const a = new IpAllocator('10.244.0.0/24');
  a.reserve('x', '10.244.0.2');
  a.reserve('x', '10.244.0.2'); // idempotent
  assert.equal(a.allocate('y'), '10.244.0.3');
  assert.throws(() => a.reserve('z', '10.244.0.2'), /already allocated/);
  assert.throws(() => a.reserve('x', '10.244.0.9'), /already holds/);
  for (const bad of ['10.244.0.0', '10.244.0.1', '10.244.0.255', '10.245.0.5']) {
    assert.throws(() => a.reserve('w', bad), /not a pod address/, bad);
  }
});

test('device names fit IFNAMSIZ and are stable', () => {
  assert.equal(netnsName('kl', UID), 'kl-6f1c2a9e');
  assert.equal(hostVethName(UID), `veth${shortHash(UID)}`);
  assert.ok(hostVethName(UID).length <= 15);
  assert.equal(shortHash(''), '811c9dc5');
  assert.notEqual(hostVethName('a'), hostVethName('b'));
});

test('golden: bridge setup', () => {
  assert.deepEqual(show(planBridge({ ...node, clusterCIDR: '10.244.0.0/16' })), [
    'ip link add name kubelite0 type bridge  [ok-if-exists]',
    'ip addr replace 10.244.0.1/24 dev kubelite0',
    'ip link set kubelite0 up',
    'write /proc/sys/net/ipv4/ip_forward = 1',
    'write /proc/sys/net/ipv4/conf/all/send_redirects = 0',
    'write /proc/sys/net/ipv4/conf/kubelite0/send_redirects = 0',
    'nft add table ip kubelite-nat',
    'nft add chain ip kubelite-nat postrouting { type nat hook postrouting priority srcnat ; policy accept ; }',
    'nft flush chain ip kubelite-nat postrouting',
    'nft add rule ip kubelite-nat postrouting ip saddr 10.244.0.0/24 ip daddr != 10.244.0.0/16 masquerade',
  ]);
  // Without clusterCIDR only the node's own range is exempt from masquerade.
  assert.match(show(planBridge(node)).at(-1)!, /daddr != 10\.244\.0\.0\/24 masquerade$/);
  assert.deepEqual(show(planBridgeTeardown(node)), ['nft delete table ip kubelite-nat', 'ip link del kubelite0']);
});

test('golden: pod setup and teardown', () => {
  const v = hostVethName(UID);
  const setup = planPodSetup(node, { uid: UID, ip: '10.244.0.7', netnsPrefix: 'kl' });
  assert.deepEqual(show(setup), ['ip -batch -', 'ip -n kl-6f1c2a9e -batch -']);
  assert.deepEqual(setup.map((c) => (c.kind === 'exec' ? c.input?.split('\n') : [])), [
    ['netns add kl-6f1c2a9e', `link add ${v} type veth peer name eth0 netns kl-6f1c2a9e`, `link set ${v} master kubelite0`, `link set dev ${v} type bridge_slave hairpin on`, `link set ${v} up`, 'neigh flush to 10.244.0.7 dev kubelite0', ''],
    ['link set lo up', 'addr add 10.244.0.7/24 dev eth0', 'link set eth0 up', 'route add default via 10.244.0.1 dev eth0', ''],
  ]);
  const down = planPodTeardown({ uid: UID, netnsPrefix: 'kl' });
  assert.deepEqual(show(down), ['ip -force -batch -']);
  assert.equal(down[0]!.kind === 'exec' ? down[0]!.input : '', `link del ${v}\nnetns del kl-6f1c2a9e\n`);
  assert.throws(() => planPodSetup(node, { uid: UID, ip: '10.9.0.7', netnsPrefix: 'kl' }), /outside podCIDR/);
});
