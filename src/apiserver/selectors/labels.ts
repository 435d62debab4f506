/**
 * Label selectors exactly as apimachinery `pkg/labels` parses, validates, matches and prints
 * them. The same lexer/parser state machine is reproduced (rather than a regex) because the
 * error messages kubectl shows depend on which token the parser stopped at.
 *
 * Contract: a parsed selector's requirements are sorted by key (stable) and in/notin values are
 * sorted and de-duplicated, so `selectorToString(parse(s))` is kube's canonical form.
 */
import { errors } from '../errors.js';
import {
  aggregateMessages,
  goQuote,
  goStringSlice,
  invalidFieldError,
  isQualifiedName,
  isValidLabelValue,
} from './validation.js';

/** selection.Operator values. */
export type LabelOperator = 'in' | 'notin' | '=' | '==' | '!=' | 'exists' | '!' | 'gt' | 'lt';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  values: string[];
}

/**
 * `nothing: true` is labels.Nothing() (what a nil metav1.LabelSelector converts to): it matches
 * no object. An empty requirements list matches everything.
 */
export interface LabelSelector {
  requirements: LabelRequirement[];
  nothing?: boolean;
}

/** metav1.LabelSelector as it appears inside objects. */
export interface LabelSelectorObject {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: { key: string; operator: string; values?: string[] | null }[] | null;
}

/** A selector that failed to parse or validate; `message` is kube's error text. */
export class SelectorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelectorError';
  }
}

const BINARY_OPERATORS = ['in', 'notin', '=', '==', '!=', 'gt', 'lt'];

// ---------------------------------------------------------------- requirement construction

/**
 * labels.NewRequirement: validates key, operator/value-count and each value, returning the
 * aggregate error text (paths rendered as kube does; `path` is null for query-string selectors).
 */
function newRequirement(key: string, op: LabelOperator, values: string[], path: string | null): LabelRequirement {
  const errs: string[] = [];
  const child = (name: string): string => (path === null ? name : `${path}.${name}`);
  const keyErrs = isQualifiedName(key);
  if (keyErrs.length) errs.push(invalidFieldError(child('key'), goQuote(key), keyErrs.join('; ')));
  const valuesPath = child('values');
  switch (op) {
    case 'in':
    case 'notin':
      if (values.length === 0) errs.push(invalidFieldError(valuesPath, goStringSlice(values), "for 'in', 'notin' operators, values set can't be empty"));
      break;
    case '=':
    case '==':
    case '!=':
      if (values.length !== 1) errs.push(invalidFieldError(valuesPath, goStringSlice(values), 'exact-match compatibility requires one single value'));
      break;
    case 'exists':
    case '!':
      if (values.length !== 0) errs.push(invalidFieldError(valuesPath, goStringSlice(values), 'values set must be empty for exists and does not exist'));
      break;
    case 'gt':
    case 'lt':
      if (values.length !== 1) errs.push(invalidFieldError(valuesPath, goStringSlice(values), "for 'Gt', 'Lt' operators, exactly one value is required"));
      values.forEach((v, i) => {
        if (parseGoInt64(v) === undefined) errs.push(invalidFieldError(`${valuesPath}[${i}]`, goQuote(v), "for 'Gt', 'Lt' operators, the value must be an integer"));
      });
      break;
  }
  values.forEach((v, i) => {
    const vErrs = isValidLabelValue(v);
    if (vErrs.length) errs.push(invalidFieldError(`${valuesPath}[${i}][${key}]`, goQuote(v), vErrs.join('; ')));
  });
  if (errs.length) throw new SelectorError(aggregateMessages(errs));
  return { key, operator: op, values };
}

/** strconv.ParseInt(s, 10, 64): optional sign, decimal digits, within int64. */
function parseGoInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = BigInt(s);
  if (n > 9223372036854775807n || n < -9223372036854775808n) return undefined;
  return n;
}

function sortedUnique(values: string[]): string[] {
  return [...new Set(values)].sort(byteCompare);
}

