/**
 * The seams between the HTTP layer and the pure modules it relies on (schemas, selectors,
 * tables, patches). Handlers depend on this interface only, so each module stays testable
 * alone and the wiring lives in one place (src/apiserver/wiring.ts).
 */
import type { ResourceInfo } from '../../api/resources.js';
import type { KObject, ManagedFieldsEntry } from '../../api/types.js';

export interface ObjectFilter {
  (obj: KObject): boolean;
}

export interface HttpPlugins {
  /**
   * Type errors (→ 400 decode error) and strict-decoding problems (unknown and duplicate
   * fields, as `unknown field "spec.foo"`) of a decoded body for a kind.
   */
  structure(res: ResourceInfo, value: unknown, duplicates: readonly string[]): { decodeError?: string; strictErrors: string[] };
  /** Compiles labelSelector/fieldSelector query parameters into a filter (throws 400 StatusErrors). */
  selectorFilter(res: ResourceInfo, q: { labelSelector?: string; fieldSelector?: string }): ObjectFilter | undefined;
  /** A meta.k8s.io/v1 Table for objects. */
  table(
    res: ResourceInfo,
    objs: KObject[],
    opts: { includeObject: string; resourceVersion?: string; continue?: string; remainingItemCount?: number; noHeaders?: boolean },
  ): Record<string, unknown>;
  /** Applies a PATCH body of the given media type to the live object. */
  patch(
    res: ResourceInfo,
    contentType: string,
    live: KObject | undefined,
    body: Buffer,
    opts: { manager: string; force: boolean; now: Date; defName?: string; subresource?: string; name: string },
  ): { object: KObject; managedFields?: ManagedFieldsEntry[] };
  /** Converts between served versions of one stored kind (e.g. autoscaling/v1 ↔ v2). */
  convert(obj: KObject, toApiVersion: string): KObject;
}
