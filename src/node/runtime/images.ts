/**
 * The local image catalog: kubelite never pulls images, so an image reference is only a
 * name for "what to execute on the host". This module decides, for a reference, whether
 * it is a built-in (the demo web server, agnhost, the shell images), a user mapping from
 * `DIR/images.yaml`, or unmapped (the agent then reports ErrImagePull / ImagePullBackOff
 * with the message we produce here, which tells the user exactly how to map it).
 *
 * Everything here is synchronous and small on purpose: the agent resolves images on the
 * pod start path and the CLI edits the file in one step.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

/** Names a user mapping may point at with `builtin:`. `shell` is the host's /bin/sh. */
export const BUILTIN_NAMES = ['kubelite/demo-web', 'agnhost', 'shell'] as const;
export type BuiltinName = (typeof BUILTIN_NAMES)[number];

/** What a reference maps to, as written in images.yaml. */
export type ImageTarget = { builtin: BuiltinName } | { command: string[] };

/**
 * The outcome of resolving a reference. `command` is the image's default entrypoint: the
 * runtime applies the pod's `command`/`args` over it exactly as for a real image
 * (container.command replaces it, container.args replaces the arguments after argv[0]
 * only when command is unset — that policy is the runtime's, not ours).
 */
export type ResolvedImage =
  | { kind: 'builtin'; name: BuiltinName; args?: string[] }
  | { kind: 'command'; command: string[] }
  | { kind: 'unmapped'; reason: 'ErrImagePull' | 'InvalidImageName'; message: string };

/** A parsed catalog: keys are normalised references (see normalizeImageRef). */
export interface ImageCatalog {
  mappings: Map<string, ImageTarget>;
}

export const emptyCatalog = (): ImageCatalog => ({ mappings: new Map() });

/** A reference split the way docker does it. */
export interface ImageRef {
  /** e.g. `docker.io`, `registry.k8s.io`, `localhost:5000`. */
  registry: string;
  /** Repository path without registry, e.g. `library/busybox`. */
  repository: string;
  /** Tag; `latest` when neither tag nor digest was given. */
  tag?: string;
  /** `sha256:<hex>` when given with `@`. */
  digest?: string;
  /** `registry/repository` — the name ignoring tag and digest. */
  name: string;
  /** Fully qualified form: `name[:tag][@digest]`. */
  canonical: string;
}

const DEFAULT_REGISTRY = 'docker.io';
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-fA-F]{32,}$/;

/**
 * Normalises a reference as docker does: the first path component is a registry only
 * if it contains `.` or `:` or is `localhost`; the default registry is docker.io, where a
 * single-component name gets the `library/` prefix (`index.docker.io` is docker.io too);
 * the tag defaults to `latest` unless a digest is given. Throws on an invalid reference.
 */
export function normalizeImageRef(ref: string): ImageRef {
  const bad = (why: string): Error => new Error(`invalid image reference "${ref}": ${why}`);
  if (ref === '' || ref.trim() !== ref) throw bad('empty or surrounded by whitespace');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(`bad digest "${digest}"`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`bad tag "${tag}"`);
  }
  const parts = rest.split('/');
  let registry = DEFAULT_REGISTRY;
  if (parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost')) {
    registry = parts.shift() as string;
    if (registry === 'index.docker.io') registry = DEFAULT_REGISTRY;
  }
  if (registry === DEFAULT_REGISTRY && parts.length === 1) parts.unshift('library');
  for (const p of parts) {
    if (!COMPONENT.test(p)) throw bad(`repository must be lowercase letters, digits and separators ("${p}")`);
  }
  if (tag === undefined && digest === undefined) tag = 'latest';
  const repository = parts.join('/');
  const name = `${registry}/${repository}`;
  const canonical = name + (tag !== undefined ? `:${tag}` : '') + (digest !== undefined ? `@${digest}` : '');
  return { registry, repository, tag, digest, name, canonical };
}

/** Built-ins match by name, whatever the tag or digest. */
const BUILTIN_BY_NAME: ReadonlyMap<string, ResolvedImage> = new Map<string, ResolvedImage>([
  ['docker.io/kubelite/demo-web', { kind: 'builtin', name: 'kubelite/demo-web' }],
  ['registry.k8s.io/e2e-test-images/agnhost', { kind: 'builtin', name: 'agnhost' }],
  ['docker.io/library/busybox', { kind: 'command', command: ['/bin/sh'] }],
  ['docker.io/library/alpine', { kind: 'command', command: ['/bin/sh'] }],
  ['docker.io/library/debian', { kind: 'command', command: ['/bin/sh'] }],
]);

