/**
 * A linear, non-recursive estimate of how deeply a YAML/JSON text nests, run BEFORE the yaml
 * parser: the parser and composer are recursive and super-linear on pathological nesting (a
 * 10,000-deep `[[[...]]]` takes seconds and can exhaust memory), so such input must be refused
 * without ever reaching them.
 *
 * The estimate is flow depth (`[`/`{` outside quotes and comments) plus block depth (the stack
 * of increasing indentations, plus `- ` indicators that open compact sequences on one line).
 * It may over- or under-count by a level here and there (it is a scanner, not a parser); it only
 * has to stop what no real manifest looks like. The exact depth is checked again on the parsed
 * value (see load.ts).
 */

/** The first line (1-based) where the estimated depth exceeds `max`, or undefined when it never does. */
export function firstTooDeepLine(text: string, max: number): number | undefined {
  const indents: number[] = [];
  let flow = 0;
  let quote: '"' | "'" | undefined;
  let blockScalarParent = -1; // indentation of the line that opened a block scalar, or -1
  let lineNo = 0;
  let pos = 0;
  const n = text.length;
  while (pos <= n) {
    lineNo++;
    let end = text.indexOf('\n', pos);
    if (end < 0) end = n;
    let i = pos;
    let indent = 0;
    while (i < end && text.charCodeAt(i) === 32) i++;
    indent = i - pos;
    const blank = i >= end || text[i] === '\r' || (text[i] === '#' && !quote);
    if (blockScalarParent >= 0) {
      if (blank || indent > blockScalarParent) {
        pos = end + 1;
        if (end >= n) break;
        continue;
      }
      blockScalarParent = -1;
    }
    if (!quote && flow === 0 && !blank) {
      if (indent === 0 && (text.startsWith('---', i) || text.startsWith('...', i))) indents.length = 0;
      while (indents.length && indents[indents.length - 1]! >= indent) indents.pop();
      indents.push(indent);
    }
    let atTokenStart = true;
    let lastSignificant = '';
    let extra = 0; // compact "- - -" levels on this line
    let sawHash = false;
    for (; i < end; i++) {
      const c = text[i]!;
      if (c === '#') sawHash = true;
      if (quote) {
        if (quote === '"' && c === '\\') i++;
        else if (c === quote) {
          if (quote === "'" && text[i + 1] === "'") i++;
          else quote = undefined;
        }
        continue;
      }
      if (c === ' ' || c === '\t' || c === '\r') {
        if (lastSignificant === ':' || lastSignificant === '-' || lastSignificant === '?') atTokenStart = true;
        continue;
      }
      if (c === '#' && (i === pos || text[i - 1] === ' ' || text[i - 1] === '\t')) break;
      if ((c === '"' || c === "'") && (atTokenStart || flow > 0 && '[{,:'.includes(lastSignificant))) {
        quote = c;
        lastSignificant = c;
        continue;
      }
      if (c === '[' || c === '{') {
        if (flow > 0 || atTokenStart) {
          flow++;
          if (flow + indents.length + extra > max) return lineNo;
        }
      } else if ((c === ']' || c === '}') && flow > 0) {
        flow--;
      } else if (c === '-' && flow === 0 && atTokenStart && (i + 1 >= end || text[i + 1] === ' ')) {
        extra++;
      }
      atTokenStart = flow > 0 && (c === '[' || c === '{' || c === ',');
      lastSignificant = c;
    }
    if (flow + indents.length + extra > max) return lineNo;
    // The regex can only match when the line ends (before any comment) in a block scalar header
    // character (or in non-ASCII space trimEnd removes); checking that first skips the slice and
    // regex on almost every line.
    if (!quote && flow === 0 && lastSignificant !== '' && (sawHash || BLOCK_HEADER_END.includes(lastSignificant) || lastSignificant.charCodeAt(0) > 127) &&
      /(^|\s)[|>][-+0-9]*$/.test(trimComment(text.slice(pos, end)))) {
      blockScalarParent = indent;
    }
    if (end >= n) break;
    pos = end + 1;
  }
  return undefined;
}

const BLOCK_HEADER_END = '|>-+0123456789';

function trimComment(line: string): string {
  const hash = line.search(/\s#/);
  return (hash >= 0 ? line.slice(0, hash) : line).trimEnd();
}
