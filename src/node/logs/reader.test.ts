import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, appendFile, rename, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatCriLogLine, formatRfc3339Nano } from '../runtime/process.js';
import { parseCriLine, parseRfc3339, readLogs, tailOffset, LineAssembler, type ReadLogsOptions } from './reader.js';

const T0 = Date.parse('2026-11-26T15:00:00Z');

type Rec = [offsetMs: number, stream: 'stdout' | 'stderr', tag: 'P' | 'F', content: string];

function build(recs: Rec[]): Buffer {
  return Buffer.concat(recs.map(([t, s, tag, c]) => formatCriLogLine(T0 + t, s, tag, c)));
}

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'kubelite-logs-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function readAll(path: string, opts: ReadLogsOptions): Promise<string> {
  const chunks: Buffer[] = [];
  await readLogs(path, opts, (c) => chunks.push(c));
  return Buffer.concat(chunks).toString();
}

const SAMPLE: Rec[] = [
  [0, 'stdout', 'F', 'one'],
  [1000, 'stderr', 'F', 'err-a'],
  [2000, 'stdout', 'P', 'tw'],
  [2001, 'stderr', 'P', 'err-'],
  [2002, 'stdout', 'F', 'o'],
  [3000, 'stderr', 'F', 'b'],
  [4000, 'stdout', 'F', 'three'],
  [5000, 'stdout', 'F', ''],
];

const cases: { name: string; opts: ReadLogsOptions; want: string }[] = [
  { name: 'all lines, partials joined', opts: {}, want: 'one\nerr-a\ntwo\nerr-b\nthree\n\n' },
  { name: 'tail 0', opts: { tailLines: 0 }, want: '' },
  { name: 'tail 2', opts: { tailLines: 2 }, want: 'three\n\n' },
  { name: 'tail 4 includes a joined partial line', opts: { tailLines: 4 }, want: 'two\nerr-b\nthree\n\n' },
  { name: 'tail more than lines', opts: { tailLines: 100 }, want: 'one\nerr-a\ntwo\nerr-b\nthree\n\n' },
  { name: 'tail negative = all', opts: { tailLines: -1 }, want: 'one\nerr-a\ntwo\nerr-b\nthree\n\n' },
  { name: 'stdout only', opts: { stream: 'stdout' }, want: 'one\ntwo\nthree\n\n' },
  { name: 'stderr only', opts: { stream: 'stderr' }, want: 'err-a\nerr-b\n' },
  { name: 'stderr tail 1 (counts only stderr lines)', opts: { stream: 'stderr', tailLines: 1 }, want: 'err-b\n' },
  { name: 'stdout tail 3 across stderr partials', opts: { stream: 'stdout', tailLines: 3 }, want: 'two\nthree\n\n' },
  { name: 'since drops older lines', opts: { sinceTime: new Date(T0 + 1500) }, want: 'two\nerr-b\nthree\n\n' },
  { name: 'since judges a joined line by its first record', opts: { sinceTime: new Date(T0 + 2500) }, want: 'three\n\n' },
  { name: 'since at exact record time keeps it', opts: { sinceTime: new Date(T0 + 1000) }, want: 'err-a\ntwo\nerr-b\nthree\n\n' },
  { name: 'since + tail', opts: { sinceTime: new Date(T0 + 3500), tailLines: 5 }, want: 'three\n\n' },
  {
    name: 'timestamps use the first record of a joined line',
    opts: { timestamps: true, stream: 'stdout', tailLines: 3 },
    want: `${formatRfc3339Nano(T0 + 2000)} two\n${formatRfc3339Nano(T0 + 4000)} three\n${formatRfc3339Nano(T0 + 5000)} \n`,
  },
  { name: 'limitBytes cuts mid-line', opts: { limitBytes: 6 }, want: 'one\ner' },
  { name: 'limitBytes exactly at a line end', opts: { limitBytes: 4 }, want: 'one\n' },
  { name: 'limitBytes beyond output', opts: { limitBytes: 1000 }, want: 'one\nerr-a\ntwo\nerr-b\nthree\n\n' },
  { name: 'limitBytes with timestamps counts the prefix', opts: { limitBytes: 10, timestamps: true }, want: formatRfc3339Nano(T0).slice(0, 10) },
];

