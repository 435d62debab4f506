/**
 * Label key / value validation with the exact wording kube-apiserver (apimachinery 1.32,
 * `util/validation`) uses, plus the `field.Error` string form those messages are wrapped in.
 * Selector errors reach users verbatim (kubectl prints `Error from server (BadRequest): ...`),
 * so the text here is part of the wire contract, not decoration.
 */

// The name rules themselves live with object validation; selectors share them.
export { isDNS1123Subdomain, isQualifiedName, isValidLabelValue, regexError } from '../../api/validation/names.js';

export function maxLenError(n: number): string {
  return `must be no more than ${n} characters`;
}

/** Go's %q for strings: printable text kept, control characters escaped Go-style. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Go's %#v of a []string, as field.Invalid prints a bad values list. */
export function goStringSlice(values: string[]): string {
  return `[]string{${values.map(goQuote).join(', ')}}`;
}

/**
 * `field.Invalid(path, value, detail).Error()`: "<path>: Invalid value: <value>: <detail>".
 * A nil path prints as "<nil>", which is what selectors parsed from query strings show.
 */
export function invalidFieldError(path: string, badValue: string, detail: string): string {
  return `${path}: Invalid value: ${badValue}: ${detail}`;
}

/** utilerrors.Aggregate's Error(): one message bare, several deduplicated inside [a, b]. */
export function aggregateMessages(msgs: string[]): string {
  const seen: string[] = [];
  for (const m of msgs) if (!seen.includes(m)) seen.push(m);
  if (seen.length === 1) return seen[0];
  return `[${seen.join(', ')}]`;
}
