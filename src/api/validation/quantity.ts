/**
 * resource.Quantity parsing, enough to compare requests with limits and to reject malformed
 * quantities. Values are compared as JS numbers (exact for everything a manifest realistically holds).
 */
const SUFFIX: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

export const QUANTITY_REGEX_MESSAGE = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/** Parses a quantity (string or JSON number); undefined when it is not a valid quantity. */
export function parseQuantity(q: unknown): number | undefined {
  if (typeof q === 'number') return Number.isFinite(q) ? q : undefined;
  if (typeof q !== 'string') return undefined;
  const m = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(.*)$/.exec(q);
  if (!m) return undefined;
  const num = Number(m[1]);
  const suf = m[2];
  if (suf in SUFFIX) return num * SUFFIX[suf];
  const exp = /^[eE]([-+]?[0-9]+)$/.exec(suf);
  if (exp) return num * 10 ** Number(exp[1]);
  return undefined;
}

/** String form used in messages: kube prints the canonical quantity; we keep the user's spelling. */
export function quantityString(q: unknown): string {
  return typeof q === 'number' ? String(q) : String(q ?? '');
}
