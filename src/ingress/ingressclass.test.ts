import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { desiredIngressClass, isDefaultClass } from './ingressclass.js';
import { INGRESS_CONTROLLER } from './types.js';
import { desiredIngressService } from './service.js';

describe('desired objects', () => {
  it('IngressClass kubelite is ours and marked default', () => {
    const c = desiredIngressClass();
    assert.equal(c.metadata.name, 'kubelite');
    assert.equal((c.spec as { controller: string }).controller, INGRESS_CONTROLLER);
    assert.equal(isDefaultClass(c), true);
  });

  it('the data-plane Service is a selectorless LoadBalancer whose endpoints are the data plane', () => {
    const { service, endpoints, slice } = desiredIngressService({ address: '127.0.0.1', httpPort: 8080, httpsPort: 8443, nodeName: 'n1' });
    const spec = service.spec as { type: string; selector?: unknown; ports: { name: string; port: number; targetPort: number; protocol: string }[] };
    assert.equal(spec.type, 'LoadBalancer');
    assert.equal(spec.selector, undefined);
    assert.deepEqual(spec.ports.map((p) => [p.name, p.port, p.protocol, p.targetPort]), [['http', 80, 'TCP', 8080], ['https', 443, 'TCP', 8443]]);
    assert.equal(service.metadata.labels?.['app.kubernetes.io/name'], 'ingress-kubelite');
    assert.deepEqual(endpoints.subsets, [{ addresses: [{ ip: '127.0.0.1', nodeName: 'n1' }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'https', port: 8443, protocol: 'TCP' }] }]);
    assert.equal(slice.metadata.labels?.['kubernetes.io/service-name'], 'ingress-kubelite');
    assert.deepEqual((slice.endpoints as { addresses: string[] }[])[0].addresses, ['127.0.0.1']);
  });
});
