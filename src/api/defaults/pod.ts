/**
 * Pod and PodSpec defaulting, as kube's SetDefaults_PodSpec / SetDefaults_Container /
 * SetDefaults_Probe etc. do on decode. `applyPodSpecDefaults` runs for every embedded PodSpec
 * (templates too); `applyPodOnlyDefaults` holds what SetDefaults_Pod adds to real Pods only.
 */
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);

/** Tag of an image reference, '' when absent (digest-only references have no tag). */
export function imageTag(image: string): string {
  const noDigest = image.split('@')[0];
  const lastSlash = noDigest.lastIndexOf('/');
  const lastColon = noDigest.lastIndexOf(':');
  return lastColon > lastSlash ? noDigest.slice(lastColon + 1) : '';
}

/** imagePullPolicy: Always for `:latest` or an untagged image without digest, else IfNotPresent. */
export function defaultPullPolicy(image: string): string {
  const tag = imageTag(image);
  if (tag === 'latest') return 'Always';
  if (tag === '' && !image.includes('@')) return 'Always';
  return 'IfNotPresent';
}

function defaultProbe(p: unknown): void {
  if (!isObj(p)) return;
  if (!p.timeoutSeconds) p.timeoutSeconds = 1;
  if (!p.periodSeconds) p.periodSeconds = 10;
  if (!p.successThreshold) p.successThreshold = 1;
  if (!p.failureThreshold) p.failureThreshold = 3;
  defaultHandler(p);
}

function defaultHandler(h: unknown): void {
  if (!isObj(h)) return;
  if (isObj(h.httpGet)) {
    if (!h.httpGet.path) h.httpGet.path = '/';
    if (!h.httpGet.scheme) h.httpGet.scheme = 'HTTP';
  }
}

function defaultContainer(c: Obj): void {
  if (!c.imagePullPolicy) c.imagePullPolicy = defaultPullPolicy(typeof c.image === 'string' ? c.image : '');
  if (!c.terminationMessagePath) c.terminationMessagePath = '/dev/termination-log';
  if (!c.terminationMessagePolicy) c.terminationMessagePolicy = 'File';
  for (const p of list(c.ports)) if (!p.protocol) p.protocol = 'TCP';
  for (const e of list(c.env)) {
    const fr = isObj(e.valueFrom) ? e.valueFrom.fieldRef : undefined;
    if (isObj(fr) && !fr.apiVersion) fr.apiVersion = 'v1';
  }
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  if (isObj(c.lifecycle)) {
    defaultHandler(c.lifecycle.postStart);
    defaultHandler(c.lifecycle.preStop);
  }
  if (!isObj(c.resources)) c.resources = {};
}

function defaultVolume(v: Obj): void {
  const sources = Object.keys(v).filter((k) => k !== 'name' && v[k] !== null && v[k] !== undefined);
  if (sources.length === 0) v.emptyDir = {};
  if (isObj(v.secret) && v.secret.defaultMode === undefined) v.secret.defaultMode = 0o644;
  if (isObj(v.configMap) && v.configMap.defaultMode === undefined) v.configMap.defaultMode = 0o644;
  if (isObj(v.downwardAPI) && v.downwardAPI.defaultMode === undefined) v.downwardAPI.defaultMode = 0o644;
  if (isObj(v.projected)) {
    if (v.projected.defaultMode === undefined) v.projected.defaultMode = 0o644;
    for (const s of list(v.projected.sources)) {
      if (isObj(s.serviceAccountToken) && s.serviceAccountToken.expirationSeconds === undefined) s.serviceAccountToken.expirationSeconds = 3600;
    }
  }
  if (isObj(v.hostPath) && v.hostPath.type === undefined) v.hostPath.type = '';
}

