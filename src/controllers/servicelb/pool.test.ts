import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IPPool, formatIPv4, parseIPv4, parsePool, poolCIDRs } from './pool.js';

const ip = (s: string): number => {
  const n = parseIPv4(s);
  assert.ok(n !== undefined, s);
  return n;
};
const r = (a: string, b: string): { first: number; last: number } => ({ first: ip(a), last: ip(b) });

describe('parsePool', () => {
  const ok: { spec: string; want: { first: number; last: number }[]; size: number }[] = [
    { spec: '10.250.0.0/24', want: [r('10.250.0.1', '10.250.0.254')], size: 254 },
    { spec: '10.250.0.0/30', want: [r('10.250.0.1', '10.250.0.2')], size: 2 },
    { spec: '10.250.0.0/31', want: [r('10.250.0.0', '10.250.0.1')], size: 2 },
    { spec: '10.250.0.7/32', want: [r('10.250.0.7', '10.250.0.7')], size: 1 },
    { spec: '10.250.0.10-10.250.0.20', want: [r('10.250.0.10', '10.250.0.20')], size: 11 },
    { spec: '10.250.0.10 - 10.250.0.10', want: [r('10.250.0.10', '10.250.0.10')], size: 1 },
    { spec: '192.168.1.5', want: [r('192.168.1.5', '192.168.1.5')], size: 1 },
    { spec: '10.0.0.0/30, 10.250.0.10-10.250.0.11', want: [r('10.0.0.1', '10.0.0.2'), r('10.250.0.10', '10.250.0.11')], size: 4 },
    // Sorted by address whatever the order given.
    { spec: '10.250.0.10-10.250.0.11,10.0.0.0/30', want: [r('10.0.0.1', '10.0.0.2'), r('10.250.0.10', '10.250.0.11')], size: 4 },
    { spec: '10.255.255.254-10.255.255.255', want: [r('10.255.255.254', '10.255.255.255')], size: 2 },
  ];
  for (const c of ok) {
    it(`parses ${c.spec}`, () => {
      assert.deepEqual(parsePool(c.spec), c.want);
      assert.equal(new IPPool(c.spec).size, c.size);
    });
  }

  const bad: { spec: string; err: RegExp }[] = [
    { spec: '', err: /give an IPv4 CIDR/ },
    { spec: ' , ', err: /give an IPv4 CIDR/ },
    { spec: 'fd00::/120', err: /IPv6 pools are not supported/ },
    { spec: '10.250.0.0/24,fd00::1-fd00::9', err: /IPv6 pools are not supported/ },
    { spec: '10.250.0.1/24', err: /host bits are set \(did you mean 10\.250\.0\.0\/24\?\)/ },
    { spec: '10.250.0.0/33', err: /not an IPv4 CIDR/ },
    { spec: '10.250.0.0/', err: /not an IPv4 CIDR/ },
    { spec: '10.250.0/24', err: /not an IPv4 CIDR/ },
    { spec: '10.250.0.20-10.250.0.10', err: /starts after it ends/ },
    { spec: '10.250.0.1-banana', err: /not an IPv4 range/ },
    { spec: '256.1.1.1', err: /expected an IPv4 CIDR/ },
    { spec: '010.1.1.1', err: /expected an IPv4 CIDR/ },
    { spec: '10.250.0.0/24,10.250.0.100-10.250.1.5', err: /overlap/ },
    { spec: '10.0.0.1,10.0.0.1', err: /overlap/ },
  ];
  for (const c of bad) {
    it(`rejects ${JSON.stringify(c.spec)}`, () => {
      assert.throws(() => parsePool(c.spec), c.err);
      assert.throws(() => new IPPool(c.spec), c.err);
    });
  }

  it('formatIPv4 inverts parseIPv4 at the edges', () => {
    for (const s of ['0.0.0.0', '255.255.255.255', '10.250.0.1', '128.0.0.1']) assert.equal(formatIPv4(ip(s)), s);
  });
});

