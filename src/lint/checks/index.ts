/**
 * Every check, in a fixed order (single-object checks first, then cross-object ones): the order
 * of `--list`, of SARIF rules and of findings on the same field.
 */
import type { Check } from '../types.js';
import { OPTIONAL_SINGLE_CHECKS, SINGLE_CHECKS } from './single/index.js';
import { CROSS_CHECKS } from './cross/index.js';

export const ALL_CHECKS: readonly Check[] = [...SINGLE_CHECKS, ...CROSS_CHECKS];

/** Off by default (kube-score defaults that would flag sound manifests, e.g. the article's own sample); `--enable-optional ID`. */
export const OPTIONAL_CHECKS: readonly Check[] = [...OPTIONAL_SINGLE_CHECKS];

const BY_ID = new Map([...ALL_CHECKS, ...OPTIONAL_CHECKS].map((c) => [c.id, c] as const));

/** The check with this id, or undefined. */
export function checkById(id: string): Check | undefined {
  return BY_ID.get(id);
}
