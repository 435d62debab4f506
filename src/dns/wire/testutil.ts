/** Test helpers: message builders shared by the wire codec tests. */
import type { Message, RecordData, ResourceRecord } from '../types.js';

export function msg(over: Partial<Message> = {}): Message {
  return {
    id: 0x1234, qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, ad: false, cd: false, rcode: 0,
    questions: [], answers: [], authority: [], additional: [],
    ...over,
  };
}

export function rr(name: string, type: number, data: RecordData, ttl = 30): ResourceRecord {
  return { name, type, class: 1, ttl, data };
}

export function hex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}
