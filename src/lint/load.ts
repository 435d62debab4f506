/**
 * Manifests in, LintObjects out: files, directories (recursive: *.yaml, *.yml, *.json), `-` for
 * standard input and `kubectl kustomize DIR` output. Every object keeps a Source whose
 * `locate(path)` gives the 1-based line and column of any field (for SARIF and the human
 * format).
 *
 * Garbage never crashes or hangs the loader: sizes are checked with stat before reading (and
 * while reading stdin), binary content (NUL bytes, invalid UTF-8) is refused before parsing,
 * nesting depth is estimated by a linear scan before the (recursive) yaml parser runs and
 * checked exactly afterwards, and alias expansion is capped. Every problem becomes a
 * LintInputError with the file and, when known, the line and column; loading goes on with the
 * other documents and files so all errors are reported at once.
 */
import { closeSync, openSync, readSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Composer, LineCounter, Parser, isMap, isScalar, isSeq, isAlias, type Document, type Node as YamlNode } from 'yaml';
import { firstTooDeepLine } from './depth-scan.js';
import { fastOffsetOf, linePos, type FastFile } from './fast-doc.js';
import { parseFastJson } from './fast-json.js';
import { parseFastYaml } from './fast-yaml.js';
import { isRecord } from './objects.js';
import type { FieldPath, KObject, LintObject, Source } from './types.js';

/** A problem with the input (not with the manifests' content): exit code 2 in the CLI. */
export class LintInputError extends Error {
  override readonly name = 'LintInputError';
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
  constructor(file: string, message: string, where: { line?: number; column?: number } = {}) {
    super(message);
    this.file = file;
    if (where.line !== undefined) this.line = where.line;
    if (where.column !== undefined) this.column = where.column;
  }
  /** `file:line:col: message` (the position parts only when known). */
  format(): string {
    const pos = this.line === undefined ? '' : `:${this.line}${this.column === undefined ? '' : `:${this.column}`}`;
    return `${this.file}${pos}: ${this.message}`;
  }
}

export interface LoadOptions {
  /** Largest input accepted, in bytes (default 10 MiB); checked before reading. */
  maxBytes?: number;
  /** Deepest nesting of maps and lists accepted (default 100). */
  maxDepth?: number;
  /** Alias expansion budget passed to the yaml package (default 100). */
  maxAliasCount?: number;
}

export interface LoadResult {
  objects: LintObject[];
  errors: LintInputError[];
}

export const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
export const DEFAULT_MAX_DEPTH = 100;
export const STDIN_NAME = '<stdin>';
/** Deepest nesting the fast path handles itself (deeper input goes to the guarded general path). */
const FAST_MAX_DEPTH = 200;
const MANIFEST_EXT = /\.(ya?ml|json)$/i;

/** Parses manifest text (multi-document YAML or JSON) from `file` into objects. */
export function parseManifests(text: string, file: string, opts: LoadOptions = {}): LoadResult {
  const out: LoadResult = { objects: [], errors: [] };
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  // The fast path first: it is a linear pass whose recursion is bounded by its own exact depth
  // limit (it gives up beyond it, or beyond FAST_MAX_DEPTH), so it needs no pre-scan. The scan
  // guards the yaml package's recursive parser, which runs only when the fast path gives up.
  const fast = looksLikeJson(text) ? parseFastJson(text, Math.min(maxDepth, FAST_MAX_DEPTH)) : parseFastYaml(text, Math.min(maxDepth, FAST_MAX_DEPTH));
  if (fast) {
    addFastObjects(out, fast, file);
    return out;
  }
  const deepLine = firstTooDeepLine(text, maxDepth);
  if (deepLine !== undefined) {
    out.errors.push(new LintInputError(file, `nesting deeper than ${maxDepth} levels`, { line: deepLine }));
    return out;
  }
  return parseWithYamlPackage(text, file, opts);
}

/** Whether the first non-blank character is `{` (a JSON object; YAML's fast path would refuse it anyway). */
function looksLikeJson(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return c === 123;
  }
  return false;
}

