/**
 * The probes of the upstream DNS conformance tests (kubernetes/kubernetes test/e2e/network/dns.go
 * and dns_common.go), rebuilt as data plus one `sh -c` script per pod.
 *
 * Why a script instead of prober pods: upstream runs a prober pod that loops over `dig`/`getent`
 * and writes one result file per probe, which the test then reads through the pod proxy. We run
 * the same commands once inside a pod with `kubectl exec` (one round trip per probe set), print
 * each probe's exit code and output between marker lines, and judge the results here. That keeps
 * the facts of the upstream probes (which names, which record types, UDP and TCP, `+search`,
 * `getent hosts` for /etc/hosts entries, the pod A record and the PTR of a service IP) while
 * making every failure name the probe and show what `dig` printed.
 *
 * Stricter than upstream on purpose: a probe passes only if its command exited 0 *and* printed an
 * answer line (upstream's `test -n "$(dig ...)"` would accept ";; connection timed out" text), and
 * a probe with `want` passes only if one answer's data equals it.
 */

export type ProbeKind = 'dig' | 'hosts';

export interface Probe {
  /** Upstream's result-file name style: `udp@<name>`, `tcp@<name>`, `hosts@<name>`, `udp@PodARecord`, `udp@<ip>PTR`. */
  id: string;
  kind: ProbeKind;
  /** The shell command run in the pod (its stdout and stderr are captured). */
  command: string;
  /**
   * Expected data of at least one answer: for `dig`, the record data after the type column
   * (`10.96.0.1`, `0 100 80 x.ns.svc.cluster.local.`); for `hosts`, the address column.
   */
  want?: string;
}

/** A name to look up, optionally with the answer data it must produce. */
export type ProbeName = string | { name: string; want?: string };

export interface ProbeSetOptions {
  /** Names looked up with `dig +search` over UDP and TCP: A, or SRV for names starting with `_`. */
  names?: ProbeName[];
  /** Names looked up with `getent hosts` (the pod's /etc/hosts, then DNS). */
  hostEntries?: ProbeName[];
  /** The pod's own IP: adds upstream's pod A record probes (`a-b-c-d.<ns>.pod.<domain>`). */
  podIP?: string;
  /** An IP whose PTR record is probed over UDP and TCP (upstream: the regular service's ClusterIP). */
  ptrIP?: string;
  /** Expected PTR target for `ptrIP` (FQDN with the trailing dot). */
  ptrWant?: string;
  namespace: string;
  /** Cluster domain; default `cluster.local`. */
  domain?: string;
  /** dig timing flags; default `+time=2 +tries=2` so a lost answer cannot stall a round for long. */
  digFlags?: string;
}

export interface ProbeResult {
  id: string;
  ok: boolean;
  rc: number;
  /** Answer lines (comments and blank lines removed). */
  answers: string[];
  /** The command's whole output, for failure messages. */
  output: string;
  /** Why the probe failed ('' when ok). */
  reason: string;
}

/** Single-quotes `s` for sh (names are DNS names, but a stray quote must not break the script). */
export function shq(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** `in-addr.arpa` name of an IPv4 address (`10.96.0.1` → `1.0.96.10.in-addr.arpa.`), as dnsutil.ReverseAddr. */
export function reverseAddr(ip: string): string {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) throw new Error(`not an IPv4 address: ${ip}`);
  return `${parts.reverse().join('.')}.in-addr.arpa.`;
}

/** The pod A record name upstream probes: dots of the IPv4 address become dashes. */
export function podARecord(ip: string, namespace: string, domain = 'cluster.local'): string {
  reverseAddr(ip); // validates
  return `${ip.replaceAll('.', '-')}.${namespace}.pod.${domain}`;
}

function nameOf(n: ProbeName): { name: string; want?: string } {
  return typeof n === 'string' ? { name: n } : n;
}

/**
 * The probes upstream's createProbeCommand builds for one prober, in its order: each name over UDP
 * (`+notcp`) and TCP (`+tcp`) with `+noall +answer +search`, then `getent hosts` per host entry,
 * then the pod A record over UDP and TCP, then the PTR of `ptrIP` over UDP and TCP.
 */
