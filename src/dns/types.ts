/**
 * The DNS model shared by the wire codec (`wire/`), the cluster zone (`zone/`), the forwarder
 * (`forward/`) and the server: plain data, no behaviour. Names are always fully qualified in
 * presentation form with a trailing dot (`web.default.svc.cluster.local.`; the root is `.`);
 * a label byte that is `.`, `\` or outside printable ASCII is written `\.`, `\\` or `\DDD`
 * (RFC 4343/1035 master-file escapes), so any wire name round-trips. Case is kept as received:
 * comparisons are case-insensitive (lowercase both sides, ASCII only, as RFC 4343 says).
 */

/** Resource record types we decode, answer or name (others pass through as raw RDATA). */
export const RRType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
} as const;

export const RRClass = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 } as const;

export const Opcode = { QUERY: 0, IQUERY: 1, STATUS: 2, NOTIFY: 4, UPDATE: 5 } as const;

export const Rcode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, BADVERS: 16 } as const;

export interface Question {
  name: string;
  type: number;
  class: number;
}

/** Decoded RDATA. `raw` keeps the bytes of any type we do not model (RFC 3597: no compression inside). */
export type RecordData =
  | { kind: 'A'; address: string }
  | { kind: 'AAAA'; address: string }
  | { kind: 'NS'; target: string }
  | { kind: 'CNAME'; target: string }
  | { kind: 'PTR'; target: string }
  | { kind: 'MX'; preference: number; exchange: string }
  | { kind: 'SRV'; priority: number; weight: number; port: number; target: string }
  | { kind: 'TXT'; texts: string[] }
  | { kind: 'SOA'; mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number }
  | { kind: 'raw'; bytes: Uint8Array };

export interface ResourceRecord {
  name: string;
  type: number;
  class: number;
  /** Seconds, 0..2^31-1. */
  ttl: number;
  data: RecordData;
}

export interface EdnsOption {
  code: number;
  data: Uint8Array;
}

/** The OPT pseudo-record (RFC 6891), lifted out of the additional section. */
export interface Edns {
  /** Requestor's UDP payload size (values below 512 are treated as 512 by servers). */
  udpSize: number;
  version: number;
  /** DNSSEC OK bit. */
  dnssecOk: boolean;
  /** Upper 8 bits of the 12-bit RCODE (the header holds the lower 4). */
  extendedRcode: number;
  options: EdnsOption[];
}

export interface Message {
  id: number;
  /** true: a response. */
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  ad: boolean;
  cd: boolean;
  /** The full RCODE (header 4 bits plus EDNS extended bits). */
  rcode: number;
  questions: Question[];
  answers: ResourceRecord[];
  authority: ResourceRecord[];
  /** Additional records without the OPT record (that is `edns`). */
  additional: ResourceRecord[];
  edns?: Edns;
}

/** An answer from an authoritative source (our cluster zone): sections and the RCODE. */
export interface Answer {
  rcode: number;
  /** Authoritative answer bit. */
  aa: boolean;
  answers: ResourceRecord[];
  authority: ResourceRecord[];
  additional: ResourceRecord[];
}
