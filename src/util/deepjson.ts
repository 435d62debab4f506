/**
 * JSON and YAML text for objects nested deeper than V8's recursive serializers can go.
 *
 * The API server accepts bodies nested up to Go's limit of 10,000 levels (src/api/json.ts), but
 * JSON.stringify overflows the stack at ~4,000 levels and the yaml library at ~650. A stored
 * object must still be readable, so these fall back to an explicit-stack serializer rather than
 * answering 500. The fast native path is used whenever it works.
 */
import { yaml } from './lazy.js';

type Frame = { kind: 'array'; items: unknown[]; i: number } | { kind: 'object'; keys: string[]; obj: Record<string, unknown>; i: number };

/** JSON.stringify(v), without a recursion limit. Same output for plain JSON data. */
export function stringifyJson(v: unknown): string {
  try {
    return JSON.stringify(v);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    return iterativeStringify(v);
  }
}

/**
 * YAML text for a response. Falls back to JSON text — which is valid YAML and which every YAML
 * client (kubectl's included) reads — when the object is too deep for the YAML emitter.
 */
export function stringifyYaml(v: unknown): string {
  try {
    return yaml().stringify(v);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    return `${stringifyJson(v)}\n`;
  }
}

/** Serializes plain JSON data (objects, arrays, strings, finite numbers, booleans, null) with a heap stack. */
export function iterativeStringify(root: unknown): string {
  const out: string[] = [];
  const stack: Frame[] = [];
  const emitValue = (v: unknown): void => {
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON(): unknown }).toJSON();
    if (Array.isArray(v)) {
      out.push('[');
      stack.push({ kind: 'array', items: v, i: 0 });
    } else if (v !== null && typeof v === 'object') {
      out.push('{');
      const obj = v as Record<string, unknown>;
      stack.push({ kind: 'object', keys: Object.keys(obj), obj, i: 0 });
    } else {
      out.push(JSON.stringify(v) ?? 'null');
    }
  };
  emitValue(root);
  while (stack.length > 0) {
    const f = stack[stack.length - 1]!;
    if (f.kind === 'array') {
      if (f.i >= f.items.length) {
        out.push(']');
        stack.pop();
        continue;
      }
      if (f.i > 0) out.push(',');
      const item = f.items[f.i++];
      emitValue(item === undefined || typeof item === 'function' || typeof item === 'symbol' ? null : item);
    } else {
      // Skip members JSON.stringify drops (undefined, functions, symbols).
      while (f.i < f.keys.length) {
        const t = typeof f.obj[f.keys[f.i]!];
        if (t !== 'undefined' && t !== 'function' && t !== 'symbol') break;
        f.i++;
      }
      if (f.i >= f.keys.length) {
        out.push('}');
        stack.pop();
        continue;
      }
      const k = f.keys[f.i]!;
      if (out[out.length - 1] !== '{') out.push(',');
      f.i++;
      out.push(JSON.stringify(k), ':');
      emitValue(f.obj[k]);
    }
  }
  return out.join('');
}
