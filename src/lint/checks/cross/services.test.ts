import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SERVICE_CHECKS, serviceSelectorNoMatch, serviceTargetPort } from './services.js';
import { brief, runChecks, service, workload } from './testing.js';
import type { KObject } from '../../types.js';

const web = (ports?: Record<string, unknown>[], extra: Record<string, unknown> = {}): KObject =>
  workload('web', { containers: [{ name: 'app', image: 'nginx:1.27', readinessProbe: { httpGet: { port: 8080 } }, ...(ports ? { ports } : {}), ...extra }] });

const cases: { name: string; objs: KObject[]; want: string[] }[] = [
  // service-selector-no-match
  { name: 'selector matches the template: nothing', objs: [web([{ containerPort: 8080 }]), service('s', { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] })], want: [] },
  {
    name: 'selector with a typo matches nothing',
    objs: [web(), service('s', { selector: { app: 'wbe' }, ports: [{ port: 80, targetPort: 8080 }] })],
    want: ['service-selector-no-match warning Service/s spec.selector'],
  },
  {
    name: 'a workload in another namespace does not count',
    objs: [workload('web', { ns: 'other' }), service('s', { selector: { app: 'web' }, ports: [{ port: 80 }] })],
    want: ['service-selector-no-match warning Service/s spec.selector'],
  },
  { name: 'selectorless Service is skipped', objs: [service('s', { ports: [{ port: 80 }] })], want: [] },
  { name: 'ExternalName Service is skipped', objs: [service('s', { type: 'ExternalName', externalName: 'x.example', selector: { app: 'x' } })], want: [] },
  // service-target-port: named
  {
    name: 'named targetPort declared by the container: nothing',
    objs: [web([{ name: 'http', containerPort: 8080 }]), service('s', { selector: { app: 'web' }, ports: [{ name: 'web', port: 80, targetPort: 'http' }] })],
    want: [],
  },
  {
    name: 'named targetPort no container declares is an error',
    objs: [web([{ name: 'metrics', containerPort: 9090 }]), service('s', { selector: { app: 'web' }, ports: [{ name: 'web', port: 80, targetPort: 'http' }] })],
    want: ['service-target-port error Service/s spec.ports.0.targetPort'],
  },
  {
    name: 'named targetPort with no declared ports at all is an error',
    objs: [web(), service('s', { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http' }] })],
    want: ['service-target-port error Service/s spec.ports.0.targetPort'],
  },
  {
    name: 'named targetPort declared with another protocol is an error',
    objs: [web([{ name: 'dns', containerPort: 53, protocol: 'UDP' }]), service('s', { selector: { app: 'web' }, ports: [{ port: 53, targetPort: 'dns' }] })],
    want: ['service-target-port error Service/s spec.ports.0.targetPort'],
  },
  {
    name: 'named targetPort on a sidecar (restartable init container) counts',
    objs: [
      workload('web', { pod: { initContainers: [{ name: 'proxy', image: 'envoy:1', restartPolicy: 'Always', ports: [{ name: 'http', containerPort: 15001 }] }] } }),
      service('s', { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http' }] }),
    ],
    want: [],
  },
  // service-target-port: numeric
  {
    name: 'numeric targetPort among declared ports: nothing',
    objs: [web([{ containerPort: 9090 }, { containerPort: 8080 }]), service('s', { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] })],
    want: [],
  },
  {
    name: 'numeric targetPort not among declared ports is a warning',
    objs: [web([{ name: 'http', containerPort: 8000 }]), service('s', { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8081 }] })],
    want: ['service-target-port warning Service/s spec.ports.0.targetPort'],
  },
  {
    name: 'numeric targetPort not declared but used by a probe is only info',
    objs: [web([{ name: 'metrics', containerPort: 9090 }]), service('s', { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] })],
    want: ['service-target-port info Service/s spec.ports.0.targetPort'],
  },
  {
    name: 'numeric targetPort with no declared ports (probe on it) is only info',
    objs: [web(), service('s', { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] })],
    want: ['service-target-port info Service/s spec.ports.0.targetPort'],
  },
  {
    name: 'numeric targetPort with no declared ports and no probe on it is only info',
    objs: [web(), service('s', { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 9000 }] })],
    want: ['service-target-port info Service/s spec.ports.0.targetPort'],
  },
  {
    name: 'no targetPort means port: checked against declared ports, pointing at port',
    objs: [web([{ containerPort: 8080 }]), service('s', { selector: { app: 'web' }, ports: [{ port: 80 }] })],
    want: ['service-target-port warning Service/s spec.ports.0.port'],
  },
  {
    name: 'each Service port is judged on its own',
    objs: [
      web([{ name: 'http', containerPort: 8080 }]),
      service('s', { selector: { app: 'web' }, ports: [{ name: 'a', port: 80, targetPort: 'http' }, { name: 'b', port: 81, targetPort: 'grpc' }, { name: 'c', port: 82, targetPort: 8080 }] }),
    ],
    want: ['service-target-port error Service/s spec.ports.1.targetPort'],
  },
];

