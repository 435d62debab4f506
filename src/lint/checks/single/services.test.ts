import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SERVICE_CHECKS, portNameError } from './services.js';
import { assertWellFormed, deployment, runCorpus, type Case } from './testutil.js';

const svc = (spec: string): string => `apiVersion: v1
kind: Service
metadata: { name: web }
spec:
${spec}`;
const ing = (spec: string): string => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: web }
spec:
  rules:
  - host: www.example.com
    http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] }
  - host: api.example.com
    http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: api, port: { number: 80 } } } }] }
${spec}`;
const PORTS = '  ports: [{ port: 80, targetPort: 8080 }]\n  selector: { app: web }\n';

const cases: Case[] = [
  {
    check: 'service-type',
    good: svc(PORTS + '  type: ClusterIP\n'),
    bad: svc(PORTS + '  type: NodePort\n'),
    expect: [{ path: ['spec', 'type'], message: 'NodePort' }],
  },
  {
    check: 'service-type',
    name: 'LoadBalancer is info',
    good: svc('  type: ExternalName\n  externalName: db.example.com\n'),
    bad: svc(PORTS + '  type: LoadBalancer\n'),
    expect: [{ path: ['spec', 'type'], severity: 'info', message: 'LoadBalancer' }],
  },
  {
    check: 'service-selector',
    good: svc('  type: ExternalName\n  externalName: db.example.com\n'),
    bad: svc('  ports: [{ port: 80 }]\n'),
    expect: [{ path: ['spec'], message: 'no selector' }],
  },
  {
    check: 'port-name',
    good: svc('  selector: { app: web }\n  ports: [{ port: 80, targetPort: http }, { port: 81, targetPort: 8081 }]\n'),
    bad: svc('  selector: { app: web }\n  ports: [{ port: 80, targetPort: HTTP }, { port: 81, targetPort: "8081" }]\n'),
    expect: [
      { path: ['spec', 'ports', 0, 'targetPort'], message: 'lowercase' },
      { path: ['spec', 'ports', 1, 'targetPort'], message: 'quoted number' },
    ],
  },
  {
    check: 'port-name',
    name: 'container ports',
    good: deployment(`      - name: web
        image: nginx:1.27.3
        ports: [{ name: http-alt, containerPort: 8080 }]
`),
    bad: deployment(`      - name: web
        image: nginx:1.27.3
        ports: [{ name: http-metrics-port, containerPort: 8080 }]
`),
    expect: [{ path: ['spec', 'template', 'spec', 'containers', 0, 'ports', 0, 'name'], container: 'web', message: '15 characters' }],
  },
  {
    check: 'ingress-tls',
    good: ing('  tls: [{ hosts: ["*.example.com"], secretName: web-tls }]\n'),
    bad: ing(''),
    expect: [{ path: ['spec'], message: 'no tls section' }],
  },
  {
    check: 'ingress-tls',
    name: 'host not covered',
    good: ing('  tls: [{ secretName: default-tls }]\n'),
    bad: ing('  tls: [{ hosts: [www.example.com], secretName: web-tls }]\n'),
    expect: [{ path: ['spec', 'rules', 1, 'host'], severity: 'info', message: 'api.example.com' }],
  },
];

describe('service checks', () => {
  assertWellFormed(SERVICE_CHECKS);
  runCorpus(SERVICE_CHECKS, cases);
  it('port names follow IANA_SVC_NAME', () => {
    for (const ok of ['http', 'h2c', 'web-8080', 'a']) assert.equal(portNameError(ok), undefined, ok);
    for (const bad of ['', '-http', 'http-', 'a--b', '8080', 'Http', 'a_b', 'abcdefghijklmnop']) assert.ok(portNameError(bad), bad);
  });
});