/** The exact commands a user runs to map `ref`; used in the unmapped message. */
export function mapHint(ref: string): string {
  return (
    `map it with "kubelite image map ${ref} --builtin kubelite/demo-web" ` +
    `or "kubelite image map ${ref} --command CMD [ARG...]"`
  );
}

function targetToResolved(t: ImageTarget): ResolvedImage {
  if ('command' in t) return { kind: 'command', command: [...t.command] };
  if (t.builtin === 'shell') return { kind: 'command', command: ['/bin/sh'] };
  return { kind: 'builtin', name: t.builtin };
}

/**
 * Resolves a reference. User mappings win over built-ins (so a user can override, say,
 * busybox). A user mapping matches the exact normalised reference; one written without
 * tag (`x` → `x:latest`) therefore matches only `x`/`x:latest`, as with docker.
 */
export function resolveImage(ref: string, catalog: ImageCatalog): ResolvedImage {
  let r: ImageRef;
  try {
    r = normalizeImageRef(ref);
  } catch (e) {
    return { kind: 'unmapped', reason: 'InvalidImageName', message: (e as Error).message };
  }
  const user = catalog.mappings.get(r.canonical);
  if (user) return targetToResolved(user);
  const builtin = BUILTIN_BY_NAME.get(r.name);
  if (builtin) return structuredClone(builtin);
  return {
    kind: 'unmapped',
    reason: 'ErrImagePull',
    message: `image "${ref}" is not in the kubelite image catalog; ${mapHint(ref)}`,
  };
}

/** Validates one mapping value; `where` names it in errors. */
function parseTarget(v: unknown, where: string): ImageTarget {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new Error(`${where}: must be a map with "builtin" or "command"`);
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  const unknownKeys = keys.filter((k) => k !== 'builtin' && k !== 'command');
  if (unknownKeys.length > 0) throw new Error(`${where}: unknown field(s) ${unknownKeys.join(', ')}`);
  if ('builtin' in o === 'command' in o) throw new Error(`${where}: exactly one of "builtin" or "command" is required`);
  if ('builtin' in o) {
    if (typeof o.builtin !== 'string' || !(BUILTIN_NAMES as readonly string[]).includes(o.builtin)) {
      throw new Error(`${where}.builtin: must be one of ${BUILTIN_NAMES.join(', ')} (got ${JSON.stringify(o.builtin)})`);
    }
    return { builtin: o.builtin as BuiltinName };
  }
  const c = o.command;
  if (!Array.isArray(c) || c.length === 0 || !c.every((x) => typeof x === 'string') || c[0] === '') {
    throw new Error(`${where}.command: must be a non-empty list of strings`);
  }
  return { command: [...(c as string[])] };
}

