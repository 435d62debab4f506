/**
 * Replaces one `## ` section of a markdown document, leaving everything else byte-for-byte,
 * so the benchmark runner can refresh README.md's "## Benchmarks" while others own the rest.
 */

/**
 * Returns `doc` with the section headed exactly `heading` (e.g. "## Benchmarks") replaced by
 * `section` (which must start with that heading). The section runs to the next heading of the
 * same or higher level, outside fenced code blocks. If absent, it is appended at the end.
 */
export function replaceSection(doc: string, heading: string, section: string): string {
  const level = /^#+/.exec(heading)?.[0].length ?? 2;
  const lines = doc.split('\n');
  let start = -1;
  let end = lines.length;
  let fenced = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    if (fenced) continue;
    const h = /^(#+)\s/.exec(line);
    if (start < 0) {
      if (line.trimEnd() === heading) start = i;
    } else if (h && h[1].length <= level) {
      end = i;
      break;
    }
  }
  const body = section.endsWith('\n') ? section : `${section}\n`;
  if (start < 0) {
    if (doc.trim() === '') return body;
    return `${doc.replace(/\n*$/, '')}\n\n${body}`;
  }
  const before = lines.slice(0, start).join('\n');
  const after = lines.slice(end).join('\n');
  return `${before}${start > 0 ? '\n' : ''}${body}${end < lines.length ? `\n${after}` : ''}`;
}
