/**
 * Resource quantities ("500m", "2", "1Gi", "128M", "1e3") as the scheduler needs them: exact
 * rationals, rounded up to whole units the way apimachinery's `Quantity.Value()` and
 * `MilliValue()` round, so "0.1" CPU is exactly 100 millicores (no float drift) and a request
 * is never rounded down into fitting.
 *
 * Contract: `parseQuantity` returns undefined for text that is not a quantity (the API server
 * validates requests and allocatable, so callers treat that as zero).
 */

export interface Quantity {
  /** value = num / den, den > 0 */
  num: bigint;
  den: bigint;
}

const BINARY: Record<string, bigint> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};

/** Decimal SI suffixes as powers of ten. */
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

const SHAPE = /^([+-]?)(\d*)(?:\.(\d*))?(.*)$/;

export function parseQuantity(text: string | number | undefined | null): Quantity | undefined {
  if (typeof text === 'number') text = String(text);
  if (typeof text !== 'string') return undefined;
  const m = SHAPE.exec(text.trim());
  if (!m) return undefined;
  const [, sign, whole = '', frac = '', suffix = ''] = m;
  if (whole === '' && frac === '') return undefined;
  let num = BigInt((whole || '0') + frac);
  let den = 10n ** BigInt(frac.length);
  if (suffix in BINARY) {
    num *= BINARY[suffix]!;
  } else if (suffix in DECIMAL) {
    const exp = DECIMAL[suffix]!;
    if (exp >= 0) num *= 10n ** BigInt(exp);
    else den *= 10n ** BigInt(-exp);
  } else {
    const e = /^[eE]([+-]?\d+)$/.exec(suffix);
    if (!e) return undefined;
    const exp = Number(e[1]);
    if (Math.abs(exp) > 30) return undefined;
    if (exp >= 0) num *= 10n ** BigInt(exp);
    else den *= 10n ** BigInt(-exp);
  }
  if (sign === '-') num = -num;
  return { num, den };
}

function ceilDiv(num: bigint, den: bigint): bigint {
  const q = num / den;
  return num % den !== 0n && num > 0n ? q + 1n : q;
}

/** Whole units, rounded up (Quantity.Value); 0 for invalid text. */
export function quantityValue(text: string | number | undefined | null): number {
  const q = parseQuantity(text);
  return q ? Number(ceilDiv(q.num, q.den)) : 0;
}

/** Thousandths, rounded up (Quantity.MilliValue); 0 for invalid text. */
export function quantityMilli(text: string | number | undefined | null): number {
  const q = parseQuantity(text);
  return q ? Number(ceilDiv(q.num * 1000n, q.den)) : 0;
}

/**
 * A resource amount in the unit the scheduler compares it in: millicores for cpu, whole units
 * (bytes, counts) for everything else — as kube's scheduler framework `Resource` does.
 */
export function resourceAmount(name: string, text: string | number | undefined | null): number {
  return name === 'cpu' ? quantityMilli(text) : quantityValue(text);
}