/** Go compares strings bytewise; for selector text (ASCII after validation) code units agree. */
function byteCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortByKey(reqs: LabelRequirement[]): LabelRequirement[] {
  return [...reqs].sort((a, b) => byteCompare(a.key, b.key));
}

// ---------------------------------------------------------------- lexer

type Tok =
  | 'error'
  | 'eos'
  | ')'
  | ','
  | '!'
  | '=='
  | '='
  | '>'
  | 'id'
  | 'in'
  | '<'
  | '!='
  | 'notin'
  | '(';

interface Item {
  tok: Tok;
  lit: string;
}

const KEYWORDS: Record<string, Tok> = {
  ')': ')',
  ',': ',',
  '!': '!',
  '==': '==',
  '=': '=',
  '>': '>',
  in: 'in',
  '<': '<',
  '!=': '!=',
  notin: 'notin',
  '(': '(',
};

const isWhitespace = (ch: string): boolean => ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
const isSpecial = (ch: string): boolean => '=!(),><'.includes(ch) && ch !== '';

function lex(s: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  for (;;) {
    while (pos < s.length && isWhitespace(s[pos])) pos++;
    if (pos >= s.length) {
      items.push({ tok: 'eos', lit: '' });
      return items;
    }
    if (isSpecial(s[pos])) {
      // Longest run of special symbols that still forms a known token.
      let buf = '';
      let last: Item | undefined;
      while (pos < s.length && isSpecial(s[pos])) {
        buf += s[pos];
        const t = Object.prototype.hasOwnProperty.call(KEYWORDS, buf) ? KEYWORDS[buf] : undefined;
        if (t) {
          last = { tok: t, lit: buf };
          pos++;
        } else if (last) {
          break;
        } else {
          pos++;
        }
      }
      items.push(last ?? { tok: 'error', lit: `error expected: keyword found '${buf}'` });
      continue;
    }
    let buf = '';
    while (pos < s.length && !isSpecial(s[pos]) && !isWhitespace(s[pos])) buf += s[pos++];
    const kw = buf === 'in' || buf === 'notin' ? KEYWORDS[buf] : undefined;
    items.push({ tok: kw ?? 'id', lit: buf });
  }
}

// ---------------------------------------------------------------- parser

type Ctx = 'keyop' | 'values';

class Parser {
  private pos = 0;
  constructor(private readonly items: Item[]) {}

