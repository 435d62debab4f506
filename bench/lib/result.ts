/**
 * What each benchmark returns: a markdown section for the results file, plus named numbers the
 * runner uses for the README summary (targets and sqlite/memory ratios).
 */
import { pathToFileURL } from 'node:url';

export interface BenchResult {
  /** Section heading, e.g. "Start to ready". */
  title: string;
  /** Markdown body: one or more tables plus short notes. */
  markdown: string;
  /** Headline numbers keyed like `sqlite.create.p99` (milliseconds, req/s or bytes). */
  metrics: Record<string, number>;
}

export type Bench = (opts: { log: (s: string) => void }) => Promise<BenchResult>;

/** True when the module at `metaUrl` is the script node was started with. */
export function isMain(metaUrl: string): boolean {
  return process.argv[1] !== undefined && metaUrl === pathToFileURL(process.argv[1]).href;
}

/** Runs one benchmark as a standalone script: prints its markdown, exits non-zero on error. */
export function runStandalone(bench: Bench): void {
  const log = (s: string): void => void process.stderr.write(`${s}\n`);
  bench({ log }).then(
    (r) => {
      process.stdout.write(`## ${r.title}\n\n${r.markdown}\n`);
      process.exit(0);
    },
    (err) => {
      process.stderr.write(`${(err as Error).stack ?? err}\n`);
      process.exit(1);
    },
  );
}

/** Sleeps; used for pacing and settling. */
export function sleep(msec: number): Promise<void> {
  return new Promise((r) => setTimeout(r, msec));
}
