import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../client/fakeclock.js';
import type { CheckOutcome, ProbeResult, ProbeSpec } from './checks.js';
import { ContainerProber, ProbeWorker, probeTiming, thresholdStep, type ProbeKind } from './worker.js';

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Fires due timers and lets async ticks settle, repeatedly (0 ms triggers fire in the same step). */
async function settle(clock: FakeClock): Promise<void> {
  for (let i = 0; i < 5; i++) {
    clock.fireDue();
    await flush();
  }
}

/** Runs fake time from now to `untilS` seconds in 1 s steps. */
async function runUntil(clock: FakeClock, untilS: number): Promise<void> {
  await settle(clock);
  while (clock.now() < untilS * 1000) {
    clock.advance(1000);
    await settle(clock);
  }
}

type Step = ProbeResult | 'hang';

/** A fake check that answers from a script (the last entry repeats) and records call times. */
function scripted(clock: FakeClock, script: Step[]): { check: () => Promise<CheckOutcome>; calls: number[] } {
  const calls: number[] = [];
  let i = 0;
  return {
    calls,
    check: () => {
      calls.push(clock.now() / 1000);
      const s = script[Math.min(i++, script.length - 1)];
      if (s === 'hang') return new Promise<CheckOutcome>(() => {});
      return Promise.resolve({ result: s, message: `fake ${s}` });
    },
  };
}

interface WorkerCase {
  name: string;
  kind: ProbeKind;
  probe: ProbeSpec;
  script: Step[];
  until: number;
  /** Reported results as "t:result" (t in seconds). */
  want: string[];
  wantCalls?: number[];
}

const workerCases: WorkerCase[] = [
  {
    name: 'readiness starts failure; default thresholds (success 1, failure 3), period 10s',
    kind: 'readiness',
    probe: {},
    script: ['success', 'failure', 'failure', 'failure', 'success'],
    until: 45,
    want: ['0:failure', '0:success', '30:failure', '40:success'],
    wantCalls: [0, 10, 20, 30, 40],
  },
  {
    name: 'readiness successThreshold 2 needs two in a row',
    kind: 'readiness',
    probe: { periodSeconds: 5, successThreshold: 2 },
    script: ['success', 'failure', 'success', 'success'],
    until: 16,
    want: ['0:failure', '15:success'],
  },
  {
    name: 'initialDelaySeconds counts from container start',
    kind: 'readiness',
    probe: { initialDelaySeconds: 15, periodSeconds: 5 },
    script: ['success'],
    until: 21,
    want: ['0:failure', '15:success'],
    wantCalls: [15, 20],
  },
  {
    name: 'unknown results are thrown away and do not break a streak',
    kind: 'readiness',
    probe: { periodSeconds: 1, failureThreshold: 2 },
    script: ['success', 'failure', 'unknown', 'failure'],
    until: 4,
    want: ['0:failure', '0:success', '3:failure'],
  },
  {
    name: 'liveness starts success, fails after failureThreshold, then is on hold',
    kind: 'liveness',
    probe: { periodSeconds: 2, failureThreshold: 2 },
    script: ['success', 'failure', 'failure', 'success'],
    until: 20,
    want: ['0:success', '4:failure'],
    wantCalls: [0, 2, 4],
  },
  {
    name: 'liveness successThreshold is forced to 1',
    kind: 'liveness',
    probe: { periodSeconds: 1, failureThreshold: 1, successThreshold: 3 },
    script: ['success', 'failure'],
    until: 3,
    want: ['0:success', '1:failure'],
  },
  {
    name: 'a check that outlives timeoutSeconds is a failure (on the injected clock)',
    kind: 'liveness',
    probe: { periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 1 },
    script: ['hang'],
    until: 5,
    want: ['0:success', '2:failure'],
  },
  {
    name: 'startup starts unknown and stops probing after success',
    kind: 'startup',
    probe: { periodSeconds: 1, failureThreshold: 10 },
    script: ['failure', 'failure', 'success'],
    until: 10,
    want: ['0:unknown', '2:success'],
    wantCalls: [0, 1, 2],
  },
];

for (const c of workerCases) {
  test(`ProbeWorker: ${c.name}`, async () => {
    const clock = new FakeClock(0);
    const fake = scripted(clock, c.script);
    const got: string[] = [];
    const w = new ProbeWorker({
      kind: c.kind,
      probe: c.probe,
      clock,
      startedAt: 0,
      check: fake.check,
      onResult: (k, r) => {
        assert.equal(k, c.kind);
        got.push(`${clock.now() / 1000}:${r}`);
      },
    });
    w.start();
    await runUntil(clock, c.until);
    w.stop();
    assert.deepEqual(got, c.want);
    if (c.wantCalls) assert.deepEqual(fake.calls, c.wantCalls);
  });
}

test('ProbeWorker: stop discards an in-flight check and schedules nothing more', async () => {
  const clock = new FakeClock(0);
  let resolve!: (o: CheckOutcome) => void;
  const got: string[] = [];
  const w = new ProbeWorker({
    kind: 'readiness',
    probe: { periodSeconds: 1, timeoutSeconds: 5 },
    clock,
    startedAt: 0,
    check: () => new Promise((r) => (resolve = r)),
    onResult: (_k, r) => got.push(r),
  });
  w.start();
  await settle(clock);
  w.stop();
  resolve({ result: 'success', message: '' });
  await runUntil(clock, 10);
  assert.deepEqual(got, ['failure']);
  assert.equal(clock.pending(), 0);
});

