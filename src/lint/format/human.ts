/**
 * The terminal format: findings grouped per object, one line each as
 * `file:line:col  severity  check-id  message`, then a summary line.
 */
import { SEVERITY_RANK, type Severity } from '../types.js';
import { findingsByObject, NO_FILE, objectLabel, plural, positionOf, refOfLintObject, type FormatInput } from './common.js';

export function formatHuman(input: FormatInput): string {
  const lines: string[] = [];
  const counts: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  let withFindings = 0;
  for (const [o, findings] of findingsByObject(input.objects, input.findings)) {
    if (!findings.length) continue;
    withFindings++;
    const file = o.source?.file ?? NO_FILE;
    const start = o.source ? safe(() => o.source!.locate([])) : undefined;
    lines.push(`${objectLabel(refOfLintObject(o))} (${file}${start ? `:${start.line}` : ''})`);
    for (const f of findings) {
      counts[f.severity]++;
      const pos = positionOf(f);
      const where = `${f.source?.file ?? file}${pos ? `:${pos.line}:${pos.column}` : ''}`;
      lines.push(`  ${where}  ${f.severity}  ${f.check}  ${oneLine(f.message)}`);
    }
    lines.push('');
  }
  const total = input.findings.length;
  if (total === 0) {
    lines.push(`No findings in ${plural(input.objects.length, 'object')}.`);
  } else {
    const failing = input.findings.filter((f) => SEVERITY_RANK[f.severity] >= SEVERITY_RANK[input.failOn]).length;
    lines.push(
      `${plural(total, 'finding')} (${counts.error} error, ${counts.warning} warning, ${counts.info} info) in ${withFindings} of ${plural(input.objects.length, 'object')}; ` +
        `${failing} at or above --fail-on ${input.failOn}.`,
    );
  }
  return lines.join('\n') + '\n';
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ');
}

function safe<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