/** The objects of a file the fast path parsed (it accepts only valid, duplicate-free mapping documents). */
function addFastObjects(out: LoadResult, fast: FastFile, file: string): void {
  const pos = (offset: number): { line: number; column: number } => linePos(fast.lineStarts, offset);
  fast.docs.forEach((d, docIndex) => {
    if (d === null) return;
    const locate = (path: FieldPath): { line: number; column: number } => pos(fastOffsetOf(d, path));
    addObject(out, d.value, { file, doc: docIndex, locate }, pos(d.start));
  });
}

/**
 * The general path: the yaml package's parser and composer with line tracking. Also what the
 * fast path falls back to for anything outside its subset, so it alone produces parse errors.
 * Exported for tests that compare both paths.
 */
export function parseWithYamlPackage(text: string, file: string, opts: LoadOptions = {}): LoadResult {
  const out: LoadResult = { objects: [], errors: [] };
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  const lc = new LineCounter();
  const pos = (offset: number): { line: number; column: number } => {
    const p = lc.linePos(offset);
    return { line: p.line, column: p.col };
  };
  let docs: Document.Parsed[];
  try {
    const parser = new Parser(lc.addNewLine);
    const composer = new Composer({ version: '1.1', uniqueKeys: false });
    docs = [...composer.compose(parser.parse(text))] as Document.Parsed[];
  } catch (err) {
    out.errors.push(new LintInputError(file, `cannot parse: ${(err as Error).message}`));
    return out;
  }
  docs.forEach((doc, docIndex) => {
    const err = doc.errors[0];
    if (err) {
      const message = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      out.errors.push(new LintInputError(file, `invalid YAML: ${message}`, pos(err.pos[0])));
      return;
    }
    const contents = doc.contents as YamlNode | null;
    if (contents === null || (isScalar(contents) && contents.value === null)) return; // empty document
    const start = pos(contents.range?.[0] ?? 0);
    const dup = firstDuplicateKey(contents);
    if (dup) {
      out.errors.push(new LintInputError(file, `invalid YAML: duplicate key ${JSON.stringify(dup.key)}`, pos(dup.offset)));
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: opts.maxAliasCount ?? 100 });
    } catch (e) {
      out.errors.push(new LintInputError(file, `cannot load document: ${(e as Error).message}`, start));
      return;
    }
    if (depthExceeds(value, maxDepth)) {
      out.errors.push(new LintInputError(file, `nesting deeper than ${maxDepth} levels (after expanding aliases)`, start));
      return;
    }
    if (!isRecord(value)) {
      const what = Array.isArray(value) ? 'a list' : `a ${typeof value === 'string' ? 'string' : typeof value}`;
      out.errors.push(new LintInputError(file, `document is ${what}, not a Kubernetes object (want a mapping with apiVersion and kind)`, start));
      return;
    }
    const locate = (path: FieldPath): { line: number; column: number } => pos(offsetOf(doc, path));
    addObject(out, value, { file, doc: docIndex, locate }, start);
  });
  return out;
}

/** Adds an object, flattening `kind: List` (and `*List`) items; reports objects without apiVersion/kind. */
function addObject(out: LoadResult, obj: KObject, source: Source, start: { line: number; column: number }): void {
  const kind = obj['kind'];
  const apiVersion = obj['apiVersion'];
  const missing = [typeof apiVersion === 'string' && apiVersion ? '' : 'apiVersion', typeof kind === 'string' && kind ? '' : 'kind'].filter(Boolean);
  if (missing.length) {
    out.errors.push(new LintInputError(source.file, `object has no ${missing.join(' and ')}: not a Kubernetes object`, start));
    return;
  }
  if ((kind as string).endsWith('List') && Array.isArray(obj['items'])) {
    (obj['items'] as unknown[]).forEach((item, i) => {
      const itemSource: Source = { file: source.file, doc: source.doc, locate: (p) => source.locate(['items', i, ...p]) };
      const itemStart = source.locate(['items', i]);
      if (!isRecord(item)) {
        out.errors.push(new LintInputError(source.file, `${kind as string} item ${i} is not an object`, itemStart));
        return;
      }
      addObject(out, item, itemSource, itemStart);
    });
    return;
  }
  out.objects.push({ obj, source });
}

