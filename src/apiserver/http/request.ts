/**
 * Request parsing: the kube-apiserver URL grammar, query options and bodies. Every malformed
 * input becomes a StatusError here, before any handler runs.
 */
import type { IncomingMessage } from 'node:http';
import { yaml } from '../../util/lazy.js';
import { errors, StatusError } from '../errors.js';
import { parseJson } from '../../api/json.js';
import { decodeKubeProtobuf, PROTOBUF_MEDIA_TYPE } from '../../api/proto/decode.js';

export const MAX_BODY = 3 * 1024 * 1024;

export interface ResourcePath {
  group: string;
  version: string;
  namespace?: string;
  plural: string;
  name?: string;
  subresource?: string;
  /** Legacy `/watch/` path form. */
  legacyWatch: boolean;
}

export type ApiPath =
  | { type: 'resource'; path: ResourcePath }
  | { type: 'groupVersion'; group: string; version: string }
  | { type: 'group'; group: string }
  | { type: 'root'; which: 'api' | 'apis' }
  | { type: 'other'; path: string };

/** Parses `/api/v1/...` and `/apis/<group>/<version>/...` paths. */
export function parseApiPath(pathname: string): ApiPath {
  const parts = pathname.split('/').filter((p) => p !== '').map(decodeSegment);
  if (parts[0] === 'api') {
    if (parts.length === 1) return { type: 'root', which: 'api' };
    const version = parts[1];
    if (parts.length === 2) return { type: 'groupVersion', group: '', version };
    return resourceParts('', version, parts.slice(2), pathname);
  }
  if (parts[0] === 'apis') {
    if (parts.length === 1) return { type: 'root', which: 'apis' };
    if (parts.length === 2) return { type: 'group', group: parts[1] };
    if (parts.length === 3) return { type: 'groupVersion', group: parts[1], version: parts[2] };
    return resourceParts(parts[1], parts[2], parts.slice(3), pathname);
  }
  return { type: 'other', path: pathname };
}

/** A percent-decoded path segment; a malformed escape (`%ZZ`) is the client's error, a 400. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw errors.badRequest(`malformed request URL: invalid escape in path segment ${JSON.stringify(segment)}`);
  }
}

function resourceParts(group: string, version: string, rest: string[], pathname: string): ApiPath {
  let legacyWatch = false;
  if (rest[0] === 'watch') {
    legacyWatch = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    // /namespaces/{ns}/{plural}[/{name}[/{sub}]] — but /namespaces/{name}/{sub} is the namespace's own subresource.
    if (rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize')) {
      return { type: 'resource', path: { group, version, plural: 'namespaces', name: rest[1], subresource: rest[2], legacyWatch } };
    }
    namespace = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length === 0 || rest.length > 3) return { type: 'other', path: pathname };
  return {
    type: 'resource',
    path: { group, version, namespace, plural: rest[0], name: rest[1], subresource: rest[2], legacyWatch },
  };
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY) {
    req.resume();
    throw errors.tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) {
      req.resume();
      throw errors.tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export interface DecodedBody {
  value: unknown;
  duplicates: string[];
}

/** Decodes a JSON or YAML body; bad syntax is a 400 as kube reports it. */
export function decodeBody(body: Buffer, contentType: string | undefined): DecodedBody {
  const decoded = parseBody(body, contentType);
  checkNesting(decoded.value);
  return decoded;
}

/**
 * How deeply a request body (or a patch result) may nest. Go's decoder allows 10000 levels, but
 * Node's recursive built-ins the server relies on (structuredClone, util.isDeepStrictEqual)
 * overflow the stack at about 1200, and no Kubernetes object comes near either.
 */
export const MAX_NESTING = 1000;

/** Throws a 400 when value nests deeper than MAX_NESTING (iterative: safe on any depth, and cycles). */
export function checkNesting(value: unknown): void {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > MAX_NESTING) throw errors.badRequest(`the object is nested too deeply: more than ${MAX_NESTING} levels`);
    for (const child of Object.values(v)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
}

/**
 * checkNesting for a body that another module decodes (JSON patches): syntax errors are left to
 * that decoder, so its messages stand.
 */
export function checkBodyNesting(body: Buffer): void {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return;
  }
  checkNesting(value);
}

/** checkNesting for JSON text, before the (recursive) parser sees it: brackets outside strings. */
function checkJsonNesting(text: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_NESTING) throw errors.badRequest(`the object is nested too deeply: more than ${MAX_NESTING} levels`);
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
}

/**
 * checkNesting for YAML text, before it is composed. The composer recurses once per level, and a
 * stack overflow inside it can abort the whole process (V8 compiling a RegExp in an error path
 * at the stack's edge: "RegExpCompiler Allocation failed"), which no catch survives. The CST
 * parser is iterative, so its tree is measured instead.
 */
