/**
 * Parsing of the ingress-nginx-style annotations we honour, under our own prefix
 * (`ingress.kubelite.io/<ingress-nginx name>`), with ingress-nginx's defaults.
 *
 * Contract: parsing never throws and never rejects an Ingress. A value we cannot understand is
 * reported as a warning (`BadAnnotation`, naming the annotation and the value) and the default is
 * used instead — the same "log and fall back" behaviour ingress-nginx has for most annotations.
 *
 * `sslRedirect` depends on whether the route's host has TLS, which is only known once every
 * Ingress's `spec.tls` has been read, so the annotation is kept as a tri-state here
 * (`sslRedirectSet`) and resolved by `compute.ts`.
 */
import { ANNOTATION_PREFIX, type BackendProtocol, type RouteOptions } from '../types.js';

/** ingress-nginx defaults (proxy-connect-timeout 5 s, read/send 60 s, proxy-body-size 1m). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_READ_TIMEOUT_MS = 60_000;
export const DEFAULT_SEND_TIMEOUT_MS = 60_000;
export const DEFAULT_BODY_SIZE_LIMIT = 1024 * 1024;
export const DEFAULT_CANARY_WEIGHT_TOTAL = 100;

/** A route's options with no annotations (ingress-nginx's defaults); also what a default backend is served with. */
export const DEFAULT_ROUTE_OPTIONS: Readonly<RouteOptions> = Object.freeze({
  useRegex: false,
  sslRedirect: false,
  forceSslRedirect: false,
  backendProtocol: 'HTTP',
  connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
  readTimeoutMs: DEFAULT_READ_TIMEOUT_MS,
  sendTimeoutMs: DEFAULT_SEND_TIMEOUT_MS,
  bodySizeLimit: DEFAULT_BODY_SIZE_LIMIT,
  limitRps: 0,
  limitConnections: 0,
});

/** One problem found while parsing, reported on the Ingress as an event. */
export interface AnnotationWarning {
  reason: string;
  message: string;
}

/** Canary settings of an Ingress marked `canary: "true"` (the backend is attached later). */
export interface CanaryAnnotations {
  header?: string;
  headerValue?: string;
  cookie?: string;
  weight: number;
  weightTotal: number;
}

export interface IngressAnnotations {
  /** Route options, with `sslRedirect` provisionally false; see `sslRedirectSet`. */
  options: RouteOptions;
  /** The ssl-redirect annotation's value when set (valid); undefined: default (true iff the host has TLS). */
  sslRedirectSet?: boolean;
  /** Present when the Ingress is a canary: its rules attach to other Ingresses' routes. */
  canary?: CanaryAnnotations;
  warnings: AnnotationWarning[];
}

const BACKEND_PROTOCOLS: readonly BackendProtocol[] = ['HTTP', 'HTTPS', 'GRPC', 'GRPCS'];

