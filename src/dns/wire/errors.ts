import type { Question } from '../types.js';

/**
 * A malformed DNS message. The decoder throws nothing else, so a server can answer FORMERR
 * (RFC 1035 §4.1.1) for any decode failure; `id`, `opcode`, `rd` and `question` carry what
 * was readable before the fault so that answer can echo the query's id and question.
 */
export class DnsFormatError extends Error {
  id?: number;
  opcode?: number;
  rd?: boolean;
  question?: Question;

  constructor(message: string) {
    super(message);
    this.name = 'DnsFormatError';
  }
}
