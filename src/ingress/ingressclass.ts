/**
 * Our IngressClass `kubelite`.
 *
 * `kubelite up` creates IngressClass `kubelite` (controller INGRESS_CONTROLLER) marked as the
 * cluster default, once: a class that already exists is never touched, so a user who removes the
 * default mark or points the class elsewhere keeps that choice across restarts (as with kubeadm's
 * add-ons).
 *
 * Which Ingresses belong to a class is decided in routes/classes.ts (one rule for the table and
 * the controller's events and status).
 */
import type { KObject } from '../api/types.js';
import type { Registry } from '../apiserver/registry/index.js';
import { internalContext } from '../apiserver/registry/strategy.js';
import { StatusError } from '../apiserver/errors.js';
import { INGRESS_CONTROLLER } from './types.js';

export const INGRESS_CLASS_NAME = 'kubelite';
export const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';

/** The IngressClass `ensureIngressClass` creates. */
export function desiredIngressClass(controller = INGRESS_CONTROLLER): KObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: {
      name: INGRESS_CLASS_NAME,
      labels: { 'app.kubernetes.io/name': 'ingress-kubelite', 'app.kubernetes.io/component': 'controller' },
      annotations: { [DEFAULT_CLASS_ANNOTATION]: 'true' },
    },
    spec: { controller },
  };
}

/**
 * Creates IngressClass `kubelite` if missing; an existing one is left exactly as it is.
 * Returns true when it created the class.
 */
export async function ensureIngressClass(registry: Registry, opts: { controller?: string } = {}): Promise<boolean> {
  const store = registry.must('networking.k8s.io', 'ingressclasses');
  try {
    await store.get(undefined, INGRESS_CLASS_NAME);
    return false;
  } catch (err) {
    if (!(err instanceof StatusError) || err.reason !== 'NotFound') throw err;
  }
  try {
    await store.create(undefined, desiredIngressClass(opts.controller), internalContext('kubelite-ingress'));
    return true;
  } catch (err) {
    if (err instanceof StatusError && err.reason === 'AlreadyExists') return false;
    throw err;
  }
}

/** True when the IngressClass carries the default mark (the value must be exactly "true"). */
export function isDefaultClass(cls: KObject): boolean {
  return cls.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true';
}
