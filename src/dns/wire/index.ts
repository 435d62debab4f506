/** The DNS wire codec: messages to and from bytes, plus name and address helpers. */
export { DnsFormatError } from './errors.js';
export { decodeMessage, decodeQuery } from './decode.js';
export { encodeMessage } from './encode.js';
export type { EncodeOptions } from './encode.js';
export { isSubdomain, lowerName, nameEquals, splitLabels } from './names.js';
export { ipFromReverse, reverseName } from './ip.js';
export { rrTypeFromName, rrTypeName } from './rrtypes.js';
