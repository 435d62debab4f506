/**
 * `kubelite up` as a child process (from the sources, via tsx), for tests that must kill and
 * restart the whole control plane + agent. Inside netns-sandbox the agent sees SANDBOX_NETNS and
 * names pod namespaces after it, so the sandbox's cleanup finds them even after a failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { runKubectl, type KubectlResult } from '../harness.js';

const ROOT = new URL('../..', import.meta.url).pathname;

export interface CliCluster {
  child: ChildProcess;
  kubeconfig: string;
  output(): string;
  kubectl(args: string[], o?: { input?: string; timeoutMs?: number }): Promise<KubectlResult>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL: the agent dies without any cleanup, as in a crash. */
  kill9(): Promise<void>;
}

export function kubeliteCli(args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT });
}

export function runCli(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const c = kubeliteCli(args);
    let out = '';
    c.stdout!.on('data', (d) => (out += d));
    c.stderr!.on('data', (d) => (out += d));
    c.on('exit', (code) => resolve({ code: code ?? -1, out }));
  });
}

export async function startCliCluster(dataDir: string, extra: string[] = []): Promise<CliCluster> {
  const child = kubeliteCli(['up', '--data-dir', dataDir, '--listen', '127.0.0.1:0', ...extra]);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const end = Date.now() + 30_000;
  let kubeconfig = '';
  for (;;) {
    const m = /kubelite ready: export KUBECONFIG=(\S+)/.exec(out);
    if (m) {
      kubeconfig = m[1]!;
      break;
    }
    if (child.exitCode !== null || Date.now() > end) throw new Error(`kubelite up did not become ready:\n${out}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  const kubectl = (a: string[], o: { input?: string; timeoutMs?: number } = {}): Promise<KubectlResult> => runKubectl(kubeconfig, a, { timeoutMs: 60_000, ...o });
  return {
    child,
    kubeconfig,
    output: () => out,
    kubectl,
    async stop(): Promise<void> {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
    async kill9(): Promise<void> {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