for (const c of cases) {
  test(`readLogs: ${c.name}`, async () => {
    await withDir(async (dir) => {
      const p = join(dir, '0.log');
      await writeFile(p, build(SAMPLE));
      assert.equal(await readAll(p, c.opts), c.want);
    });
  });
}

test('readLogs: an incomplete trailing record is not shown; a dangling partial is flushed', async () => {
  await withDir(async (dir) => {
    const p = join(dir, '0.log');
    await writeFile(p, Buffer.concat([build([[0, 'stdout', 'F', 'a'], [1, 'stdout', 'P', 'half']]), Buffer.from('2026-11-26T15:00:00Z stdout F tru')]));
    assert.equal(await readAll(p, {}), 'a\nhalf');
    assert.equal(await readAll(p, { tailLines: 1 }), 'a\nhalf');
  });
});

test('readLogs: malformed lines are skipped', async () => {
  await withDir(async (dir) => {
    const p = join(dir, '0.log');
    await writeFile(p, Buffer.concat([Buffer.from('garbage\n'), build([[0, 'stdout', 'F', 'ok']]), Buffer.from('x y z w\n')]));
    assert.equal(await readAll(p, {}), 'ok\n');
  });
});

test('readLogs: missing file rejects with ENOENT', async () => {
  await assert.rejects(readLogs('/nonexistent/kubelite/0.log', {}, () => {}), { code: 'ENOENT' });
});

test('tailOffset scans large files backwards across block boundaries', async () => {
  await withDir(async (dir) => {
    const p = join(dir, '0.log');
    const recs: Rec[] = [];
    for (let i = 0; i < 20000; i++) recs.push([i, i % 3 === 0 ? 'stderr' : 'stdout', 'F', `line-${i}-${'x'.repeat(i % 50)}`]);
    const data = build(recs);
    await writeFile(p, data);
    const fh = await open(p, 'r');
    try {
      for (const n of [0, 1, 5, 3000, 19999, 20000, 25000]) {
        const off = await tailOffset(fh, { lines: n });
        const want = n >= 20000 ? 0 : data.length - Buffer.concat(recs.slice(recs.length - n).map(([t, s, tag, c]) => formatCriLogLine(T0 + t, s, tag, c))).length;
        assert.equal(off, want, `tail ${n}`);
      }
    } finally {
      await fh.close();
    }
    const got = (await readAll(p, { tailLines: 2500, stream: 'stderr' })).split('\n').slice(0, -1);
    const want = recs.filter((r) => r[1] === 'stderr').slice(-2500).map((r) => r[3]);
    assert.deepEqual(got, want);
  });
});

test('parseCriLine / parseRfc3339 table', () => {
  const rows: [string, unknown][] = [
    ['2026-11-26T15:00:00.123456789Z stdout F hi there', { stream: 'stdout', tag: 'F', content: 'hi there', time: T0 + 123 }],
    ['2026-11-26T15:00:00Z stderr P ', { stream: 'stderr', tag: 'P', content: '', time: T0 }],
    ['2026-11-26T15:00:00Z stderr F', { stream: 'stderr', tag: 'F', content: '', time: T0 }],
    ['2026-11-26T16:00:00.5+01:00 stdout F x', { stream: 'stdout', tag: 'F', content: 'x', time: T0 + 500 }],
    ['2026-11-26T15:00:00Z stdin F x', null],
    ['2026-11-26T15:00:00Z stdout X x', null],
    ['yesterday stdout F x', null],
    ['', null],
  ];
  for (const [line, want] of rows) {
    const r = parseCriLine(Buffer.from(line));
    assert.deepEqual(r && { stream: r.stream, tag: r.tag, content: r.content.toString(), time: r.time }, want, line);
  }
  assert.ok(Number.isNaN(parseRfc3339('2026-11-26 15:00:00Z')));
});

