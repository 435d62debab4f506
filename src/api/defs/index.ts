/**
 * The merged definition table: every schema kubelite knows, keyed by Kubernetes' own definition
 * names. Each defs module owns a disjoint set of names; `DEFINITIONS` is their union and is the
 * only table other code should read. `resolve` and `schemaAt` are the two lookups patch,
 * validation and OpenAPI code share.
 */
import type { Definitions, Schema } from '../schema.js';
import { defs as apps } from './apps.js';
import { defs as autoscaling } from './autoscaling.js';
import { defs as coordination } from './coordination.js';
import { defs as corePod } from './core-pod.js';
import { defs as core } from './core.js';
import { defs as discovery } from './discovery.js';
import { defs as events } from './events.js';
import { defs as meta } from './meta.js';
import { defs as networking } from './networking.js';
import { defs as policy } from './policy.js';

export const DEFINITIONS: Definitions = {
  ...meta,
  ...core,
  ...corePod,
  ...apps,
  ...discovery,
  ...networking,
  ...autoscaling,
  ...policy,
  ...coordination,
  ...events,
};

/** The definition with this name, or undefined. */
export function resolve(name: string): Schema | undefined {
  return Object.prototype.hasOwnProperty.call(DEFINITIONS, name) ? DEFINITIONS[name] : undefined;
}

/** Follows ref chains until a non-ref schema (or a dangling ref, which yields undefined). */
export function deref(schema: Schema | undefined): Schema | undefined {
  let s = schema;
  for (let hops = 0; s && s.type === 'ref'; hops++) {
    if (hops > 32) return undefined;
    s = resolve(s.ref);
  }
  return s;
}

/**
 * The schema found by walking `path` from definition `defName`, with refs resolved (so the
 * result is never a ref). Path segments name object properties; under an array any segment
 * (an index, '*' or '[]') selects the item schema; under a map any segment selects the value
 * schema. An empty path yields the definition itself. Returns undefined when the path leaves
 * the schema (unknown property, scalar, dangling ref) or enters an `any` schema's interior.
 */
export function schemaAt(defName: string, path: readonly string[]): Schema | undefined {
  let cur = deref(resolve(defName));
  for (const seg of path) {
    if (!cur) return undefined;
    switch (cur.type) {
      case 'object':
        cur = Object.prototype.hasOwnProperty.call(cur.properties, seg) ? deref(cur.properties[seg]) : undefined;
        break;
      case 'array':
        cur = deref(cur.items);
        break;
      case 'map':
        cur = deref(cur.values);
        break;
      default:
        return undefined;
    }
  }
  return cur;
}

/** Names of all definitions reachable from `roots` (roots included), in discovery order. */
export function closure(roots: readonly string[]): string[] {
  const seen = new Set<string>();
  const visit = (s: Schema): void => {
    switch (s.type) {
      case 'ref':
        if (!seen.has(s.ref)) {
          seen.add(s.ref);
          const target = resolve(s.ref);
          if (target) visit(target);
        }
        break;
      case 'array':
        visit(s.items);
        break;
      case 'map':
        visit(s.values);
        break;
      case 'object':
        for (const p of Object.values(s.properties)) visit(p);
        break;
      default:
        break;
    }
  };
  for (const r of roots) visit({ type: 'ref', ref: r });
  return [...seen];
}
