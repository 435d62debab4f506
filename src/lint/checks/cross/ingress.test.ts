import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { INGRESS_CHECKS, ingressBackendPortMissing } from './ingress.js';
import { brief, object, runChecks, service } from './testing.js';
import type { KObject } from '../../types.js';

const svc = service('api', { selector: { app: 'api' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] });

function ingress(backends: Record<string, unknown>[], defaultBackend?: Record<string, unknown>): KObject {
  return object('Ingress', 'ing', {
    apiVersion: 'networking.k8s.io/v1',
    spec: {
      ...(defaultBackend ? { defaultBackend } : {}),
      rules: [{ host: 'a.example', http: { paths: backends.map((backend, i) => ({ path: `/${i}`, pathType: 'Prefix', backend })) } }],
    },
  });
}
const to = (name: string, port: Record<string, unknown>): Record<string, unknown> => ({ service: { name, port } });

const cases: { name: string; objs: KObject[]; want: string[] }[] = [
  { name: 'existing Service and port number: nothing', objs: [svc, ingress([to('api', { number: 80 })])], want: [] },
  { name: 'existing Service and port name: nothing', objs: [svc, ingress([to('api', { name: 'http' })])], want: [] },
  {
    name: 'missing Service',
    objs: [svc, ingress([to('apo', { number: 80 })])],
    want: ['ingress-backend-service-missing warning Ingress/ing spec.rules.0.http.paths.0.backend.service.name'],
  },
  {
    name: 'Service in another namespace does not count',
    objs: [service('api', { ports: [{ port: 80 }] }, 'other'), ingress([to('api', { number: 80 })])],
    want: ['ingress-backend-service-missing warning Ingress/ing spec.rules.0.http.paths.0.backend.service.name'],
  },
  {
    name: 'port number the Service lacks (the targetPort is not a Service port)',
    objs: [svc, ingress([to('api', { number: 8080 })])],
    want: ['ingress-backend-port-missing error Ingress/ing spec.rules.0.http.paths.0.backend.service.port.number'],
  },
  {
    name: 'port name the Service lacks',
    objs: [svc, ingress([to('api', { number: 80 }), to('api', { name: 'https' })])],
    want: ['ingress-backend-port-missing error Ingress/ing spec.rules.0.http.paths.1.backend.service.port.name'],
  },
  {
    name: 'defaultBackend is checked too',
    objs: [svc, ingress([], to('nope', { number: 80 }))],
    want: ['ingress-backend-service-missing warning Ingress/ing spec.defaultBackend.service.name'],
  },
  {
    name: 'v1beta1 serviceName/servicePort',
    objs: [svc, object('Ingress', 'ing', { spec: { backend: { serviceName: 'api', servicePort: 443 } } })],
    want: ['ingress-backend-port-missing error Ingress/ing spec.backend.servicePort'],
  },
  {
    name: 'ExternalName Service: no port list to check',
    objs: [service('api', { type: 'ExternalName', externalName: 'api.example' }), ingress([to('api', { number: 443 })])],
    want: [],
  },
  { name: 'resource backends are skipped', objs: [ingress([{ resource: { kind: 'StorageBucket', name: 'b' } }])], want: [] },
];

describe('ingress checks', () => {
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(brief(runChecks(INGRESS_CHECKS, c.objs)), c.want);
    });
  }
  it('the port message lists the ports the Service has', () => {
    const [f] = runChecks([ingressBackendPortMissing], [svc, ingress([to('api', { number: 8080 })])]);
    assert.match(f.message, /Service 'api' has no port 8080 \(it has: 80, 'http'\)/);
  });
  it('malformed Ingresses never throw', () => {
    const bad: KObject[] = [
      { kind: 'Ingress' },
      { kind: 'Ingress', spec: { rules: 'x' } },
      { kind: 'Ingress', spec: { rules: [null, { http: { paths: [null, { backend: { service: { name: 3 } } }] } }] } },
      { kind: 'Ingress', spec: { defaultBackend: { service: { name: 'api', port: 'x' } } } },
    ];
    assert.doesNotThrow(() => runChecks(INGRESS_CHECKS, [svc, ...bad]));
  });
});
