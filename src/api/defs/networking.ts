/**
 * networking.k8s.io/v1: Ingress, IngressClass and NetworkPolicy with the types they reach.
 * Almost every list here is atomic upstream (replaced whole by strategic merge), which matters
 * for `kubectl apply` behaviour.
 */
import {
  arr,
  int32,
  intOrString,
  kindObject,
  labelSelector,
  listObject,
  obj,
  ref,
  str,
  group,
  type ArraySchema,
  type Definitions,
  type Schema,
} from '../schema.js';

const PKG = 'io.k8s.api.networking.v1';
const gv = (kind: string): { group: string; version: string; kind: string } => ({
  group: 'networking.k8s.io',
  version: 'v1',
  kind,
});
const atomic = (items: Schema): ArraySchema => arr(items, { listType: 'atomic' });
const own = (name: string): Schema => ref(`${PKG}.${name}`);

export const defs: Definitions = group(PKG, {
  Ingress: kindObject(gv('Ingress'), { spec: own('IngressSpec'), status: own('IngressStatus') }),
  IngressList: listObject(gv('IngressList'), `${PKG}.Ingress`),
  IngressSpec: obj({
    defaultBackend: own('IngressBackend'),
    ingressClassName: str(),
    rules: atomic(own('IngressRule')),
    tls: atomic(own('IngressTLS')),
  }),
  IngressRule: obj({ host: str(), http: own('HTTPIngressRuleValue') }),
  HTTPIngressRuleValue: obj({ paths: atomic(own('HTTPIngressPath')) }, { required: ['paths'] }),
  HTTPIngressPath: obj(
    { backend: own('IngressBackend'), path: str(), pathType: str() },
    { required: ['pathType', 'backend'] },
  ),
  IngressBackend: obj({
    resource: ref('io.k8s.api.core.v1.TypedLocalObjectReference'),
    service: own('IngressServiceBackend'),
  }),
  IngressServiceBackend: obj({ name: str(), port: own('ServiceBackendPort') }, { required: ['name'] }),
  ServiceBackendPort: obj({ name: str(), number: int32() }, { mapType: 'atomic' }),
  IngressTLS: obj({ hosts: atomic(str()), secretName: str() }),
  IngressStatus: obj({ loadBalancer: own('IngressLoadBalancerStatus') }),
  IngressLoadBalancerStatus: obj({ ingress: atomic(own('IngressLoadBalancerIngress')) }),
  IngressLoadBalancerIngress: obj({ hostname: str(), ip: str(), ports: atomic(own('IngressPortStatus')) }),
  IngressPortStatus: obj({ error: str(), port: int32(), protocol: str() }, { required: ['port', 'protocol'] }),

  IngressClass: kindObject(gv('IngressClass'), { spec: own('IngressClassSpec') }),
  IngressClassList: listObject(gv('IngressClassList'), `${PKG}.IngressClass`),
  IngressClassSpec: obj({ controller: str(), parameters: own('IngressClassParametersReference') }),
  IngressClassParametersReference: obj(
    { apiGroup: str(), kind: str(), name: str(), namespace: str(), scope: str() },
    { required: ['kind', 'name'] },
  ),

  NetworkPolicy: kindObject(gv('NetworkPolicy'), { spec: own('NetworkPolicySpec') }),
  NetworkPolicyList: listObject(gv('NetworkPolicyList'), `${PKG}.NetworkPolicy`),
  NetworkPolicySpec: obj({
    egress: atomic(own('NetworkPolicyEgressRule')),
    ingress: atomic(own('NetworkPolicyIngressRule')),
    podSelector: labelSelector(),
    policyTypes: atomic(str()),
  }),
  NetworkPolicyIngressRule: obj({ from: atomic(own('NetworkPolicyPeer')), ports: atomic(own('NetworkPolicyPort')) }),
  NetworkPolicyEgressRule: obj({ ports: atomic(own('NetworkPolicyPort')), to: atomic(own('NetworkPolicyPeer')) }),
  NetworkPolicyPeer: obj({ ipBlock: own('IPBlock'), namespaceSelector: labelSelector(), podSelector: labelSelector() }),
  NetworkPolicyPort: obj({ endPort: int32(), port: intOrString(), protocol: str() }),
  IPBlock: obj({ cidr: str(), except: atomic(str()) }, { required: ['cidr'] }),
});
