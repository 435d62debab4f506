/**
 * `--format json`: an array of findings, each with its file, line and column (null without a
 * source), the field path as a string and the object it is about.
 */
import { NO_FILE, pathString, positionOf, type FormatInput } from './common.js';

export interface JsonFinding {
  check: string;
  severity: string;
  message: string;
  file: string;
  line: number | null;
  column: number | null;
  path: string;
  container?: string;
  object: { apiVersion: string; kind: string; namespace?: string; name: string };
}

export function toJsonFindings(input: FormatInput): JsonFinding[] {
  return input.findings.map((f) => {
    const pos = positionOf(f);
    return {
      check: f.check,
      severity: f.severity,
      message: f.message,
      file: f.source?.file ?? NO_FILE,
      line: pos?.line ?? null,
      column: pos?.column ?? null,
      path: pathString(f.path),
      ...(f.container !== undefined ? { container: f.container } : {}),
      object: { ...f.object },
    };
  });
}

export function formatJson(input: FormatInput): string {
  return JSON.stringify(toJsonFindings(input), null, 2) + '\n';
}