  private view(i: Item, ctx: Ctx): Item {
    if (ctx === 'values' && (i.tok === 'in' || i.tok === 'notin')) return { tok: 'id', lit: i.lit };
    return i;
  }
  lookahead(ctx: Ctx): Item {
    return this.view(this.items[this.pos], ctx);
  }
  consume(ctx: Ctx): Item {
    return this.view(this.items[this.pos++], ctx);
  }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = [];
    for (;;) {
      const { tok, lit } = this.lookahead('values');
      if (tok === 'id' || tok === '!') {
        let r: LabelRequirement;
        try {
          r = this.parseRequirement();
        } catch (e) {
          if (e instanceof SelectorError) throw new SelectorError(`unable to parse requirement: ${e.message}`);
          throw e;
        }
        reqs.push(r);
        const t = this.consume('values');
        if (t.tok === 'eos') return reqs;
        if (t.tok === ',') {
          const t2 = this.lookahead('values');
          if (t2.tok !== 'id' && t2.tok !== '!') throw new SelectorError(`found '${t2.lit}', expected: identifier after ','`);
          continue;
        }
        throw new SelectorError(`found '${t.lit}', expected: ',' or 'end of string'`);
      }
      if (tok === 'eos') return reqs;
      throw new SelectorError(`found '${lit}', expected: !, identifier, or 'end of string'`);
    }
  }

  private parseRequirement(): LabelRequirement {
    const { key, op: inferred } = this.parseKeyAndInferOperator();
    if (inferred === 'exists' || inferred === '!') return newRequirement(key, inferred, [], null);
    const op = this.parseOperator();
    const values = op === 'in' || op === 'notin' ? this.parseValues() : this.parseExactValue();
    return newRequirement(key, op, sortedUnique(values), null);
  }

  private parseKeyAndInferOperator(): { key: string; op: LabelOperator | '' } {
    let op: LabelOperator | '' = '';
    let t = this.consume('values');
    if (t.tok === '!') {
      op = '!';
      t = this.consume('values');
    }
    if (t.tok !== 'id') throw new SelectorError(`found '${t.lit}', expected: identifier`);
    const keyErrs = isQualifiedName(t.lit);
    if (keyErrs.length) throw new SelectorError(invalidFieldError('<nil>', goQuote(t.lit), keyErrs.join('; ')));
    const next = this.lookahead('values').tok;
    if ((next === 'eos' || next === ',') && op !== '!') op = 'exists';
    return { key: t.lit, op };
  }

  private parseOperator(): LabelOperator {
    const t = this.consume('keyop');
    switch (t.tok) {
      case 'in':
        return 'in';
      case '=':
        return '=';
      case '==':
        return '==';
      case '>':
        return 'gt';
      case '<':
        return 'lt';
      case 'notin':
        return 'notin';
      case '!=':
        return '!=';
      default:
        throw new SelectorError(`found '${t.lit}', expected: ${BINARY_OPERATORS.join(', ')}`);
    }
  }

  private parseValues(): string[] {
    const t = this.consume('values');
    if (t.tok !== '(') throw new SelectorError(`found '${t.lit}' expected: '('`);
    const la = this.lookahead('values');
    if (la.tok === 'id' || la.tok === ',') {
      const s = this.parseIdentifiersList();
      if (this.consume('values').tok !== ')') throw new SelectorError(`found '${la.lit}', expected: ')'`);
      return s;
    }
    if (la.tok === ')') {
      this.consume('values');
      return [''];
    }
    throw new SelectorError(`found '${la.lit}', expected: ',', ')' or identifier`);
  }

  private parseIdentifiersList(): string[] {
    const s = new Set<string>();
    for (;;) {
      const t = this.consume('values');
      if (t.tok === 'id') {
        s.add(t.lit);
        const t2 = this.lookahead('values');
        if (t2.tok === ',') continue;
        if (t2.tok === ')') return [...s];
        throw new SelectorError(`found '${t2.lit}', expected: ',' or ')'`);
      }
      if (t.tok === ',') {
        if (s.size === 0) s.add('');
        const t2 = this.lookahead('values');
        if (t2.tok === ')') {
          s.add('');
          return [...s];
        }
        if (t2.tok === ',') {
          this.consume('values');
          s.add('');
        }
        continue;
      }
      throw new SelectorError(`found '${t.lit}', expected: ',', or identifier`);
    }
  }

  private parseExactValue(): string[] {
    const la = this.lookahead('values');
    if (la.tok === 'eos' || la.tok === ',') return [''];
    const t = this.consume('values');
    if (t.tok === 'id') return [t.lit];
    throw new SelectorError(`found '${t.lit}', expected: identifier`);
  }
}

// ---------------------------------------------------------------- public API

/** labels.Parse without the HTTP wrapping; throws SelectorError with kube's message. */
export function parseLabelSelectorRaw(s: string): LabelSelector {
  return { requirements: sortByKey(new Parser(lex(s)).parse()) };
}

/**
 * Parses a `labelSelector` query parameter. Throws a 400 BadRequest StatusError carrying
 * kube's message (e.g. `unable to parse requirement: found '', expected: ...`).
 */
export function parseLabelSelector(s: string): LabelSelector {
  try {
    return parseLabelSelectorRaw(s);
  } catch (e) {
    if (e instanceof SelectorError) throw errors.badRequest(e.message);
    throw e;
  }
}