/** Offset of the field at `path` (of its key, for map entries), or of the nearest existing ancestor. */
function offsetOf(doc: Document.Parsed, path: FieldPath): number {
  let node: unknown = doc.contents;
  let offset = (doc.contents as YamlNode | null)?.range?.[0] ?? 0;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      const keyRange = (pair.key as YamlNode).range;
      if (keyRange) offset = keyRange[0];
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as YamlNode | undefined;
      if (!item) break;
      if (item.range) offset = item.range[0];
      node = item;
    } else {
      break;
    }
  }
  return offset;
}

/**
 * The first repeated key of any mapping (the yaml package's own uniqueKeys check is quadratic
 * in the size of a map: a 300,000-key ConfigMap would take minutes). Iterative and linear.
 */
function firstDuplicateKey(root: YamlNode): { key: string; offset: number } | undefined {
  const stack: unknown[] = [root];
  while (stack.length) {
    const node = stack.pop();
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        if (isScalar(pair.key)) {
          const k = String(pair.key.value);
          if (seen.has(k) && k !== '<<') return { key: k, offset: pair.key.range?.[0] ?? 0 };
          seen.add(k);
        }
        stack.push(pair.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) stack.push(item);
    }
  }
  return undefined;
}

/** Whether a plain JS value nests deeper than `max` (iterative: no recursion on hostile input). */
function depthExceeds(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  const seen = new Set<object>();
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (d + 1 > max) return true;
    if (seen.has(v)) continue; // aliases share objects: visit each once
    seen.add(v);
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1]);
  }
  return false;
}

/** Decodes bytes as UTF-8 manifest text; undefined plus an error for binary content. */
export function decodeManifest(buf: Buffer, file: string): { text?: string; error?: LintInputError } {
  const nul = buf.indexOf(0);
  if (nul >= 0) return { error: new LintInputError(file, 'binary file (NUL byte): not a YAML or JSON manifest', { line: lineAt(buf, nul) }) };
  try {
    let text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(buf);
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    return { text };
  } catch {
    return { error: new LintInputError(file, 'binary file (invalid UTF-8): not a YAML or JSON manifest') };
  }
}

function lineAt(buf: Buffer, offset: number): number {
  let line = 1;
  for (let i = buf.indexOf(10); i >= 0 && i < offset; i = buf.indexOf(10, i + 1)) line++;
  return line;
}

/** Loads one file: size checked with stat first, then read, decoded and parsed. */
export function loadFile(file: string, opts: LoadOptions = {}): LoadResult {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  let buf: Buffer;
  try {
    const st = statSync(file);
    if (!st.isFile()) return fail(file, 'not a regular file');
    if (st.size > maxBytes) return fail(file, `file is ${formatBytes(st.size)}, over the ${formatBytes(maxBytes)} limit`);
    buf = readLimited(file, maxBytes);
  } catch (err) {
    return fail(file, errorText(err));
  }
  return parseBuffer(buf, file, opts);
}

/** Decodes and parses bytes read from `file` (stdin, kustomize output). */
export function parseBuffer(buf: Buffer, file: string, opts: LoadOptions = {}): LoadResult {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  if (buf.length > maxBytes) return fail(file, `input is over the ${formatBytes(maxBytes)} limit`);
  const { text, error } = decodeManifest(buf, file);
  if (error) return { objects: [], errors: [error] };
  return parseManifests(text!, file, opts);
}

/** Reads at most maxBytes + 1 bytes (a file growing after stat must not be read unbounded). */
function readLimited(file: string, maxBytes: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1 << 20, maxBytes + 1 - total));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > maxBytes) break;
    }
    return Buffer.concat(chunks);
  } finally {
    closeSync(fd);
  }
}

