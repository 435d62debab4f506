import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { answerData, describeFailures, lookupProbes, parseProbeOutput, podARecord, probeScript, reverseAddr, shq, type Probe } from './probes.js';

describe('probe names', () => {
  for (const [ip, want] of [
    ['10.96.0.1', '1.0.96.10.in-addr.arpa.'],
    ['10.244.0.17', '17.0.244.10.in-addr.arpa.'],
    ['255.0.0.0', '0.0.0.255.in-addr.arpa.'],
  ] as const) {
    it(`reverseAddr(${ip})`, () => assert.equal(reverseAddr(ip), want));
  }
  for (const bad of ['10.96.0', '10.96.0.256', 'fd00::1', 'a.b.c.d', '1.2.3.4.5']) {
    it(`reverseAddr rejects ${bad}`, () => assert.throws(() => reverseAddr(bad), /not an IPv4/));
  }
  it('podARecord uses dashes, the namespace and the domain', () => {
    assert.equal(podARecord('10.244.1.5', 'dns-conformance'), '10-244-1-5.dns-conformance.pod.cluster.local');
    assert.equal(podARecord('10.244.1.5', 'x', 'example.org'), '10-244-1-5.x.pod.example.org');
  });
  it('shq survives quotes', () => {
    const r = spawnSync('sh', ['-c', `printf %s ${shq("it's $HOME")}`], { encoding: 'utf8' });
    assert.equal(r.stdout, "it's $HOME");
  });
});

describe('lookupProbes builds the upstream probe set', () => {
  it('A and SRV names over UDP and TCP, hosts entries, pod A record, PTR, in upstream order', () => {
    const probes = lookupProbes({
      names: [{ name: 'kubernetes.default', want: '10.96.0.1' }, '_http._tcp.svc.ns.svc'],
      hostEntries: ['querier'],
      podIP: '10.244.0.9',
      ptrIP: '10.96.0.20',
      ptrWant: 'svc.ns.svc.cluster.local.',
      namespace: 'ns',
    });
    assert.deepEqual(
      probes.map((p) => [p.id, p.command, p.want]),
      [
        ['udp@kubernetes.default', "dig +notcp +time=2 +tries=2 +noall +answer +search 'kubernetes.default' A", '10.96.0.1'],
        ['tcp@kubernetes.default', "dig +tcp +time=2 +tries=2 +noall +answer +search 'kubernetes.default' A", '10.96.0.1'],
        ['udp@_http._tcp.svc.ns.svc', "dig +notcp +time=2 +tries=2 +noall +answer +search '_http._tcp.svc.ns.svc' SRV", undefined],
        ['tcp@_http._tcp.svc.ns.svc', "dig +tcp +time=2 +tries=2 +noall +answer +search '_http._tcp.svc.ns.svc' SRV", undefined],
        ['hosts@querier', "getent hosts 'querier'", undefined],
        ['udp@PodARecord', "dig +notcp +time=2 +tries=2 +noall +answer +search '10-244-0-9.ns.pod.cluster.local' A", '10.244.0.9'],
        ['tcp@PodARecord', "dig +tcp +time=2 +tries=2 +noall +answer +search '10-244-0-9.ns.pod.cluster.local' A", '10.244.0.9'],
        ['udp@10.96.0.20PTR', "dig +notcp +time=2 +tries=2 +noall +answer +search '20.0.96.10.in-addr.arpa.' PTR", 'svc.ns.svc.cluster.local.'],
        ['tcp@10.96.0.20PTR', "dig +tcp +time=2 +tries=2 +noall +answer +search '20.0.96.10.in-addr.arpa.' PTR", 'svc.ns.svc.cluster.local.'],
      ],
    );
  });
  it('no options, no probes', () => assert.deepEqual(lookupProbes({ namespace: 'ns' }), []));
});

describe('answerData', () => {
  for (const [kind, line, want] of [
    ['dig', 'kubernetes.default.svc.cluster.local. 30 IN A 10.96.0.1', '10.96.0.1'],
    ['dig', '_http._tcp.s.ns.svc.cluster.local.\t30\tIN\tSRV\t0 100 80 s.ns.svc.cluster.local.', '0 100 80 s.ns.svc.cluster.local.'],
    ['hosts', '10.244.0.5      q.s.ns.svc.cluster.local q', '10.244.0.5'],
  ] as const) {
    it(`${kind}: ${line}`, () => assert.equal(answerData(kind, line), want));
  }
});

describe('probeScript + parseProbeOutput, run by a real sh', () => {
  const fake = (id: string, command: string, want?: string, kind: Probe['kind'] = 'dig'): Probe => ({ id, kind, command, ...(want ? { want } : {}) });
  const probes: Probe[] = [
    fake('ok', `printf 'a.b. 30 IN A 10.0.0.1\\n'`),
    fake('okwant', `printf ';; comment\\na.b. 30 IN A 10.0.0.1\\na.b. 30 IN A 10.0.0.2\\n'`, '10.0.0.2'),
    fake('empty', 'true'),
    fake('onlycomments', `printf ';; connection timed out; no servers could be reached\\n'`),
    fake('timeout', `printf ';; connection timed out; no servers could be reached\\n'; exit 9`),
    fake('wrong', `printf 'a.b. 30 IN A 10.0.0.1\\n'`, '10.0.0.9'),
    fake('hosts', `printf '10.1.2.3        q.s q\\n'`, '10.1.2.3', 'hosts'),
    fake('stderr', `echo boom >&2; exit 2`),
  ];
  const expected: [string, boolean, string][] = [
    ['ok', true, ''],
    ['okwant', true, ''],
    ['empty', false, 'empty answer'],
    ['onlycomments', false, 'empty answer'],
    ['timeout', false, 'exit code 9'],
    ['wrong', false, 'no answer with data "10.0.0.9"'],
    ['hosts', true, ''],
    ['stderr', false, 'exit code 2'],
  ];
  it('judges each probe from its exit code and answer lines', () => {
    const r = spawnSync('sh', ['-c', probeScript(probes)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const results = parseProbeOutput(r.stdout, probes);
    assert.deepEqual(results.map((x) => [x.id, x.ok, x.reason]), expected);
    assert.deepEqual(results[1]!.answers, ['a.b. 30 IN A 10.0.0.1', 'a.b. 30 IN A 10.0.0.2']);
    assert.match(results[7]!.output, /boom/);
    const text = describeFailures(results, probes);
    assert.match(text, /^empty: empty answer/m);
    assert.match(text, /^timeout: exit code 9\n {2}\$ printf/m);
    assert.doesNotMatch(text, /^ok:/m);
  });
  it('a probe whose header is missing fails (truncated output)', () => {
    const r = spawnSync('sh', ['-c', probeScript(probes.slice(0, 2))], { encoding: 'utf8' });
    const results = parseProbeOutput(r.stdout, probes.slice(0, 3));
    assert.deepEqual(results.map((x) => x.ok), [true, true, false]);
    assert.match(results[2]!.reason, /no output/);
  });
  it('a custom marker is honoured and other marker-like lines are output', () => {
    const p = [fake('m', `printf '@@probe 7 rc=0\\na. 1 IN A 1.1.1.1\\n'`, '1.1.1.1')];
    const r = spawnSync('sh', ['-c', probeScript(p, '##x')], { encoding: 'utf8' });
    const [res] = parseProbeOutput(r.stdout, p, '##x');
    assert.equal(res!.ok, true);
    assert.deepEqual(res!.answers, ['@@probe 7 rc=0', 'a. 1 IN A 1.1.1.1']);
  });
});
