/**
 * Warning headers within kube-apiserver's limits (k8s.io/apiserver pkg/endpoints/filters/warning.go
 * and k8s.io/apimachinery pkg/util/net NewWarningHeader), applied to a response's whole list of
 * warnings (admission lint findings and fieldValidation=Warn problems alike):
 *
 * - empty texts are dropped; a text repeated exactly is kept once (first occurrence wins);
 * - texts are counted in runes (code points); while the running total stays within 4096 runes
 *   every warning is kept whole;
 * - the first warning that would pass 4096 switches to truncation: every warning so far and every
 *   later one is cut to its first 256 runes (nothing is appended: kube adds no ellipsis), and the
 *   total is recounted; once it reaches 4096, later warnings are dropped;
 * - kube refuses texts with control characters (the warning silently disappears); here they become
 *   spaces instead, so a finding about a user's odd value is still shown.
 *
 * The result is ready for `respond.ts`, which writes `299 - "<text>"` with JSON-style quoting (the
 * same as kube's for texts without control characters). Node writes header strings as latin1, so
 * a character above U+00FF would make `writeHead` throw after the object was stored: `headerSafe`
 * turns such texts into their UTF-8 bytes as latin1 characters, which puts exactly the UTF-8 kube
 * would send on the wire (kubectl decodes it as UTF-8).
 */

export interface WarningLimits {
  /** Total runes before truncation starts (kube: 4 * 1024). */
  totalRunes: number;
  /** Runes each warning keeps once truncating (kube: 256). */
  itemRunes: number;
}

export const KUBE_WARNING_LIMITS: Readonly<WarningLimits> = { totalRunes: 4 * 1024, itemRunes: 256 };

/** Deduplicates and truncates warnings as kube-apiserver's warning recorder does (see above). */
export function limitWarnings(texts: readonly string[], limits: WarningLimits = KUBE_WARNING_LIMITS): string[] {
  const seen = new Set<string>();
  const ordered: string[][] = [];
  const out: string[][] = [];
  let written = 0;
  let truncating = false;
  for (const raw of texts) {
    if (!raw) continue;
    if (truncating && written >= limits.totalRunes) break;
    if (seen.has(raw)) continue;
    seen.add(raw);
    let runes = [...raw.replace(CONTROL, ' ')];
    ordered.push(runes);
    if (truncating && runes.length > limits.itemRunes) runes = runes.slice(0, limits.itemRunes);
    if (written + runes.length <= limits.totalRunes || truncating) {
      written += runes.length;
      out.push(runes);
      continue;
    }
    // Over budget for the first time: replay everything so far, truncated.
    truncating = true;
    written = 0;
    out.length = 0;
    for (const r of ordered) {
      const cut = r.length > limits.itemRunes ? r.slice(0, limits.itemRunes) : r;
      written += cut.length;
      out.push(cut);
    }
  }
  return out.map((r) => headerSafe(r.join('')));
}

/** C0, DEL and C1 controls (Go's unicode.IsControl). */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** The text as Node must be given it so the header carries its UTF-8 bytes (see above). */
export function headerSafe(text: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\u0000-\u007f]*$/.test(text) ? text : Buffer.from(text, 'utf8').toString('latin1');
}