/** Reads a stream (stdin) with the same size limit, giving up as soon as it is exceeded. */
export async function readStreamLimited(stream: NodeJS.ReadableStream, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    total += b.length;
    if (total > maxBytes) return undefined;
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** Manifest files under a directory, recursively and sorted (symlink loops are visited once). */
export function listManifestFiles(dir: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const walk = (d: string): void => {
    let real: string;
    try {
      real = realpathSync(d);
    } catch {
      return;
    }
    if (seen.has(real)) return;
    seen.add(real);
    const entries = readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(d, e.name);
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        try {
          const st = statSync(p);
          isDir = st.isDirectory();
          isFile = st.isFile();
        } catch {
          continue;
        }
      }
      if (isDir) walk(p);
      else if (isFile && MANIFEST_EXT.test(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

export interface LoadPathsOptions extends LoadOptions {
  /** Directories to render with `kubectl kustomize` (the `-k` flag). */
  kustomize?: string[];
  /** Standard input, for the path `-` (default process.stdin). */
  stdin?: NodeJS.ReadableStream;
  /** The kubectl binary for `-k` (default 'kubectl' from PATH). */
  kubectl?: string;
}

/** Loads every path (file, directory or `-`) and kustomization, in the order given. */
export async function loadPaths(paths: readonly string[], opts: LoadPathsOptions = {}): Promise<LoadResult> {
  const out: LoadResult = { objects: [], errors: [] };
  const merge = (r: LoadResult): void => {
    out.objects.push(...r.objects);
    out.errors.push(...r.errors);
  };
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  let stdinUsed = false;
  for (const p of paths) {
    if (p === '-') {
      if (stdinUsed) {
        out.errors.push(new LintInputError(STDIN_NAME, '`-` given more than once'));
        continue;
      }
      stdinUsed = true;
      const buf = await readStreamLimited(opts.stdin ?? process.stdin, maxBytes);
      merge(buf ? parseBuffer(buf, STDIN_NAME, opts) : fail(STDIN_NAME, `input is over the ${formatBytes(maxBytes)} limit`));
      continue;
    }
    let st;
    try {
      st = statSync(p);
    } catch (err) {
      merge(fail(p, errorText(err)));
      continue;
    }
    if (st.isDirectory()) {
      let files: string[];
      try {
        files = listManifestFiles(p);
      } catch (err) {
        merge(fail(p, errorText(err)));
        continue;
      }
      for (const f of files) merge(loadFile(f, opts));
    } else {
      merge(loadFile(p, opts));
    }
  }
  for (const dir of opts.kustomize ?? []) merge(loadKustomization(dir, opts));
  return out;
}

/**
 * Renders a kustomization with `kubectl kustomize DIR` and parses the output. Line numbers in
 * findings refer to the rendered output (the file is named `DIR (kustomized)`).
 */
export function loadKustomization(dir: string, opts: LoadPathsOptions = {}): LoadResult {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const name = `${dir} (kustomized)`;
  const r = spawnSync(opts.kubectl ?? 'kubectl', ['kustomize', dir], { maxBuffer: maxBytes + 1, timeout: 60_000 });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return fail(dir, '-k needs kubectl on PATH (`kubectl kustomize`); or pipe `kustomize build DIR | kubelite lint -`');
    if (code === 'ENOBUFS') return fail(name, `rendered output is over the ${formatBytes(maxBytes)} limit`);
    return fail(dir, `kubectl kustomize failed: ${r.error.message}`);
  }
  if (r.status !== 0) {
    const msg = r.stderr.toString('utf8').trim().split('\n').slice(0, 5).join('; ') || `exit status ${r.status}`;
    return fail(dir, `kubectl kustomize failed: ${msg}`);
  }
  return parseBuffer(r.stdout, name, opts);
}

function fail(file: string, message: string): LoadResult {
  return { objects: [], errors: [new LintInputError(file, message)] };
}

function errorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return 'no such file or directory';
  if (e.code === 'EACCES') return 'permission denied';
  if (e.code === 'EISDIR') return 'is a directory';
  return e.message ?? String(err);
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(n % (1024 * 1024) === 0 ? 0 : 1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(n % 1024 === 0 ? 0 : 1)} KiB`;
  return `${n} bytes`;
}
