import { decodeBody } from '../src/apiserver/http/request.js';
const n = Number(process.argv[2]);
const shape = process.argv[3] ?? 'arr';
const text = shape === 'arr' ? '['.repeat(n) + ']'.repeat(n) : shape === 'obj' ? '{"a":'.repeat(n) + '1' + '}'.repeat(n) : 'a:\n'.repeat(1);
for (const ct of ['application/yaml', 'application/apply-patch+yaml', 'application/json']) {
  try { decodeBody(Buffer.from(text), ct); console.log(n, ct, 'ok'); } catch (e) { console.log(n, ct, (e as Error).message.slice(0, 100)); }
}