/** Parses images.yaml text; `source` names the file in errors. */
export function parseCatalog(text: string, source = 'images.yaml'): ImageCatalog {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new Error(`${source}: invalid YAML: ${(e as Error).message}`);
  }
  const cat = emptyCatalog();
  if (doc === null || doc === undefined) return cat;
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${source}: top level must be a map with "images"`);
  const top = doc as Record<string, unknown>;
  const extra = Object.keys(top).filter((k) => k !== 'images');
  if (extra.length > 0) throw new Error(`${source}: unknown top-level field(s) ${extra.join(', ')}`);
  const images = top.images;
  if (images === null || images === undefined) return cat;
  if (typeof images !== 'object' || Array.isArray(images)) throw new Error(`${source}: "images" must be a map`);
  for (const [ref, v] of Object.entries(images as Record<string, unknown>)) {
    let key: string;
    try {
      key = normalizeImageRef(ref).canonical;
    } catch (e) {
      throw new Error(`${source}: images["${ref}"]: ${(e as Error).message}`);
    }
    if (cat.mappings.has(key)) throw new Error(`${source}: images["${ref}"]: duplicate of another entry (${key})`);
    cat.mappings.set(key, parseTarget(v, `${source}: images["${ref}"]`));
  }
  return cat;
}

/** Reads the raw `images` map (keys as the user wrote them); missing file = empty. */
function readRaw(file: string): Record<string, ImageTarget> {
  const text = readIfExists(file);
  if (text === undefined) return {};
  parseCatalog(text, file); // validate before we rewrite anything
  const doc = parseYaml(text) as { images?: Record<string, ImageTarget> } | null;
  return { ...(doc?.images ?? {}) };
}

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Loads the catalog. A missing file is an empty catalog; a bad one throws a clear error. */
export function loadCatalog(file: string): ImageCatalog {
  const text = readIfExists(file);
  return text === undefined ? emptyCatalog() : parseCatalog(text, file);
}

/**
 * Adds or replaces the mapping for `ref` and writes the file atomically (temp file in the
 * same directory, then rename), so a watcher never reads a half-written file. An existing
 * entry spelled differently but normalising to the same reference is replaced.
 */
export function saveMapping(file: string, ref: string, target: ImageTarget): void {
  const key = normalizeImageRef(ref).canonical;
  parseTarget(target, `mapping for "${ref}"`);
  const raw = readRaw(file);
  for (const k of Object.keys(raw)) {
    if (normalizeImageRef(k).canonical === key) delete raw[k];
  }
  raw[ref] = target;
  const text =
    '# kubelite image catalog: image reference -> {builtin: NAME} or {command: [CMD, ARG...]}\n' +
    stringifyYaml({ images: raw });
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o644 });
  fs.renameSync(tmp, file);
}

export interface CatalogWatcher {
  close(): void;
}

/**
 * Polls `file` (fs.watchFile survives the rename done by saveMapping, unlike fs.watch) and
 * calls `onChange` with the re-read catalog whenever its mtime/size changes. A bad file is
 * reported to `onError` and the caller keeps its previous catalog.
 */
export function watchCatalog(
  file: string,
  onChange: (catalog: ImageCatalog) => void,
  opts: { intervalMs?: number; onError?: (err: Error) => void } = {},
): CatalogWatcher {
  const listener = (cur: fs.Stats, prev: fs.Stats): void => {
    if (cur.mtimeMs === prev.mtimeMs && cur.size === prev.size && cur.ino === prev.ino) return;
    try {
      onChange(loadCatalog(file));
    } catch (e) {
      opts.onError?.(e as Error);
    }
  };
  fs.watchFile(file, { interval: opts.intervalMs ?? 1000, persistent: false }, listener);
  return { close: () => fs.unwatchFile(file, listener) };
}

/** Where the catalog lives inside the kubelite data directory. */
export const catalogPath = (dataDir: string): string => path.join(dataDir, 'images.yaml');

const MAP_USAGE =
  'usage: kubelite image map REF --builtin NAME\n' +
  '       kubelite image map REF --command CMD [ARG...]\n' +
  `builtins: ${BUILTIN_NAMES.join(', ')}\n`;

/**
 * `kubelite image map ...`: `args` are the words after `image` (starting with `map`).
 * Everything after `--command CMD` is taken verbatim as arguments (flags included), so
 * `--command python3 -m http.server` works. Returns the process exit code.
 */
export function imageMapCommand(
  args: string[],
  opts: { dataDir: string; stdout?: (s: string) => void; stderr?: (s: string) => void },
): number {
  const out = opts.stdout ?? ((s: string): void => void process.stdout.write(s));
  const err = opts.stderr ?? ((s: string): void => void process.stderr.write(s));
  const fail = (msg: string): number => {
    err(`error: ${msg}\n${MAP_USAGE}`);
    return 1;
  };
  if (args[0] !== 'map') return fail(args.length === 0 ? 'missing subcommand' : `unknown subcommand "${args[0]}"`);
  const ref = args[1];
  if (ref === undefined || ref.startsWith('--')) return fail('missing image reference');
  try {
    normalizeImageRef(ref);
  } catch (e) {
    return fail((e as Error).message);
  }
  const flag = args[2];
  let target: ImageTarget;
  if (flag === '--builtin') {
    const name = args[3];
    if (name === undefined) return fail('--builtin needs a NAME');
    if (args.length > 4) return fail(`unexpected argument(s) after --builtin ${name}: ${args.slice(4).join(' ')}`);
    if (!(BUILTIN_NAMES as readonly string[]).includes(name)) {
      return fail(`unknown builtin "${name}" (one of ${BUILTIN_NAMES.join(', ')})`);
    }
    target = { builtin: name as BuiltinName };
  } else if (flag === '--command') {
    const cmd = args.slice(3);
    if (cmd.length === 0 || cmd[0] === '') return fail('--command needs CMD');
    target = { command: cmd };
  } else {
    return fail(flag === undefined ? 'missing --builtin NAME or --command CMD' : `unknown flag "${flag}"`);
  }
  const file = catalogPath(opts.dataDir);
  try {
    saveMapping(file, ref, target);
  } catch (e) {
    err(`error: ${(e as Error).message}\n`);
    return 1;
  }
  out(`image ${ref} mapped to ${'builtin' in target ? `builtin ${target.builtin}` : `command ${JSON.stringify(target.command)}`}\n`);
  return 0;
}