test('ProbeWorker: a container started long ago probes at once', async () => {
  const clock = new FakeClock(100_000);
  const fake = scripted(clock, ['success']);
  const w = new ProbeWorker({
    kind: 'readiness',
    probe: { initialDelaySeconds: 30 },
    clock,
    startedAt: 0,
    check: fake.check,
    onResult: () => {},
  });
  w.start();
  await settle(clock);
  w.stop();
  assert.deepEqual(fake.calls, [100]);
});

test('thresholdStep table', () => {
  const t = { successThreshold: 2, failureThreshold: 3 };
  const rows: [{ last?: ProbeResult; run: number }, ProbeResult, number, ProbeResult | undefined][] = [
    [{ run: 0 }, 'success', 1, undefined],
    [{ last: 'success', run: 1 }, 'success', 2, 'success'],
    [{ last: 'success', run: 5 }, 'failure', 1, undefined],
    [{ last: 'failure', run: 2 }, 'failure', 3, 'failure'],
    [{ last: 'failure', run: 2 }, 'unknown', 2, undefined],
  ];
  for (const [streak, r, run, report] of rows) {
    const s = thresholdStep(streak, r, t);
    assert.equal(s.streak.run, run, JSON.stringify([streak, r]));
    assert.equal(s.report, report, JSON.stringify([streak, r]));
  }
});

test('probeTiming defaults', () => {
  assert.deepEqual(probeTiming('readiness', {}), {
    initialDelayMs: 0,
    periodMs: 10_000,
    timeoutMs: 1000,
    successThreshold: 1,
    failureThreshold: 3,
  });
  assert.equal(probeTiming('startup', { successThreshold: 4 }).successThreshold, 1);
  assert.equal(probeTiming('readiness', { successThreshold: 4, periodSeconds: 0 }).periodMs, 10_000);
});

/** Runs a ContainerProber with one script per kind; returns "t:kind:result" reports and call times. */
async function runContainer(
  spec: { startupProbe?: ProbeSpec; livenessProbe?: ProbeSpec; readinessProbe?: ProbeSpec },
  scripts: Partial<Record<ProbeKind, Step[]>>,
  until: number,
): Promise<{ got: string[]; calls: Partial<Record<ProbeKind, number[]>>; prober: ContainerProber }> {
  const clock = new FakeClock(0);
  const fakes = new Map<ProbeKind, ReturnType<typeof scripted>>();
  for (const [k, s] of Object.entries(scripts)) fakes.set(k as ProbeKind, scripted(clock, s));
  const got: string[] = [];
  const prober = new ContainerProber(spec, {
    clock,
    startedAt: 0,
    check: (kind) => fakes.get(kind)!.check(),
    onResult: (k, r) => got.push(`${clock.now() / 1000}:${k}:${r}`),
  });
  prober.start();
  await runUntil(clock, until);
  prober.stop();
  const calls: Partial<Record<ProbeKind, number[]>> = {};
  for (const [k, f] of fakes) calls[k] = f.calls;
  return { got, calls, prober };
}

test('ContainerProber: startup gates liveness and readiness until it succeeds', async () => {
  const { got, calls, prober } = await runContainer(
    {
      startupProbe: { periodSeconds: 1, failureThreshold: 10 },
      livenessProbe: { periodSeconds: 10 },
      readinessProbe: { periodSeconds: 10 },
    },
    { startup: ['failure', 'failure', 'success'], liveness: ['success'], readiness: ['success'] },
    12,
  );
  assert.deepEqual(got, ['0:startup:unknown', '0:liveness:success', '0:readiness:failure', '2:startup:success', '2:readiness:success']);
  // Neither ran before startup succeeded; both ran promptly after, then on their own period.
  assert.deepEqual(calls.liveness, [2, 12]);
  assert.deepEqual(calls.readiness, [2, 12]);
  assert.equal(prober.started, true);
  assert.equal(prober.result('readiness'), 'success');
});

test('ContainerProber: failed startup probe leaves the others unrun', async () => {
  const { got, calls, prober } = await runContainer(
    { startupProbe: { periodSeconds: 1, failureThreshold: 3 }, readinessProbe: { periodSeconds: 1 } },
    { startup: ['failure'], readiness: ['success'] },
    10,
  );
  assert.deepEqual(got, ['0:startup:unknown', '0:readiness:failure', '2:startup:failure']);
  assert.deepEqual(calls.readiness, []);
  assert.deepEqual(calls.startup, [0, 1, 2]);
  assert.equal(prober.started, false);
});

test('ContainerProber: without a startup probe the container counts as started', async () => {
  const { got, prober } = await runContainer(
    { readinessProbe: { periodSeconds: 1 } },
    { readiness: ['success'] },
    1,
  );
  assert.deepEqual(got, ['0:readiness:failure', '0:readiness:success']);
  assert.equal(prober.started, true);
  assert.equal(prober.result('liveness'), undefined);
});

test('ContainerProber: containerStopped makes a ready container not ready, once', async () => {
  const clock = new FakeClock(0);
  const got: string[] = [];
  const prober = new ContainerProber(
    { readinessProbe: { periodSeconds: 1 } },
    { clock, startedAt: 0, check: () => Promise.resolve({ result: 'success', message: '' }), onResult: (k, r) => got.push(`${k}:${r}`) },
  );
  prober.start();
  await settle(clock);
  prober.containerStopped();
  await runUntil(clock, 5);
  assert.deepEqual(got, ['readiness:failure', 'readiness:success', 'readiness:failure']);
  assert.equal(prober.result('readiness'), 'failure');
  assert.equal(clock.pending(), 0);
});
