/**
 * Image checks: a mutable image (no tag or `latest`) makes rollouts unrepeatable, and a pull
 * policy that does not re-pull a mutable tag runs whatever a node cached long ago.
 */
import { str } from '../../objects.js';
import type { Check, Problem } from '../../types.js';
import { POD_KINDS, containerLabel, isMutableImage, parseImage, perContainer } from './util.js';

const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];

export const imageTag: Check = {
  id: 'image-tag',
  severity: 'warning',
  description: 'Containers must pin their image with a version tag or a digest: no tag or `latest` changes what runs without a change to the manifest.',
  kinds: POD_KINDS,
  scope: 'object',
  admission: true,
  origin: {
    kubeScore: ['container-image-tag'],
    kubeLinter: ['latest-tag'],
    polaris: ['tagNotSpecified'],
    article: 'versioned image tags instead of latest',
  },
  run(obj) {
    return perContainer<Problem>(obj, (c) => {
      const image = str(c.container['image']);
      if (image === undefined || image.trim() === '') {
        return [{
          message: `${containerLabel(c)}: has no image; set image to a repository with a version tag, e.g. nginx:1.27.3`,
          path: c.path, container: c.name, severity: 'error',
        }];
      }
      if (!isMutableImage(image)) return [];
      const tag = parseImage(image).tag;
      const what = tag === 'latest' ? 'uses the mutable tag latest' : 'has no tag (so latest is pulled)';
      return [{
        message: `${containerLabel(c)}: image ${image} ${what}; pin a version tag or a digest`,
        path: [...c.path, 'image'], container: c.name,
      }];
    });
  },
};

export const imagePullPolicy: Check = {
  id: 'image-pull-policy',
  severity: 'warning',
  description: 'imagePullPolicy must be a valid value, and a mutable image (latest or no tag) must not use IfNotPresent or Never, which keep running a stale cached image.',
  kinds: POD_KINDS,
  scope: 'object',
  admission: true,
  origin: {
    kubeScore: ['container-image-pull-policy'],
    polaris: ['pullPolicyNotAlways'],
    article: 'versioned image tags instead of latest',
  },
  run(obj) {
    return perContainer<Problem>(obj, (c) => {
      const raw = c.container['imagePullPolicy'];
      if (raw === undefined || raw === null) return [];
      const policy = str(raw);
      const path = [...c.path, 'imagePullPolicy'];
      if (policy === undefined || !PULL_POLICIES.includes(policy)) {
        return [{
          message: `${containerLabel(c)}: imagePullPolicy ${JSON.stringify(raw)} is not valid; use Always, IfNotPresent or Never`,
          path, container: c.name, severity: 'error',
        }];
      }
      const image = str(c.container['image']);
      if (image && isMutableImage(image) && policy !== 'Always') {
        return [{
          message: `${containerLabel(c)}: imagePullPolicy ${policy} with the mutable image ${image} runs whatever version a node cached; pin a version tag or set imagePullPolicy: Always`,
          path, container: c.name,
        }];
      }
      return [];
    });
  },
};

/**
 * kube-score's stricter rule (Always for every image, so imagePullSecrets are checked on every
 * start). Opt-in: with a pinned tag IfNotPresent is the safe default, and flagging it would be a
 * false alarm on the seed's sample.
 */
export const imagePullPolicyAlways: Check = {
  id: 'image-pull-policy-always',
  severity: 'info',
  description: 'Every container should set imagePullPolicy: Always so that image pull secrets are validated on every start (opt-in).',
  kinds: POD_KINDS,
  scope: 'object',
  admission: true,
  origin: { kubeScore: ['container-image-pull-policy'], polaris: ['pullPolicyNotAlways'] },
  run(obj) {
    return perContainer<Problem>(obj, (c) => {
      const policy = c.container['imagePullPolicy'];
      const image = str(c.container['image']) ?? '';
      // An unset policy on a mutable image defaults to Always.
      if (policy === undefined && isMutableImage(image)) return [];
      if (policy === 'Always') return [];
      return [{
        message: `${containerLabel(c)}: imagePullPolicy is ${typeof policy === 'string' ? policy : 'not set'}; set imagePullPolicy: Always so pull secrets are checked on every start`,
        path: policy === undefined ? c.path : [...c.path, 'imagePullPolicy'], container: c.name,
      }];
    });
  },
};

export const IMAGE_CHECKS: readonly Check[] = [imageTag, imagePullPolicy];
