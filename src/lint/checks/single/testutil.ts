/**
 * Table-driven corpus runner for the single-object check tests: each case gives one GOOD and
 * one BAD manifest for a check; the good one must give no problem, the bad one exactly the
 * expected problems (path, container and severity), in order.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import type { Check, CheckContext, FieldPath, KObject, ObjectIndex, Problem, Severity } from '../../types.js';

export interface Expected {
  path: FieldPath;
  container?: string;
  severity?: Severity;
  /** A substring the message must contain. */
  message?: string;
}

export interface Case {
  check: string;
  /** Distinguishes several cases of one check. */
  name?: string;
  good: string;
  bad: string;
  expect: Expected[];
}

const EMPTY_INDEX: ObjectIndex = {
  all: () => [],
  byKind: () => [],
  get: () => undefined,
  podTemplatesSelectedBy: () => [],
};

export const CTX: CheckContext = { index: EMPTY_INDEX, mode: 'cli' };

/** Runs a check the way the runner does: only on the kinds it names. */
export function runCheck(check: Check, obj: KObject): Problem[] {
  if (!check.kinds.includes(String(obj['kind']))) return [];
  return check.run(obj, CTX);
}

export function runCorpus(checks: readonly Check[], cases: readonly Case[]): void {
  const byId = new Map(checks.map((c) => [c.id, c]));
  describe('corpus', () => {
    for (const c of cases) {
      const check = byId.get(c.check);
      const label = c.name ? `${c.check} (${c.name})` : c.check;
      it(`${label}: good manifest gives no problem`, () => {
        assert.ok(check, `unknown check ${c.check}`);
        const problems = runCheck(check, parse(c.good) as KObject);
        assert.deepEqual(problems, []);
      });
      it(`${label}: bad manifest gives the expected problems`, () => {
        assert.ok(check, `unknown check ${c.check}`);
        const problems = runCheck(check, parse(c.bad) as KObject);
        assert.deepEqual(
          problems.map((p) => ({ path: p.path, container: p.container, severity: p.severity ?? check.severity })),
          c.expect.map((e) => ({ path: e.path, container: e.container, severity: e.severity ?? check.severity })),
          problems.map((p) => p.message).join('\n'),
        );
        c.expect.forEach((e, i) => {
          if (e.message) assert.match(problems[i]!.message, new RegExp(e.message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
        });
        for (const p of problems) assert.doesNotMatch(p.message, /undefined|\[object/);
      });
    }
  });
}

/** Every check must be well-formed: kebab-case id, object scope, admission, a description. */
export function assertWellFormed(checks: readonly Check[]): void {
  it('checks are well-formed', () => {
    for (const c of checks) {
      assert.match(c.id, /^[a-z0-9]+(-[a-z0-9]+)*$/);
      assert.equal(c.scope, 'object');
      assert.equal(c.admission, true);
      assert.ok(c.description.length > 10, c.id);
      assert.ok(c.kinds.length > 0, c.id);
    }
  });
}

/** A Deployment manifest around one container spec (YAML, indented for the containers list). */
export function deployment(container: string, o: { replicas?: number; podSpec?: string; name?: string } = {}): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${o.name ?? 'web'}
spec:
  replicas: ${o.replicas ?? 3}
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
${o.podSpec ?? ''}      containers:
${container}`;
}