describe('IPPool', () => {
  it('contains: only usable addresses', () => {
    const p = new IPPool('10.250.0.0/30,10.9.0.5-10.9.0.6');
    const table: [string, boolean][] = [
      ['10.250.0.0', false],
      ['10.250.0.1', true],
      ['10.250.0.2', true],
      ['10.250.0.3', false],
      ['10.9.0.4', false],
      ['10.9.0.5', true],
      ['10.9.0.6', true],
      ['10.9.0.7', false],
      ['not-an-ip', false],
      ['fd00::1', false],
    ];
    for (const [addr, want] of table) assert.equal(p.contains(addr), want, addr);
  });

  it('allocates lowest free first, across ranges, until exhausted; release frees', () => {
    const p = new IPPool('10.250.0.0/30,10.9.0.5');
    assert.equal(p.allocate('a'), '10.9.0.5');
    assert.equal(p.allocate('b'), '10.250.0.1');
    assert.equal(p.allocate('a'), '10.9.0.5', 'idempotent per owner');
    assert.equal(p.allocate('c'), '10.250.0.2');
    assert.equal(p.free(), 0);
    assert.equal(p.allocate('d'), undefined);
    assert.equal(p.release('b'), '10.250.0.1');
    assert.equal(p.release('b'), undefined);
    assert.equal(p.ownerOf('10.250.0.1'), undefined);
    assert.equal(p.allocate('d'), '10.250.0.1');
    assert.equal(p.ownerOf('10.250.0.1'), 'd');
    assert.equal(p.addressOf('d'), '10.250.0.1');
    assert.equal(p.used(), 3);
  });

  it('claim: table of outcomes', () => {
    const p = new IPPool('10.250.0.0/29');
    assert.deepEqual(p.claim('10.250.0.4', 'a'), { ok: true });
    const table: { ip: string; owner: string; want: unknown }[] = [
      { ip: '10.250.0.4', owner: 'a', want: { ok: true } },
      { ip: '10.250.0.4', owner: 'b', want: { ok: false, reason: 'in-use', owner: 'a' } },
      { ip: '10.250.0.0', owner: 'b', want: { ok: false, reason: 'not-in-pool' } },
      { ip: '10.250.0.7', owner: 'b', want: { ok: false, reason: 'not-in-pool' } },
      { ip: '10.1.1.1', owner: 'b', want: { ok: false, reason: 'not-in-pool' } },
      { ip: 'x', owner: 'b', want: { ok: false, reason: 'invalid' } },
    ];
    for (const c of table) assert.deepEqual(p.claim(c.ip, c.owner), c.want, `${c.ip} for ${c.owner}`);
    // A successful claim moves the owner; the old address becomes free.
    assert.deepEqual(p.claim('10.250.0.6', 'a'), { ok: true });
    assert.equal(p.ownerOf('10.250.0.4'), undefined);
    assert.equal(p.addressOf('a'), '10.250.0.6');
    // A failed claim keeps the owner's address.
    p.allocate('b');
    assert.equal(p.claim('10.250.0.6', 'b').ok, false);
    assert.equal(p.addressOf('b'), '10.250.0.1');
  });
});

describe('poolCIDRs', () => {
  const table: [string, string[]][] = [
    ['10.250.0.0/24', ['10.250.0.0/24']],
    ['10.250.0.7', ['10.250.0.7/32']],
    ['10.250.0.0-10.250.0.255', ['10.250.0.0/24']],
    ['10.250.0.10-10.250.0.20', ['10.250.0.10/31', '10.250.0.12/30', '10.250.0.16/30', '10.250.0.20/32']],
    ['10.250.0.255-10.250.1.0', ['10.250.0.255/32', '10.250.1.0/32']],
    ['0.0.0.0-255.255.255.255', ['0.0.0.0/0']],
    ['10.0.0.0/30, 10.250.0.1-10.250.0.2', ['10.0.0.0/30', '10.250.0.1/32', '10.250.0.2/32']],
  ];
  for (const [spec, want] of table) it(spec, () => assert.deepEqual(poolCIDRs(spec), want));
  it('rejects what parsePool rejects', () => assert.throws(() => poolCIDRs('fd00::/64'), /IPv6/));
});
