/**
 * Builders for the Deployment controller's table tests: small Deployments and ReplicaSets with
 * just the fields the pure functions read.
 */
import type { Deployment, IntOrString, ReplicaSet } from './util.js';

export interface DeployOpts {
  replicas?: number;
  surge?: IntOrString;
  unavailable?: IntOrString;
  recreate?: boolean;
  generation?: number;
  progressDeadlineSeconds?: number;
  paused?: boolean;
  status?: Deployment['status'];
  annotations?: Record<string, string>;
  image?: string;
}

export function deploy(o: DeployOpts = {}): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', uid: 'd-uid', generation: o.generation ?? 1, annotations: o.annotations },
    spec: {
      replicas: o.replicas ?? 10,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: o.image ?? 'img:1' }] } },
      strategy: o.recreate ? { type: 'Recreate' } : { type: 'RollingUpdate', rollingUpdate: { maxSurge: o.surge ?? '25%', maxUnavailable: o.unavailable ?? '25%' } },
      progressDeadlineSeconds: o.progressDeadlineSeconds ?? 600,
      revisionHistoryLimit: 10,
      paused: o.paused,
    },
    status: o.status,
  };
}

export interface RSOpts {
  replicas: number;
  available?: number;
  ready?: number;
  statusReplicas?: number;
  /** creation time, seconds after an epoch */
  at?: number;
  annotations?: Record<string, string>;
  image?: string;
}

export function rs(name: string, o: RSOpts): ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name,
      namespace: 'default',
      uid: `${name}-uid`,
      creationTimestamp: new Date(Date.UTC(2024, 0, 1, 0, 0, o.at ?? 0)).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      annotations: o.annotations,
    },
    spec: {
      replicas: o.replicas,
      template: { metadata: { labels: { app: 'web', 'pod-template-hash': name } }, spec: { containers: [{ name: 'c', image: o.image ?? name }] } },
    },
    status: { replicas: o.statusReplicas ?? o.replicas, readyReplicas: o.ready ?? o.available ?? 0, availableReplicas: o.available ?? 0 },
  };
}
