/**
 * Every single-object check of `kubelite lint` (scope 'object', admission true), in a stable
 * order: the runner imports this list and runs each check on the kinds it names.
 * OPTIONAL_SINGLE_CHECKS are reference rules that would be noisy by default (kube-score's
 * stricter variants); they are meant to be turned on with `--enable`.
 */
import type { Check } from '../../types.js';
import { ENV_CHECKS } from './env.js';
import { HOST_CHECKS } from './host.js';
import { IMAGE_CHECKS, imagePullPolicyAlways } from './images.js';
import { META_CHECKS } from './meta.js';
import { POLICY_CHECKS } from './policies.js';
import { PROBE_CHECKS } from './probes.js';
import { RESOURCE_CHECKS, containerEphemeralStorage } from './resources.js';
import { SECURITY_CHECKS, highUidGid } from './security.js';
import { SERVICE_CHECKS } from './services.js';
import { WORKLOAD_CHECKS } from './workloads.js';

export const SINGLE_CHECKS: readonly Check[] = [
  ...META_CHECKS,
  ...IMAGE_CHECKS,
  ...RESOURCE_CHECKS,
  ...PROBE_CHECKS,
  ...WORKLOAD_CHECKS,
  ...SECURITY_CHECKS,
  ...HOST_CHECKS,
  ...ENV_CHECKS,
  ...POLICY_CHECKS,
  ...SERVICE_CHECKS,
];

/** Off by default (enable by id): kube-score default rules we judged too noisy as defaults. */
export const OPTIONAL_SINGLE_CHECKS: readonly Check[] = [imagePullPolicyAlways, containerEphemeralStorage, highUidGid];