describe('service checks', () => {
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(brief(runChecks(SERVICE_CHECKS, c.objs)), c.want);
    });
  }

  it('the targetPort error names the port, the workloads and what they declare', () => {
    const objs = [
      web([{ name: 'metrics', containerPort: 9090 }]),
      workload('web2', { labels: { app: 'web' }, containers: [{ name: 'c', image: 'x:1', ports: [{ name: 'http', containerPort: 8080 }] }] }),
      service('s', { selector: { app: 'web' }, ports: [{ name: 'web', port: 80, targetPort: 'http' }] }),
    ];
    const [f, ...rest] = runChecks([serviceTargetPort], objs);
    assert.equal(rest.length, 0);
    assert.equal(f.severity, 'error');
    assert.match(f.message, /port 'web' \(80\) targets port name 'http'\/TCP/);
    assert.match(f.message, /Deployment\/web \(declares metrics=9090\/TCP\)/);
    assert.doesNotMatch(f.message, /web2/, 'the workload that declares the name is not blamed');
    assert.match(f.message, /add a containerPort named 'http'/);
  });

  it('the numeric warning lists the declared ports', () => {
    const [f] = runChecks([serviceTargetPort], [web([{ name: 'http', containerPort: 8000 }]), service('s', { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8081 }] })]);
    assert.match(f.message, /targets 8081\/TCP, which Deployment\/web \(declares http=8000\/TCP\) does not declare/);
  });

  it('the info messages say why it is only a hint', () => {
    const svc = (tp: number): KObject => service('s', { selector: { app: 'web' }, ports: [{ port: 80, targetPort: tp }] });
    assert.match(runChecks([serviceTargetPort], [web(), svc(8080)])[0].message, /which the probes of Deployment\/web use but its containers do not declare; declare containerPort 8080/);
    assert.match(runChecks([serviceTargetPort], [web(), svc(9000)])[0].message, /Deployment\/web declares no container ports; declare containerPort 9000/);
  });

  it('admission mode keeps errors and warnings but drops the info hints', () => {
    const objs = [
      web([{ name: 'http', containerPort: 8000 }]),
      service('s', { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'web' }, { port: 81, targetPort: 8081 }, { port: 82, targetPort: 8080 }] }),
    ];
    assert.deepEqual(brief(runChecks(SERVICE_CHECKS, objs, 'admission')), [
      'service-target-port error Service/s spec.ports.0.targetPort',
      'service-target-port warning Service/s spec.ports.1.targetPort',
    ]);
    assert.equal(runChecks(SERVICE_CHECKS, objs, 'cli').length, 3);
  });

  it('selector message says which labels were looked for', () => {
    const [f] = runChecks([serviceSelectorNoMatch], [service('s', { selector: { app: 'x', tier: 'y' } })]);
    assert.match(f.message, /selector app=x,tier=y matches no workload in namespace default/);
  });

  it('malformed Services never throw', () => {
    const bad: KObject[] = [
      { kind: 'Service' },
      { kind: 'Service', spec: 'x' },
      { kind: 'Service', spec: { selector: { app: 'web' }, ports: 'nope' } },
      { kind: 'Service', spec: { selector: { app: 'web' }, ports: [null, 3, { targetPort: {} }] } },
      web(),
    ];
    assert.doesNotThrow(() => runChecks(SERVICE_CHECKS, bad));
  });
});