export function lookupProbes(o: ProbeSetOptions): Probe[] {
  const domain = o.domain ?? 'cluster.local';
  const flags = o.digFlags ?? '+time=2 +tries=2';
  const out: Probe[] = [];
  const dig = (transport: 'udp' | 'tcp', name: string, type: string, id: string, want?: string): Probe => ({
    id: `${transport}@${id}`,
    kind: 'dig',
    command: `dig ${transport === 'udp' ? '+notcp' : '+tcp'} ${flags} +noall +answer +search ${shq(name)} ${type}`,
    ...(want !== undefined ? { want } : {}),
  });
  for (const n of o.names ?? []) {
    const { name, want } = nameOf(n);
    const type = name.startsWith('_') ? 'SRV' : 'A';
    out.push(dig('udp', name, type, name, want), dig('tcp', name, type, name, want));
  }
  for (const n of o.hostEntries ?? []) {
    const { name, want } = nameOf(n);
    out.push({ id: `hosts@${name}`, kind: 'hosts', command: `getent hosts ${shq(name)}`, ...(want !== undefined ? { want } : {}) });
  }
  if (o.podIP !== undefined) {
    const rec = podARecord(o.podIP, o.namespace, domain);
    out.push(dig('udp', rec, 'A', 'PodARecord', o.podIP), dig('tcp', rec, 'A', 'PodARecord', o.podIP));
  }
  if (o.ptrIP !== undefined) {
    const rev = reverseAddr(o.ptrIP);
    out.push(dig('udp', rev, 'PTR', `${o.ptrIP}PTR`, o.ptrWant), dig('tcp', rev, 'PTR', `${o.ptrIP}PTR`, o.ptrWant));
  }
  return out;
}

/**
 * One `sh -c` script running every probe once. Each probe prints a header line
 * `<marker> <index> rc=<exit code>` followed by its output; `marker` must not occur in dig output.
 */
export function probeScript(probes: Probe[], marker = '@@probe'): string {
  return probes
    .map((p, i) => `out=$( { ${p.command}; } 2>&1); rc=$?; printf '%s %d rc=%d\\n%s\\n' ${shq(marker)} ${i} "$rc" "$out"`)
    .join('\n');
}

/** The data column(s) of one answer line: dig's record data after the type, getent's address. */
export function answerData(kind: ProbeKind, line: string): string {
  const f = line.trim().split(/\s+/);
  return kind === 'hosts' ? (f[0] ?? '') : f.slice(4).join(' ');
}

/** Splits the script's stdout back into one result per probe (a probe without a header failed to run). */
export function parseProbeOutput(stdout: string, probes: Probe[], marker = '@@probe'): ProbeResult[] {
  const chunks = new Map<number, { rc: number; lines: string[] }>();
  let cur: { rc: number; lines: string[] } | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith(`${marker} `)) {
      const m = /^\S+ (\d+) rc=(\d+)$/.exec(line);
      if (m) {
        cur = { rc: Number(m[2]), lines: [] };
        chunks.set(Number(m[1]), cur);
        continue;
      }
    }
    cur?.lines.push(line);
  }
  return probes.map((p, i) => {
    const c = chunks.get(i);
    if (!c) return { id: p.id, ok: false, rc: -1, answers: [], output: '', reason: 'no output (the script did not reach this probe)' };
    const output = c.lines.join('\n').trim();
    const answers = c.lines.map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith(';'));
    let reason = '';
    if (c.rc !== 0) reason = `exit code ${c.rc}`;
    else if (answers.length === 0) reason = 'empty answer';
    else if (p.want !== undefined && !answers.some((a) => answerData(p.kind, a) === p.want)) reason = `no answer with data ${JSON.stringify(p.want)}`;
    return { id: p.id, ok: reason === '', rc: c.rc, answers, output, reason };
  });
}

/** A readable list of failed probes (id, reason, command output), or '' when all passed. */
export function describeFailures(results: ProbeResult[], probes: Probe[]): string {
  return results
    .map((r, i) => (r.ok ? '' : `${r.id}: ${r.reason}\n  $ ${probes[i]?.command ?? ''}\n  ${r.output.replaceAll('\n', '\n  ') || '(no output)'}`))
    .filter(Boolean)
    .join('\n');
}
