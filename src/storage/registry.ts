/**
 * Chooses a storage backend by URL scheme, so the rest of the system only ever sees a
 * `--storage URL` string. Built in: `memory://` and `sqlite://PATH`; further backends (e.g. a
 * later `etcd://`) plug in with `registerBackend` without touching this file.
 */
import { openMemoryBackend } from './memory.js';
import { openSqliteBackend } from './sqlite.js';
import type { Backend, BackendFactory } from './types.js';

const factories = new Map<string, BackendFactory>();

/**
 * WHATWG URL parsing is lossy for file paths (`sqlite://data/x.db` splits into host "data" and
 * path "/x.db", spaces get percent-encoded, some paths do not parse at all), so the exact text
 * the user gave is kept alongside the URL handed to factories.
 */
const rawSpecs = new WeakMap<URL, string>();

/** Registers (or replaces) the factory for `scheme` (without "://", case-insensitive). */
export function registerBackend(scheme: string, factory: BackendFactory): void {
  factories.set(scheme.toLowerCase(), factory);
}

/** Schemes that openBackend accepts, sorted. */
export function knownSchemes(): string[] {
  return [...factories.keys()].sort();
}

/**
 * The exact URL string a factory's URL was built from (the URL's href for URLs that did not
 * come through openBackend).
 */
export function rawUrl(url: URL): string {
  return rawSpecs.get(url) ?? url.href;
}

/** Opens the backend named by `url`, e.g. `memory://` or `sqlite:///var/lib/kubelite/state.db`. */
export async function openBackend(url: string): Promise<Backend> {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url);
  const known = knownSchemes().map((s) => `${s}://`).join(', ');
  if (!m) throw new Error(`invalid storage URL "${url}": expected SCHEME://..., known schemes: ${known}`);
  const scheme = (m[1] as string).toLowerCase();
  const factory = factories.get(scheme);
  if (!factory) throw new Error(`unknown storage scheme "${scheme}://" in "${url}"; known schemes: ${known}`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Still hand the factory a URL with the right scheme; it reads the rest via rawUrl.
    parsed = new URL(`${scheme}://`);
  }
  rawSpecs.set(parsed, url);
  return factory(parsed);
}

/** `sqlite://` + path: everything after the scheme is the file path, verbatim. */
export function sqlitePathFromUrl(url: URL): string {
  const path = rawUrl(url).replace(/^sqlite:\/\//i, '');
  if (path === '') throw new Error('sqlite storage URL needs a file path, e.g. sqlite:///var/lib/kubelite/state.db');
  return path;
}

registerBackend('memory', () => openMemoryBackend());
registerBackend('sqlite', (url) => openSqliteBackend(sqlitePathFromUrl(url)));
// Loaded on first use so a sqlite/memory start never pays for the gRPC client.
registerBackend('etcd', async (url) => {
  const { openEtcdBackend, parseEtcdUrl } = await import('./etcd.js');
  return openEtcdBackend(parseEtcdUrl(rawUrl(url)));
});
