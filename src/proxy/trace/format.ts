/**
 * Human-readable and JSON renderings of a TraceResult for `kubelite proxy trace`. The text form
 * names, for every step, the hook and chain, the rule, the map consulted, the endpoint chosen and
 * why; the JSON form is the TraceResult itself (sets as arrays) for scripts.
 */
import type { TraceResult } from './trace.js';

/** Multi-line text; ends with the verdict line. */
export function formatTrace(r: TraceResult): string {
  const p = r.packet;
  const out: string[] = [`packet: ${p.src} → ${p.dst}:${p.dport}/${p.protocol} (from ${p.origin === 'node' ? 'the node itself' : p.origin === 'pod' ? 'a pod' : 'outside the cluster'})`];
  let hook = '';
  let n = 0;
  for (const s of r.steps) {
    if (s.hook !== hook && s.hook !== '') {
      hook = s.hook;
      out.push(`[${hook}]`);
    }
    if (s.rule === undefined) {
      out.push(s.chain ? `  ▸ ${s.table} ${s.chain}: ${s.why}` : `  ${s.why}`);
      continue;
    }
    n++;
    out.push(`  ${String(n).padStart(2)}. ${s.chain}: ${s.rule}`);
    if (s.map !== undefined) out.push(`      map/set: ${s.map}`);
    if (s.candidates !== undefined) out.push(`      candidates: ${s.candidates.join(', ')}`);
    if (s.endpoint !== undefined) out.push(`      endpoint: ${s.endpoint}`);
    out.push(`      why: ${s.why}`);
  }
  const v = r.verdict;
  const head =
    v.kind === 'dnat' ? `DNAT to ${v.endpoint}` :
    v.kind === 'accept' ? 'ACCEPT (not a service address: untouched)' :
    v.kind === 'reject' ? `REJECT${v.rejectWith ? ` with ${v.rejectWith}` : ''} (connection refused at once)` :
    'DROP (silently discarded)';
  out.push(`verdict: ${head}; ${v.masquerade ? 'source masqueraded to the node address' : 'source address preserved'}`);
  if (v.candidates !== undefined) out.push(`  load-balancing candidates: ${v.candidates.join(', ')}`);
  out.push(`  why: ${v.why}`);
  return out.join('\n') + '\n';
}

/** The result as JSON (affinity sets as arrays). */
export function traceToJSON(r: TraceResult): string {
  const affinity: Record<string, string[]> = {};
  for (const [k, v] of r.affinity) affinity[k] = [...v].sort();
  return JSON.stringify({ packet: r.packet, verdict: r.verdict, final: r.final, steps: r.steps, affinity }, null, 2) + '\n';
}
