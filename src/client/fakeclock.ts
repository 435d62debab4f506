/**
 * A manual Clock for tests: timers fire only when the test advances time, so anything timed
 * (queues, leases, node health) is tested on fake time, deterministically.
 */
import type { Clock } from './workqueue.js';

export class FakeClock implements Clock {
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;

  constructor(public t = 0) {}

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }

  clearTimeout(h: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== h);
  }

  /** Moves time forward by ms and fires every timer due by then. */
  advance(ms: number): void {
    this.t += ms;
    this.fireDue();
  }

  /** Earliest pending timer due at or before `limit`. */
  nextDue(limit: number): number | undefined {
    const due = this.timers.filter((x) => x.at <= limit).map((x) => x.at);
    return due.length ? Math.min(...due) : undefined;
  }

  /** Fires every timer due at or before the current time (they run "concurrently"). */
  fireDue(): void {
    const due = this.timers.filter((x) => x.at <= this.t);
    this.timers = this.timers.filter((x) => x.at > this.t);
    for (const d of due) d.fn();
  }

  pending(): number {
    return this.timers.length;
  }
}
