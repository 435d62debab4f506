/**
 * RR type mnemonics for logs and metrics (CoreDNS labels its metrics with these names);
 * unknown types use the RFC 3597 `TYPEnnn` form so every number has a stable name.
 */

const NAMES: ReadonlyArray<[number, string]> = [
  [1, 'A'], [2, 'NS'], [5, 'CNAME'], [6, 'SOA'], [12, 'PTR'], [13, 'HINFO'], [15, 'MX'], [16, 'TXT'],
  [17, 'RP'], [18, 'AFSDB'], [28, 'AAAA'], [29, 'LOC'], [33, 'SRV'], [35, 'NAPTR'], [36, 'KX'],
  [37, 'CERT'], [39, 'DNAME'], [41, 'OPT'], [42, 'APL'], [43, 'DS'], [44, 'SSHFP'], [45, 'IPSECKEY'],
  [46, 'RRSIG'], [47, 'NSEC'], [48, 'DNSKEY'], [49, 'DHCID'], [50, 'NSEC3'], [51, 'NSEC3PARAM'],
  [52, 'TLSA'], [53, 'SMIMEA'], [55, 'HIP'], [59, 'CDS'], [60, 'CDNSKEY'], [61, 'OPENPGPKEY'],
  [62, 'CSYNC'], [63, 'ZONEMD'], [64, 'SVCB'], [65, 'HTTPS'], [99, 'SPF'], [108, 'EUI48'],
  [109, 'EUI64'], [249, 'TKEY'], [250, 'TSIG'], [251, 'IXFR'], [252, 'AXFR'], [253, 'MAILB'],
  [254, 'MAILA'], [255, 'ANY'], [256, 'URI'], [257, 'CAA'],
];

const byNumber = new Map<number, string>(NAMES);
const byName = new Map<string, number>(NAMES.map(([n, s]) => [s, n]));

/** `A`, `AAAA`, ... or `TYPE<n>` for types without a mnemonic. */
export function rrTypeName(type: number): string {
  return byNumber.get(type) ?? `TYPE${type}`;
}

/** Inverse of rrTypeName (case-insensitive, accepts `TYPE<n>` for 0..65535); undefined otherwise. */
export function rrTypeFromName(s: string): number | undefined {
  const upper = s.toUpperCase();
  const known = byName.get(upper);
  if (known !== undefined) return known;
  if (!/^TYPE(0|[1-9][0-9]{0,4})$/.test(upper)) return undefined;
  const n = Number(upper.slice(4));
  return n <= 0xffff ? n : undefined;
}
