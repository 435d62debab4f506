/**
 * Child process for the sqlite durability test: creates keys in a tight loop against the store
 * at argv[2] and prints each key's index only after its create resolved. The parent kills it
 * with SIGKILL mid-stream and checks that every printed (acknowledged) key survived.
 */
import { openSqliteBackend } from '../sqlite.js';

const path = process.argv[2];
if (!path) throw new Error('usage: durable-writer.ts DB_PATH');
const store = await openSqliteBackend(path);
for (let i = 0; ; i++) {
  await store.create(`/registry/durable/${String(i).padStart(6, '0')}`, JSON.stringify({ i }));
  process.stdout.write(`${i}\n`);
  // Yield so stdout actually drains between writes, like a server answering requests.
  if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
}