function checkYamlNesting(text: string): void {
  const stack: [unknown, number][] = [];
  const { Parser } = yaml();
  for (const token of new Parser().parse(text)) stack.push([token, 1]);
  while (stack.length) {
    const [t, depth] = stack.pop() as [Record<string, unknown> | undefined, number];
    if (!t || typeof t !== 'object') continue;
    if (depth > MAX_NESTING) throw errors.badRequest(`the object is nested too deeply: more than ${MAX_NESTING} levels`);
    if (t.value) stack.push([t.value, depth]);
    if (Array.isArray(t.items)) {
      for (const item of t.items as Record<string, unknown>[]) {
        if (item.key) stack.push([item.key, depth + 1]);
        if (item.value) stack.push([item.value, depth + 1]);
      }
    }
  }
}

function parseBody(body: Buffer, contentType: string | undefined): DecodedBody {
  const type = (contentType ?? 'application/json').split(';')[0].trim().toLowerCase();
  const text = body.toString('utf8');
  if (text.trim() === '') throw errors.badRequest('the body of the request was empty');
  if (type === 'application/yaml' || type === 'application/apply-patch+yaml' || type === 'text/yaml') {
    const trimmed = text.trimStart();
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
      checkJsonNesting(text);
      try {
        return parseJson(text);
      } catch {
        // fall through to YAML, which is a superset
      }
    }
    checkYamlNesting(text);
    try {
      // The YAML 1.2 core schema: only what JSON can hold (no !!binary, !!set, !!timestamp...).
      const docs: unknown = yaml().parse(text, { schema: 'core', uniqueKeys: true, maxAliasCount: 100, strict: true, logLevel: 'error' });
      // A self-referencing alias (`a: &x [*x]`) parses to a cyclic value no JSON can hold.
      if (isCyclic(docs)) throw new Error('anchor value contains itself');
      const bad = nonJsonValue(docs);
      if (bad) throw new Error(`cannot unmarshal ${bad} into a JSON value`);
      return { value: docs, duplicates: [] };
    } catch (err) {
      const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
      if (/Map keys must be unique/.test(msg)) throw errors.badRequest(`error converting YAML to JSON: yaml: ${msg}`);
      throw errors.badRequest(`error converting YAML to JSON: yaml: ${msg}`);
    }
  }
  if (
    type === 'application/json' ||
    type === 'application/merge-patch+json' ||
    type === 'application/strategic-merge-patch+json' ||
    type === 'application/json-patch+json' ||
    type === '*/*' ||
    type === ''
  ) {
    checkJsonNesting(text);
    try {
      return parseJson(text);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw errors.badRequest(`Object 'Kind' is missing in '${text.length > 200 ? text.slice(0, 200) + '...' : text}': ${msg}`.startsWith('Object') ? `couldn't get version/kind; json parse error: ${msg}` : msg);
    }
  }
  if (type === PROTOBUF_MEDIA_TYPE) {
    try {
      return { value: decodeKubeProtobuf(body).value, duplicates: [] };
    } catch (err) {
      throw errors.badRequest(`failed to decode protobuf: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw errors.unsupportedMediaType(type);
}

/** Whether a parsed value refers back to one of its own ancestors. */
export function isCyclic(value: unknown, ancestors: Set<object> = new Set()): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (ancestors.has(value)) return true;
  ancestors.add(value);
  for (const v of Object.values(value)) if (isCyclic(v, ancestors)) return true;
  ancestors.delete(value);
  return false;
}

/** The type of the first value in v that is not plain JSON (a Uint8Array, Map, Date...), or undefined. */
export function nonJsonValue(v: unknown): string | undefined {
  const stack: unknown[] = [v];
  while (stack.length) {
    const x = stack.pop();
    if (x === null || typeof x === 'string' || typeof x === 'boolean') continue;
    if (typeof x === 'number') {
      if (!Number.isFinite(x)) return 'a non-finite number';
      continue;
    }
    if (Array.isArray(x)) {
      stack.push(...x);
      continue;
    }
    if (typeof x === 'object') {
      const proto = Object.getPrototypeOf(x);
      if (proto !== Object.prototype && proto !== null) return (x as object).constructor?.name ?? 'an object';
      stack.push(...Object.values(x as object));
      continue;
    }
    return typeof x;
  }
  return undefined;
}

export function queryFlag(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === 'true' || v === '1' || v === '';
}

export function queryInt(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw errors.badRequest(`invalid value for ${name}: ${JSON.stringify(v)}: must be an integer`);
  const n = Number(v);
  // Beyond 2^53 a number is no longer an exact integer (and the store rejects it): a client error, as kube's int64 overflow.
  if (!Number.isSafeInteger(n)) throw errors.badRequest(`invalid value for ${name}: ${JSON.stringify(v)}: value out of range`);
  return n;
}

export function dryRunOf(q: URLSearchParams): boolean {
  const all = q.getAll('dryRun');
  for (const v of all) {
    if (v !== 'All') {
      throw new StatusError(400, 'BadRequest', `Invalid dry run value ${JSON.stringify(v)}: supported values: "All"`);
    }
  }
  return all.length > 0;
}

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export function fieldValidationOf(q: URLSearchParams): FieldValidation {
  const v = q.get('fieldValidation');
  if (v === null || v === '') return 'Warn';
  if (v === 'Strict' || v === 'Warn' || v === 'Ignore') return v;
  throw errors.badRequest(`fieldValidation parameter unsupported: ${v}, accepted values: Ignore, Warn, Strict`);
}