/** SetDefaults_PodSpec plus the per-element defaults of containers, probes and volumes. */
export function applyPodSpecDefaults(spec: Obj): void {
  if (!spec.dnsPolicy) spec.dnsPolicy = 'ClusterFirst';
  if (!spec.restartPolicy) spec.restartPolicy = 'Always';
  if (!isObj(spec.securityContext)) spec.securityContext = {};
  if (spec.terminationGracePeriodSeconds === undefined || spec.terminationGracePeriodSeconds === null) spec.terminationGracePeriodSeconds = 30;
  if (!spec.schedulerName) spec.schedulerName = 'default-scheduler';
  for (const c of list(spec.containers)) defaultContainer(c);
  for (const c of list(spec.initContainers)) defaultContainer(c);
  for (const c of list(spec.ephemeralContainers)) defaultContainer(c);
  for (const v of list(spec.volumes)) defaultVolume(v);
}

/** SetDefaults_PodTemplateSpec: only the embedded spec is defaulted. */
export function applyPodTemplateDefaults(tmpl: unknown): void {
  if (!isObj(tmpl)) return;
  if (!isObj(tmpl.spec)) tmpl.spec = {};
  applyPodSpecDefaults(tmpl.spec);
}

/** SetDefaults_Pod: requests default to limits, enableServiceLinks, hostNetwork host ports. */
export function applyPodOnlyDefaults(pod: Obj): void {
  if (!isObj(pod.spec)) pod.spec = {};
  const spec = pod.spec;
  applyPodSpecDefaults(spec);
  for (const c of [...list(spec.containers), ...list(spec.initContainers)]) {
    const res = isObj(c.resources) ? c.resources : (c.resources = {});
    if (isObj(res.limits)) {
      if (!isObj(res.requests)) res.requests = {};
      for (const [k, v] of Object.entries(res.limits)) if (!(k in res.requests)) res.requests[k] = v;
    }
  }
  if (spec.enableServiceLinks === undefined || spec.enableServiceLinks === null) spec.enableServiceLinks = true;
  if (spec.hostNetwork === true) {
    for (const c of [...list(spec.containers), ...list(spec.initContainers)]) {
      for (const p of list(c.ports)) if (!p.hostPort) p.hostPort = p.containerPort;
    }
  }
}

/**
 * What kube-apiserver's default admission chain adds to a new Pod (ServiceAccount,
 * DefaultTolerationSeconds and Priority plugins) and what the pod strategy sets on create
 * (status.phase Pending, qosClass). Separate from defaulting because it applies to Pods only,
 * on create only. The projected service-account token volume is left to the server (it needs a
 * generated name and a token source).
 */
export function applyPodAdmission(pod: Obj): void {
  if (!isObj(pod.spec)) pod.spec = {};
  const spec = pod.spec;
  if (!spec.serviceAccountName) spec.serviceAccountName = spec.serviceAccount || 'default';
  spec.serviceAccount = spec.serviceAccountName;
  const tols = Array.isArray(spec.tolerations) ? spec.tolerations : [];
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    const has = tols.some((t: Obj) => isObj(t) && (t.key === key || (!t.key && t.operator === 'Exists')) && (!t.effect || t.effect === 'NoExecute'));
    if (!has) tols.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
  }
  spec.tolerations = tols;
  if (spec.priority === undefined) spec.priority = 0;
  if (!spec.preemptionPolicy) spec.preemptionPolicy = 'PreemptLowerPriority';
  if (!isObj(pod.status)) pod.status = {};
  pod.status.phase = 'Pending';
  pod.status.qosClass = podQOSClass(spec);
}

/** v1.PodQOSClass from container requests/limits of cpu and memory. */
export function podQOSClass(spec: Obj): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const containers = [...list(spec.containers), ...list(spec.initContainers)];
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const r = isObj(c.resources) ? c.resources : {};
    const req = isObj(r.requests) ? r.requests : {};
    const lim = isObj(r.limits) ? r.limits : {};
    for (const n of ['cpu', 'memory']) {
      if (n in req || n in lim) any = true;
      if (!(n in lim) || (n in req && String(req[n]) !== String(lim[n]))) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
