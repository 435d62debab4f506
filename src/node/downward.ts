/**
 * The downward API: the values a pod may read about itself, shared by environment variables
 * (`valueFrom.fieldRef` / `resourceFieldRef`, src/node/runtime/env.ts) and downwardAPI volumes
 * (src/node/volumes/contents.ts), so both render labels, IPs and resources the same way.
 */
import type { KObject } from '../api/types.js';
import { isObject } from '../api/types.js';
import { quantityMilli, quantityValue } from '../controllers/scheduler/quantity.js';

/** What a fieldRef can read besides the pod object itself (known to the node, not yet in status). */
export interface DownwardSource {
  pod: KObject;
  nodeName?: string;
  hostIP?: string;
  hostIPs?: string[];
  podIP?: string;
  podIPs?: string[];
}

/** `v` when it is a plain object, else an empty one. */
export function rec(v: unknown): Record<string, unknown> {
  return isObject(v) ? v : {};
}

/** The string-valued entries of `v` (labels, annotations, data maps). */
export function strMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(rec(v))) if (typeof x === 'string') out[k] = x;
  return out;
}

/** Kube's FormatMap: `key="value"` lines, keys sorted, values Go-%q quoted, no trailing newline. */
export function formatMap(m: Record<string, string>): string {
  return Object.keys(m)
    .sort()
    .map((k) => `${k}=${goQuote(m[k])}`)
    .join('\n');
}

/** Go's %q for strings: double-quoted with Go escapes; printable non-ASCII stays as is. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\x07') out += '\\a';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\v') out += '\\v';
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (cp >= 0x80 && cp < 0xa0) out += '\\u' + cp.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

const SUBSCRIPT = /^metadata\.(labels|annotations)\['(.*)'\]$/;

/** The value of a downward-API fieldRef; throws `unsupported fieldPath: X` for anything else. */
export function fieldRefValue(path: string, input: DownwardSource): string {
  const { pod } = input;
  const spec = rec(pod.spec);
  const podIPs = input.podIPs ?? (input.podIP ? [input.podIP] : []);
  const hostIPs = input.hostIPs ?? (input.hostIP ? [input.hostIP] : []);
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name ?? '';
    case 'metadata.namespace':
      return pod.metadata.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'metadata.labels':
      return formatMap(pod.metadata.labels ?? {});
    case 'metadata.annotations':
      return formatMap(pod.metadata.annotations ?? {});
    case 'spec.nodeName':
      return (typeof spec.nodeName === 'string' && spec.nodeName) || input.nodeName || '';
    case 'spec.serviceAccountName':
      return typeof spec.serviceAccountName === 'string' ? spec.serviceAccountName : '';
    case 'status.hostIP':
      return hostIPs[0] ?? '';
    case 'status.hostIPs':
      return hostIPs.join(',');
    case 'status.podIP':
      return input.podIP ?? podIPs[0] ?? '';
    case 'status.podIPs':
      return podIPs.join(',');
  }
  const m = SUBSCRIPT.exec(path);
  if (m) {
    const map = m[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations;
    return map?.[m[2]!] ?? '';
  }
  throw new Error(`unsupported fieldPath: ${path}`);
}

/**
 * The value of a resourceFieldRef (limits/requests cpu/memory/ephemeral-storage) divided by its
 * divisor and rounded up; a limit the container does not set reads as node allocatable.
 */
export function resourceFieldRefValue(
  ref: Record<string, unknown>,
  container: Record<string, unknown>,
  opts: { nodeAllocatable?: Record<string, string> } = {},
): string {
  const nodeAllocatable = opts.nodeAllocatable ?? {};
  const resource = typeof ref.resource === 'string' ? ref.resource : '';
  const m = /^(limits|requests)\.(.+)$/.exec(resource);
  if (!m) throw new Error(`unsupported container resource : ${resource}`);
  const [, kind, name] = m as unknown as [string, 'limits' | 'requests', string];
  const resources = rec(container.resources);
  const own = strMap(resources[kind])[name];
  const amount = own ?? (kind === 'limits' ? nodeAllocatable[name] : undefined) ?? '0';
  const divisorText = ref.divisor === undefined || ref.divisor === null || String(ref.divisor) === '0' ? '1' : String(ref.divisor);
  if (name === 'cpu') {
    const d = quantityMilli(divisorText) || 1;
    return String(Math.ceil(quantityMilli(amount) / d));
  }
  const d = quantityValue(divisorText) || 1;
  return String(Math.ceil(quantityValue(amount) / d));
}

