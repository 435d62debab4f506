/**
 * Which Ingresses this controller serves.
 *
 * - `spec.ingressClassName` naming an IngressClass whose `spec.controller` is ours;
 * - the legacy `kubernetes.io/ingress.class` annotation naming such a class (checked first, as
 *   ingress-nginx does, so an annotation naming another controller's class wins over a default);
 * - neither: ours when one of our classes is the cluster default
 *   (`ingressclass.kubernetes.io/is-default-class: "true"`).
 * Ingresses being deleted (deletionTimestamp set) are not served.
 *
 * The result is in conflict-resolution order: oldest first (creationTimestamp, then
 * namespace/name), so "the older Ingress wins" is simply "the first one to claim it".
 */
import { isObject, type KObject } from '../../api/types.js';
import { INGRESS_CONTROLLER } from '../types.js';

export const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
export const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';

export interface ClassSelection {
  /** Names of the IngressClasses whose controller is ours. */
  classes: Set<string>;
  /** Whether one of them is the default class. */
  isDefault: boolean;
}

export function ourClasses(ingressClasses: KObject[], controller: string = INGRESS_CONTROLLER): ClassSelection {
  const classes = new Set<string>();
  let isDefault = false;
  for (const c of ingressClasses) {
    if (c.metadata.deletionTimestamp) continue;
    const spec = isObject(c.spec) ? c.spec : {};
    if (spec.controller !== controller || !c.metadata.name) continue;
    classes.add(c.metadata.name);
    if (c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true') isDefault = true;
  }
  return { classes, isDefault };
}

export function isServed(ing: KObject, sel: ClassSelection): boolean {
  if (ing.metadata.deletionTimestamp) return false;
  const legacy = ing.metadata.annotations?.[LEGACY_CLASS_ANNOTATION];
  if (legacy !== undefined && legacy !== '') return sel.classes.has(legacy);
  const spec = isObject(ing.spec) ? ing.spec : {};
  const className = spec.ingressClassName;
  if (typeof className === 'string' && className !== '') return sel.classes.has(className);
  return sel.isDefault;
}

/** Conflict order: older first, then namespace/name. */
export function compareIngressAge(a: KObject, b: KObject): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = `${a.metadata.namespace ?? ''}/${a.metadata.name ?? ''}`;
  const kb = `${b.metadata.namespace ?? ''}/${b.metadata.name ?? ''}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** The Ingresses we serve, oldest first. */
export function servedIngresses(ingressClasses: KObject[], ingresses: KObject[], controller?: string): KObject[] {
  const sel = ourClasses(ingressClasses, controller);
  return ingresses.filter((i) => isServed(i, sel)).sort(compareIngressAge);
}
