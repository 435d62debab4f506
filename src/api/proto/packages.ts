/** Definition-name prefixes of the served API packages, shared by the protobuf tables. */
export const CORE = 'io.k8s.api.core.v1.';
export const APPS = 'io.k8s.api.apps.v1.';
export const NET = 'io.k8s.api.networking.v1.';
export const AS1 = 'io.k8s.api.autoscaling.v1.';
export const AS2 = 'io.k8s.api.autoscaling.v2.';
export const POLICY = 'io.k8s.api.policy.v1.';
export const DISC = 'io.k8s.api.discovery.v1.';
export const EVENTS = 'io.k8s.api.events.v1.';
export const COORD = 'io.k8s.api.coordination.v1.';
export const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';
