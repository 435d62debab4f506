// Finds every *.test.ts under src/ and test/ and runs them with node's test runner.
// Node 20's --test takes no globs, so the file list is built here.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';

function find(dir, out) {
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const e of entries) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) find(p, out);
    else if (e.endsWith('.test.ts')) out.push(p);
  }
  return out;
}
const filter = process.argv.slice(2);
let files = find('src', []).concat(find('test', [])).sort();
if (filter.length) files = files.filter((f) => filter.some((x) => f.includes(x)));
// *.sandbox.test.ts files create network namespaces, bridges, nftables rules and cgroups: they
// run inside ../shared/tools/netns-sandbox (a throwaway network namespace, cleaned up after),
// never in the host's own namespace. Without root or the tool they run as-is and skip.
const sandboxTool = resolve('..', 'shared', 'tools', 'netns-sandbox');
const isSandbox = (f) => f.endsWith('.sandbox.test.ts');
const plain = files.filter((f) => !isSandbox(f));
const sandboxed = files.filter(isSandbox);
const nodeArgs = (list) => ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=600000', ...list];
let status = 0;
if (plain.length) {
  const r = spawnSync(process.execPath, nodeArgs(plain), { stdio: 'inherit' });
  status = r.status ?? 1;
}
if (sandboxed.length) {
  const canSandbox = process.getuid?.() === 0 && existsSync(sandboxTool);
  if (!canSandbox) console.log(`run-tests: ${sandboxTool} unavailable or not root: sandbox tests will skip`);
  // One sandbox per file: two clusters (or a cluster and a rules test) in one namespace would
  // share the bridge and the nft tables. Two files at a time; each file's output is printed whole.
  const runOne = (file) =>
    new Promise((done) => {
      const [cmd, argv] = canSandbox ? [sandboxTool, [process.execPath, ...nodeArgs([file])]] : [process.execPath, nodeArgs([file])];
      const c = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
      const chunks = [];
      c.stdout.on('data', (d) => chunks.push(d));
      c.stderr.on('data', (d) => chunks.push(d));
      c.on('close', (code) => {
        process.stdout.write(`# sandbox: ${file} (exit ${code})\n`);
        process.stdout.write(Buffer.concat(chunks));
        if (code !== 0) status = code ?? 1;
        done();
      });
    });
  const queue = [...sandboxed];
  await Promise.all([0, 1].map(async () => {
    while (queue.length) await runOne(queue.shift());
  }));
}
process.exit(status);