/** Whether one requirement holds for a label set (missing keys never satisfy =, in, gt, lt). */
export function matchesRequirement(r: LabelRequirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const val = has ? labels[r.key] : '';
  switch (r.operator) {
    case 'in':
    case '=':
    case '==':
      return has && r.values.includes(val);
    case 'notin':
    case '!=':
      return !has || !r.values.includes(val);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has || r.values.length !== 1) return false;
      const lv = parseGoInt64(val);
      const rv = parseGoInt64(r.values[0]);
      if (lv === undefined || rv === undefined) return false;
      return r.operator === 'gt' ? lv > rv : lv < rv;
    }
  }
}

/** Selector.Matches: all requirements (AND); a Nothing selector matches no labels. */
export function matchLabels(sel: LabelSelector, labels: Record<string, string> | null | undefined): boolean {
  if (sel.nothing) return false;
  const ls = labels ?? {};
  return sel.requirements.every((r) => matchesRequirement(r, ls));
}

/** Selector.Empty(): true for the match-everything selector (not for Nothing). */
export function isEverything(sel: LabelSelector): boolean {
  return !sel.nothing && sel.requirements.length === 0;
}

function requirementToString(r: LabelRequirement): string {
  let out = r.operator === '!' ? `!${r.key}` : r.key;
  switch (r.operator) {
    case 'exists':
    case '!':
      return out;
    case '=':
    case '==':
    case '!=':
      out += r.operator;
      break;
    case 'in':
    case 'notin':
      out += ` ${r.operator} (`;
      break;
    case 'gt':
      out += '>';
      break;
    case 'lt':
      out += '<';
      break;
  }
  out += r.values.length === 1 ? r.values[0] : [...r.values].sort(byteCompare).join(',');
  if (r.operator === 'in' || r.operator === 'notin') out += ')';
  return out;
}

/** Selector.String(): canonical text; "" for both Everything and Nothing. */
export function selectorToString(sel: LabelSelector): string {
  if (sel.nothing) return '';
  return sel.requirements.map(requirementToString).join(',');
}

const OBJECT_OPERATORS: Record<string, LabelOperator> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' };

/**
 * metav1.LabelSelectorAsSelector: null/undefined → Nothing, empty → Everything, otherwise
 * matchLabels (as `=`) plus matchExpressions, sorted by key. Throws SelectorError with kube's
 * text for invalid keys/values/operators (paths `key`, `values[i][key]`).
 */
export function fromLabelSelectorObject(obj: LabelSelectorObject | null | undefined): LabelSelector {
  if (obj == null) return { requirements: [], nothing: true };
  const ml = obj.matchLabels ?? {};
  const me = obj.matchExpressions ?? [];
  if (Object.keys(ml).length + me.length === 0) return { requirements: [] };
  const reqs: LabelRequirement[] = [];
  for (const [k, v] of Object.entries(ml)) reqs.push(newRequirement(k, '=', [v], null));
  for (const e of me) {
    const op = Object.prototype.hasOwnProperty.call(OBJECT_OPERATORS, e.operator) ? OBJECT_OPERATORS[e.operator] : undefined;
    if (!op) throw new SelectorError(`${goQuote(e.operator)} is not a valid label selector operator`);
    reqs.push(newRequirement(e.key, op, [...(e.values ?? [])], null));
  }
  return { requirements: sortByKey(reqs) };
}

/** labels.FormatLabels: sorted `k=v` joined by commas, `<none>` when empty. */
export function formatLabels(labels: Record<string, string> | null | undefined): string {
  const parts = Object.entries(labels ?? {}).map(([k, v]) => `${k}=${v}`);
  parts.sort(byteCompare);
  return parts.length ? parts.join(',') : '<none>';
}

/** metav1.FormatLabelSelector: the selector's string, `<none>` if empty, `<error>` if invalid. */
export function formatLabelSelector(obj: LabelSelectorObject | null | undefined): string {
  try {
    const s = selectorToString(fromLabelSelectorObject(obj));
    return s.length ? s : '<none>';
  } catch (e) {
    if (e instanceof SelectorError) return '<error>';
    throw e;
  }
}
