/**
 * The event recorder controllers use to tell users what they did and why (the events
 * `kubectl describe` shows). Events are core/v1 Events in the involved object's namespace;
 * a repeat of the same (object, type, reason, message) bumps `count` and `lastTimestamp` on the
 * existing Event instead of creating another, as client-go's correlator does.
 *
 * Contract: recording never throws and never blocks the caller; a failed write is dropped (an
 * event is a hint, not state). `flush()` awaits the writes in flight (tests).
 */
import type { KObject } from '../api/types.js';
import { rfc3339 } from '../apiserver/registry/store.js';
import { EVENTS, isNotFound, type LocalClient } from './client.js';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  event(obj: KObject, type: EventType, reason: string, message: string): void;
}

interface Seen {
  name: string;
  namespace: string;
  count: number;
}

export class LocalEventRecorder implements EventRecorder {
  private readonly seen = new Map<string, Seen>();
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly client: LocalClient,
    private readonly opts: { component: string; host?: string; now?: () => Date },
  ) {}

  event(obj: KObject, type: EventType, reason: string, message: string): void {
    const p = this.write(obj, type, reason, message).catch(() => undefined);
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  private async write(obj: KObject, type: EventType, reason: string, message: string): Promise<void> {
    const now = rfc3339(this.opts.now?.() ?? new Date());
    const namespace = obj.metadata.namespace || 'default';
    const key = [obj.kind, namespace, obj.metadata.name, obj.metadata.uid, type, reason, message].join('\u0000');
    const prior = this.seen.get(key);
    if (prior) {
      prior.count++;
      const count = prior.count;
      try {
        await this.client.mutate(EVENTS, prior.namespace, prior.name, (ev) => {
          ev.count = Math.max(count, ((ev.count as number) ?? 1) + 1);
          ev.lastTimestamp = now;
          return ev;
        });
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        this.seen.delete(key);
      }
    }
    const name = `${obj.metadata.name ?? 'unknown'}.${(Date.now() * 1e6 + Math.floor(Math.random() * 1e6)).toString(16)}`;
    const source: Record<string, string> = { component: this.opts.component };
    if (this.opts.host) source.host = this.opts.host;
    await this.client.create(EVENTS, namespace, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        kind: obj.kind,
        namespace: obj.metadata.namespace,
        name: obj.metadata.name,
        uid: obj.metadata.uid,
        apiVersion: obj.apiVersion,
        resourceVersion: obj.metadata.resourceVersion,
      },
      reason,
      message,
      source,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      type,
      reportingComponent: this.opts.component,
      reportingInstance: this.opts.host ?? '',
    });
    this.seen.set(key, { name, namespace, count: 1 });
    if (this.seen.size > 4096) this.seen.delete(this.seen.keys().next().value as string);
  }
}
