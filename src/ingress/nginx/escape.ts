/**
 * Quoting and validation of everything that reaches nginx.conf from user objects (hosts, paths,
 * regexes, header and cookie names, rewrite targets, response bodies).
 *
 * Contract: every user-controlled value is emitted inside double quotes through `quote`/`text`,
 * so `;`, `{`, `}`, `#` and whitespace can never end a directive or open a block. nginx's quoted
 * strings know the escapes `\"`, `\'`, `\\`, `\t`, `\r`, `\n` (ngx_conf_file.c); everything else
 * is literal. In contexts nginx interpolates (return bodies, rewrite replacements, map values),
 * `$` is additionally written as `${kl_dollar}` (a `geo` variable holding a literal `$`), because
 * nginx has no `$` escape. Values that cannot be represented safely (control characters in a path,
 * invalid host names or header names) make the caller drop the route with a warning.
 */

/** Quotes a string for a non-interpolated nginx context (regexes, file names, server names). */
export function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    switch (ch) {
      case '\\':
        out += '\\\\';
        break;
      case '"':
        out += '\\"';
        break;
      case '\n':
        out += '\\n';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\t':
        out += '\\t';
        break;
      default:
        // Other control characters have no escape; they are dropped (callers reject them first).
        if (ch.charCodeAt(0) >= 0x20 && ch.charCodeAt(0) !== 0x7f) out += ch;
    }
  }
  return `${out}"`;
}

/** The geo variable that holds a literal `$` (declared by the renderer). */
export const DOLLAR_VAR = 'kl_dollar';

/** Quotes literal text for an interpolated context: no user `$` ever names a variable. */
export function text(s: string): string {
  return quote(s.replace(/\$/g, `\${${DOLLAR_VAR}}`));
}

/**
 * Quotes a rewrite-target replacement: `$1`..`$9` stay captures (nginx reads one digit, as the
 * built-in proxy's `$n`; written unbracketed, since nginx reads `${1}` as a variable named "1"), `${n}` is accepted as the same, every other `$` is literal. Undefined
 * when the target cannot be rendered with the built-in proxy's meaning: `$0` (nginx has no whole-
 * match capture), numbers above 9, or a literal `http://`/`https://` start (nginx would turn the
 * rewrite into a redirect).
 */
export function rewriteReplacement(target: string): string | undefined {
  if (hasControl(target)) return undefined;
  if (/^https?:\/\//.test(target)) return undefined;
  let out = '';
  let i = 0;
  while (i < target.length) {
    const rest = target.slice(i);
    const m = /^\$(\d+)|^\$\{(\d+)\}/.exec(rest);
    if (m) {
      const n = Number(m[1] ?? m[2]);
      if (n < 1 || n > 9) return undefined;
      out += `$${n}`;
      i += m[0].length;
      continue;
    }
    const ch = target[i]!;
    out += ch === '$' ? `\${${DOLLAR_VAR}}` : ch;
    i++;
  }
  // The built-in proxy prefixes '/' when the replacement does not start with one.
  if (!out.startsWith('/')) out = `/${out}`;
  return quote(out);
}

/** Whether a string holds a control character (never valid in a path, host or header). */
export function hasControl(s: string): boolean {
  return /[\x00-\x1f\x7f]/.test(s);
}

/** Escapes PCRE metacharacters so a literal path matches itself only. */
export function regexLiteral(s: string): string {
  return s.replace(/[\\^$.|?*+()[\]{}]/g, (c) => `\\${c}`);
}

const LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const HOST_RE = new RegExp(`^(\\*\\.)?${LABEL}(\\.${LABEL})*$`);

/** Whether a table host key (lowercase; exact or `*.` wildcard) can be a server_name. */
export function validHost(host: string): boolean {
  return host.length <= 253 && HOST_RE.test(host);
}

/**
 * The server_name for a host key: the exact name, or for `*.rest` a regex covering exactly one
 * label (nginx's own `*.rest` would also match `a.b.rest`, which Ingress wildcards must not).
 */
export function serverName(host: string): string {
  if (host.startsWith('*.')) return quote(`~^[^.]+${regexLiteral(host.slice(1))}$`);
  return quote(host);
}

/** The nginx variable of a request header (`X-Canary` → `$http_x_canary`), or undefined if not a token. */
export function headerVariable(name: string): string | undefined {
  if (!/^[A-Za-z0-9-]{1,128}$/.test(name)) return undefined;
  return `$http_${name.toLowerCase().replace(/-/g, '_')}`;
}

/** Cookie names: RFC 6265 tokens without separators; anything else is rejected. */
export function validCookieName(name: string): boolean {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$/.test(name);
}

/**
 * A PCRE (map key) that matches a Cookie header holding `name=value` (value trimmed, as the
 * built-in proxy reads cookies).
 */
export function cookieRegex(name: string, value: string): string {
  return `~(^|;)\\s*${regexLiteral(name)}\\s*=\\s*${regexLiteral(value)}\\s*(;|$)`;
}

/** A map key matching a whole value exactly, case-sensitively (map's plain strings ignore case). */
export function exactKey(value: string): string {
  return `~^${regexLiteral(value)}$`;
}

/** `host:port` for `listen` / `server`, bracketing IPv6 literals; '' or '0.0.0.0' → port only. */
export function hostPort(host: string, port: number): string {
  if (host === '' || host === '0.0.0.0') return String(port);
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