/** Go's strconv.ParseBool spellings, which ingress-nginx accepts. */
const TRUE_VALUES = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE_VALUES = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Multipliers of nginx's size syntax (`proxy-body-size: 8m`); no suffix means bytes. */
const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Parses an nginx size (`0`, `512`, `64k`, `8m`, `1g`, case-insensitive units) into bytes. */
export function parseSize(value: string): number | undefined {
  const m = /^\s*(\d+)\s*([kKmMgG]?)\s*$/.exec(value);
  if (!m) return undefined;
  const bytes = Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** Reads our annotations from one Ingress's `metadata.annotations`. */
export function parseIngressAnnotations(annotations: Record<string, string> | undefined): IngressAnnotations {
  const warnings: AnnotationWarning[] = [];
  const get = (name: string): string | undefined => {
    const v = annotations?.[`${ANNOTATION_PREFIX}/${name}`];
    return typeof v === 'string' ? v : undefined;
  };
  const bad = (name: string, value: string, why: { expected: string; fallback: string }): void => {
    warnings.push({
      reason: 'BadAnnotation',
      message: `annotation ${ANNOTATION_PREFIX}/${name}: invalid value "${value}" (${why.expected}); using ${why.fallback}`,
    });
  };
  const bool = (name: string, dflt: boolean): boolean | undefined => {
    const v = get(name);
    if (v === undefined) return undefined;
    const t = v.trim();
    if (TRUE_VALUES.has(t)) return true;
    if (FALSE_VALUES.has(t)) return false;
    bad(name, v, { expected: 'expected true or false', fallback: `the default ${dflt}` });
    return undefined;
  };
  const int = (name: string, dflt: number, opts: { min: number; unit?: string }): number => {
    const v = get(name);
    if (v === undefined) return dflt;
    const t = v.trim();
    if (/^-?\d+$/.test(t)) {
      const n = Number(t);
      if (Number.isSafeInteger(n) && n >= opts.min) return n;
    }
    bad(name, v, {
      expected: `expected an integer >= ${opts.min}${opts.unit ? ` (${opts.unit})` : ''}`,
      fallback: `the default ${dflt}`,
    });
    return dflt;
  };
  const seconds = (name: string, dfltMs: number): number => int(name, dfltMs / 1000, { min: 1, unit: 'seconds' }) * 1000;

  const rewriteTarget = get('rewrite-target');
  const useRegex = bool('use-regex', false) ?? false;
  const sslRedirectSet = bool('ssl-redirect', true);
  const forceSslRedirect = bool('force-ssl-redirect', false) ?? false;

  let backendProtocol: BackendProtocol = 'HTTP';
  const proto = get('backend-protocol');
  if (proto !== undefined) {
    const up = proto.trim().toUpperCase() as BackendProtocol;
    if (BACKEND_PROTOCOLS.includes(up)) backendProtocol = up;
    else bad('backend-protocol', proto, { expected: `expected one of ${BACKEND_PROTOCOLS.join(', ')}`, fallback: 'the default HTTP' });
  }

  let bodySizeLimit = DEFAULT_BODY_SIZE_LIMIT;
  const size = get('proxy-body-size');
  if (size !== undefined) {
    const parsed = parseSize(size);
    if (parsed === undefined) {
      bad('proxy-body-size', size, { expected: 'expected a size such as 0, 512k, 8m or 1g', fallback: 'the default 1m' });
    }
    else bodySizeLimit = parsed;
  }

  const options: RouteOptions = {
    ...(rewriteTarget !== undefined && rewriteTarget !== '' ? { rewriteTarget } : {}),
    // rewrite-target implies use-regex, as in ingress-nginx.
    useRegex: useRegex || (rewriteTarget !== undefined && rewriteTarget !== ''),
    sslRedirect: false,
    forceSslRedirect,
    backendProtocol,
    connectTimeoutMs: seconds('proxy-connect-timeout', DEFAULT_CONNECT_TIMEOUT_MS),
    readTimeoutMs: seconds('proxy-read-timeout', DEFAULT_READ_TIMEOUT_MS),
    sendTimeoutMs: seconds('proxy-send-timeout', DEFAULT_SEND_TIMEOUT_MS),
    bodySizeLimit,
    limitRps: int('limit-rps', 0, { min: 0 }),
    limitConnections: int('limit-connections', 0, { min: 0 }),
  };

  let canary: CanaryAnnotations | undefined;
  if (bool('canary', false) === true) {
    const weightTotal = int('canary-weight-total', DEFAULT_CANARY_WEIGHT_TOTAL, { min: 1 });
    let weight = int('canary-weight', 0, { min: 0 });
    if (weight > weightTotal) {
      warnings.push({
        reason: 'BadAnnotation',
        message: `annotation ${ANNOTATION_PREFIX}/canary-weight: ${weight} exceeds canary-weight-total ${weightTotal}; using ${weightTotal}`,
      });
      weight = weightTotal;
    }
    const header = nonEmpty(get('canary-by-header'));
    const headerValue = nonEmpty(get('canary-by-header-value'));
    const cookie = nonEmpty(get('canary-by-cookie'));
    canary = {
      ...(header !== undefined ? { header } : {}),
      ...(header !== undefined && headerValue !== undefined ? { headerValue } : {}),
      ...(cookie !== undefined ? { cookie } : {}),
      weight,
      weightTotal,
    };
  }

  return { options, ...(sslRedirectSet !== undefined ? { sslRedirectSet } : {}), ...(canary ? { canary } : {}), warnings };
}

function nonEmpty(v: string | undefined): string | undefined {
  const t = v?.trim();
  return t ? t : undefined;
}