test('LineAssembler joins partials per stream and flushes leftovers', () => {
  const a = new LineAssembler();
  const rec = (s: 'stdout' | 'stderr', tag: 'P' | 'F', c: string, t = 0): ReturnType<typeof parseCriLine> =>
    parseCriLine(formatCriLogLine(T0 + t, s, tag, c).subarray(0, -1));
  assert.equal(a.push(rec('stdout', 'P', 'ab')!), null);
  assert.equal(a.push(rec('stderr', 'P', 'x', 1)!), null);
  assert.equal(a.push(rec('stdout', 'F', 'c', 2)!)?.content.toString(), 'abc\n');
  const left = a.flush();
  assert.deepEqual(left.map((l) => [l.stream, l.content.toString()]), [['stderr', 'x']]);
  assert.deepEqual(a.flush(), []);
});

test('readLogs follow: sees appended lines (incl. a record written in two pieces) and stops on abort', async () => {
  await withDir(async (dir) => {
    const p = join(dir, '0.log');
    await writeFile(p, build([[0, 'stdout', 'F', 'first']]));
    const ac = new AbortController();
    const chunks: string[] = [];
    const done = readLogs(p, { follow: true, signal: ac.signal, pollMs: 10 }, (c) => chunks.push(c.toString()));
    await waitFor(() => chunks.join('') === 'first\n');
    const rec = formatCriLogLine(T0 + 10, 'stdout', 'F', 'second');
    await appendFile(p, rec.subarray(0, 10));
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(chunks.join(''), 'first\n', 'half a record is not emitted');
    await appendFile(p, Buffer.concat([rec.subarray(10), build([[20, 'stderr', 'P', 'thi'], [21, 'stderr', 'F', 'rd']])]));
    await waitFor(() => chunks.join('') === 'first\nsecond\nthird\n');
    ac.abort();
    await done;
    await appendFile(p, build([[30, 'stdout', 'F', 'after']]));
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(chunks.join(''), 'first\nsecond\nthird\n');
  });
});

test('readLogs follow: stops after draining once the container exited; honours limitBytes', async () => {
  await withDir(async (dir) => {
    const p = join(dir, '0.log');
    await writeFile(p, build([[0, 'stdout', 'F', 'a']]));
    let exited = false;
    const chunks: string[] = [];
    const done = readLogs(p, { follow: true, pollMs: 10, untilExited: () => exited }, (c) => chunks.push(c.toString()));
    await waitFor(() => chunks.join('') === 'a\n');
    await appendFile(p, build([[1, 'stdout', 'F', 'b']]));
    exited = true;
    await done;
    assert.equal(chunks.join(''), 'a\nb\n');

    const limited: string[] = [];
    await readLogs(p, { follow: true, pollMs: 10, limitBytes: 3 }, (c) => limited.push(c.toString()));
    assert.equal(limited.join(''), 'a\nb');
  });
});

test('readLogs follow: a replaced or truncated file is read from its start', async () => {
  await withDir(async (dir) => {
    const p = join(dir, '0.log');
    await writeFile(p, build([[0, 'stdout', 'F', 'old']]));
    const ac = new AbortController();
    const chunks: string[] = [];
    const done = readLogs(p, { follow: true, signal: ac.signal, pollMs: 10 }, (c) => chunks.push(c.toString()));
    await waitFor(() => chunks.join('') === 'old\n');
    await writeFile(join(dir, 'new.log'), build([[1, 'stdout', 'F', 'new']]));
    await rename(join(dir, 'new.log'), p);
    await waitFor(() => chunks.join('') === 'old\nnew\n');
    await writeFile(p, build([[2, 'stdout', 'F', 'x']])); // truncate + rewrite shorter
    await waitFor(() => chunks.join('') === 'old\nnew\nx\n');
    ac.abort();
    await done;
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for condition');
    await new Promise((r) => setTimeout(r, 5));
  }
}
