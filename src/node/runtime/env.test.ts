import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../api/types.js';
import { containerEnv, envList, expandVars, isEnvVarName, serviceEnvVars, servicesForPod, type ContainerEnvInput } from './env.js';

function svc(ns: string, name: string, clusterIP: string, ports: Record<string, unknown>[]): KObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { namespace: ns, name }, spec: { clusterIP, ports } };
}
const b64 = (s: string): string => Buffer.from(s).toString('base64');

const MASTER = svc('default', 'kubernetes', '10.96.0.1', [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }]);
const MASTER_ENV: Record<string, string> = {
  KUBERNETES_SERVICE_HOST: '10.96.0.1',
  KUBERNETES_SERVICE_PORT: '443',
  KUBERNETES_SERVICE_PORT_HTTPS: '443',
  KUBERNETES_PORT: 'tcp://10.96.0.1:443',
  KUBERNETES_PORT_443_TCP: 'tcp://10.96.0.1:443',
  KUBERNETES_PORT_443_TCP_PROTO: 'tcp',
  KUBERNETES_PORT_443_TCP_PORT: '443',
  KUBERNETES_PORT_443_TCP_ADDR: '10.96.0.1',
};

const CMS: Record<string, KObject> = {
  'ns1/cfg': { metadata: { namespace: 'ns1', name: 'cfg' }, data: { A: 'a', B: 'b', 'bad key': 'x', '1num': 'y', 'dotted.key': 'z' } },
};
const SECRETS: Record<string, KObject> = {
  'ns1/sec': { metadata: { namespace: 'ns1', name: 'sec' }, data: { password: b64('s3cr3t'), A: b64('from-secret') } },
};

function pod(container: Record<string, unknown>, extra: { spec?: Record<string, unknown>; meta?: Record<string, unknown> } = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace: 'ns1', name: 'p1', uid: 'uid-1', labels: { app: 'x', tier: 'web' }, annotations: { note: 'hi "there"' }, ...extra.meta },
    spec: { nodeName: 'node-a', serviceAccountName: 'sa1', containers: [container], ...extra.spec },
  };
}

function run(container: Record<string, unknown>, opts: Partial<ContainerEnvInput> & { spec?: Record<string, unknown> } = {}): ReturnType<typeof containerEnv> {
  const { spec, ...rest } = opts;
  return containerEnv({
    pod: pod(container, { spec }),
    container,
    services: [MASTER],
    configMaps: (ns, name) => CMS[`${ns}/${name}`],
    secrets: (ns, name) => SECRETS[`${ns}/${name}`],
    hostIP: '192.168.1.10',
    podIP: '10.244.0.5',
    ...rest,
  });
}

/** Only the non-service part of an environment. */
function own(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('KUBERNETES_')));
}

describe('serviceEnvVars', () => {
  const cases: { name: string; services: KObject[]; want: Record<string, string> }[] = [
    {
      name: 'my-service with one named port 80->8080 TCP',
      services: [svc('ns1', 'my-service', '10.96.12.34', [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }])],
      want: {
        MY_SERVICE_SERVICE_HOST: '10.96.12.34',
        MY_SERVICE_SERVICE_PORT: '80',
        MY_SERVICE_SERVICE_PORT_HTTP: '80',
        MY_SERVICE_PORT: 'tcp://10.96.12.34:80',
        MY_SERVICE_PORT_80_TCP: 'tcp://10.96.12.34:80',
        MY_SERVICE_PORT_80_TCP_PROTO: 'tcp',
        MY_SERVICE_PORT_80_TCP_PORT: '80',
        MY_SERVICE_PORT_80_TCP_ADDR: '10.96.12.34',
      },
    },
    {
      name: 'my-service with one unnamed port (the seed sample)',
      services: [svc('ns1', 'my-service', '10.96.12.34', [{ port: 80, targetPort: 8080, protocol: 'TCP' }])],
      want: {
        MY_SERVICE_SERVICE_HOST: '10.96.12.34',
        MY_SERVICE_SERVICE_PORT: '80',
        MY_SERVICE_PORT: 'tcp://10.96.12.34:80',
        MY_SERVICE_PORT_80_TCP: 'tcp://10.96.12.34:80',
        MY_SERVICE_PORT_80_TCP_PROTO: 'tcp',
        MY_SERVICE_PORT_80_TCP_PORT: '80',
        MY_SERVICE_PORT_80_TCP_ADDR: '10.96.12.34',
      },
    },
    {
      name: 'two ports: plain vars use the first; UDP; protocol defaults to TCP',
      services: [svc('ns1', 'dns', '10.0.0.10', [{ name: 'dns-udp', port: 53, protocol: 'UDP' }, { name: 'metrics', port: 9153 }])],
      want: {
        DNS_SERVICE_HOST: '10.0.0.10',
        DNS_SERVICE_PORT: '53',
        DNS_SERVICE_PORT_DNS_UDP: '53',
        DNS_SERVICE_PORT_METRICS: '9153',
        DNS_PORT: 'udp://10.0.0.10:53',
        DNS_PORT_53_UDP: 'udp://10.0.0.10:53',
        DNS_PORT_53_UDP_PROTO: 'udp',
        DNS_PORT_53_UDP_PORT: '53',
        DNS_PORT_53_UDP_ADDR: '10.0.0.10',
        DNS_PORT_9153_TCP: 'tcp://10.0.0.10:9153',
        DNS_PORT_9153_TCP_PROTO: 'tcp',
        DNS_PORT_9153_TCP_PORT: '9153',
        DNS_PORT_9153_TCP_ADDR: '10.0.0.10',
      },
    },
    {
      name: 'IPv6 cluster IP is bracketed in URLs',
      services: [svc('ns1', 'v6', 'fd00::10', [{ port: 80, protocol: 'TCP' }])],
      want: {
        V6_SERVICE_HOST: 'fd00::10',
        V6_SERVICE_PORT: '80',
        V6_PORT: 'tcp://[fd00::10]:80',
        V6_PORT_80_TCP: 'tcp://[fd00::10]:80',
        V6_PORT_80_TCP_PROTO: 'tcp',
        V6_PORT_80_TCP_PORT: '80',
        V6_PORT_80_TCP_ADDR: 'fd00::10',
      },
    },
    {
      name: 'a port name starting with a digit gets a leading underscore',
      services: [svc('ns1', 'web', '10.0.0.7', [{ name: 'http', port: 80 }, { name: '8443-tls', port: 8443 }])],
      want: {
        WEB_SERVICE_HOST: '10.0.0.7',
        WEB_SERVICE_PORT: '80',
        WEB_SERVICE_PORT_HTTP: '80',
        WEB_SERVICE_PORT__8443_TLS: '8443',
        WEB_PORT: 'tcp://10.0.0.7:80',
        WEB_PORT_80_TCP: 'tcp://10.0.0.7:80',
        WEB_PORT_80_TCP_PROTO: 'tcp',
        WEB_PORT_80_TCP_PORT: '80',
        WEB_PORT_80_TCP_ADDR: '10.0.0.7',
        WEB_PORT_8443_TCP: 'tcp://10.0.0.7:8443',
        WEB_PORT_8443_TCP_PROTO: 'tcp',
        WEB_PORT_8443_TCP_PORT: '8443',
        WEB_PORT_8443_TCP_ADDR: '10.0.0.7',
      },
    },
    { name: 'headless and IP-less services give nothing', services: [svc('ns1', 'h', 'None', [{ port: 80 }]), svc('ns1', 'e', '', [{ port: 80 }])], want: {} },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(serviceEnvVars(c.services), c.want));
});

describe('servicesForPod', () => {
  const other = svc('ns2', 'elsewhere', '10.0.0.2', [{ port: 1 }]);
  const local = svc('ns1', 'local', '10.0.0.3', [{ port: 1 }]);
  const shadow = svc('ns1', 'kubernetes', '10.0.0.4', [{ port: 1 }]);
  const cases: { name: string; ns: string; links: boolean; services: KObject[]; want: string[] }[] = [
    { name: 'master + own namespace, never other namespaces', ns: 'ns1', links: true, services: [MASTER, other, local], want: ['default/kubernetes', 'ns1/local'] },
    { name: 'links disabled: master only', ns: 'ns1', links: false, services: [MASTER, local], want: ['default/kubernetes'] },
    { name: 'a same-named service in the pod namespace replaces the master', ns: 'ns1', links: true, services: [shadow, MASTER], want: ['ns1/kubernetes'] },
    { name: 'master listed after the namespace one still loses', ns: 'ns1', links: true, services: [MASTER, shadow], want: ['ns1/kubernetes'] },
    { name: 'in default with links disabled the master is still there', ns: 'default', links: false, services: [MASTER], want: ['default/kubernetes'] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = servicesForPod(c.services, { namespace: c.ns, enableServiceLinks: c.links }).map((s) => `${s.metadata.namespace}/${s.metadata.name}`);
      assert.deepEqual(got, c.want);
    });
  }
});

describe('expandVars', () => {
  const vars: Record<string, string> = { A: 'aa', B: 'bb', EMPTY: '' };
  const cases: [string, string][] = [
    ['plain', 'plain'],
    ['$(A)', 'aa'],
    ['x-$(A)-$(B)-y', 'x-aa-bb-y'],
    ['$(EMPTY)z', 'z'],
    ['$(MISSING)', '$(MISSING)'],
    ['$$(A)', '$(A)'],
    ['$$$(A)', '$aa'],
    ['$$', '$'],
    ['a$', 'a$'],
    ['$A', '$A'],
    ['$(A', '$(A'],
    ['$()', '$()'],
    ['$(A)$(B', 'aa$(B'],
  ];
  for (const [input, want] of cases) it(JSON.stringify(input), () => assert.equal(expandVars(input, (n) => vars[n]), want));
});

describe('isEnvVarName', () => {
  for (const [n, ok] of [['A', true], ['_a.b-c', true], ['1num', false], ['bad key', false], ['a=b', false], ['', false]] as const) {
    it(`${JSON.stringify(n)} → ${ok}`, () => assert.equal(isEnvVarName(n), ok));
  }
});

describe('containerEnv', () => {
  it('seed sample: my-service + kubernetes vars in the pod', () => {
    const c = { name: 'my-container', image: 'my-image:v1.0.0' };
    const r = run(c, { services: [MASTER, svc('ns1', 'my-service', '10.96.12.34', [{ port: 80, targetPort: 8080, protocol: 'TCP' }])] });
    assert.deepEqual(r.errors, []);
    assert.equal(Object.keys(r.env).length, 8 + 7);
    assert.equal(r.env.MY_SERVICE_SERVICE_HOST, '10.96.12.34');
    assert.equal(r.env.MY_SERVICE_PORT_80_TCP_ADDR, '10.96.12.34');
    for (const [k, v] of Object.entries(MASTER_ENV)) assert.equal(r.env[k], v, k);
  });

  it('enableServiceLinks: false keeps only the master service vars', () => {
    const r = run({ name: 'c' }, { spec: { enableServiceLinks: false }, services: [MASTER, svc('ns1', 'my-service', '10.96.12.34', [{ port: 80 }])] });
    assert.deepEqual(r.env, MASTER_ENV);
  });

  const cases: {
    name: string;
    container: Record<string, unknown>;
    want?: Record<string, string>;
    errors?: string[];
    warnings?: string[];
    opts?: Partial<ContainerEnvInput>;
  }[] = [
    { name: 'plain values', container: { env: [{ name: 'X', value: '1' }, { name: 'E' }] }, want: { X: '1', E: '' } },
    {
      name: 'expansion sees earlier env, envFrom and service vars, not later ones',
      container: {
        envFrom: [{ configMapRef: { name: 'cfg' } }],
        env: [
          { name: 'X', value: '1' },
          { name: 'Y', value: '$(X)-$(A)-$(KUBERNETES_SERVICE_HOST)-$(Z)' },
          { name: 'Z', value: 'late' },
        ],
      },
      want: { A: 'a', B: 'b', 'dotted.key': 'z', X: '1', Y: '1-a-10.96.0.1-$(Z)', Z: 'late' },
      warnings: ['Keys [1num, bad key] from the EnvFrom configMap ns1/cfg were skipped since they are considered invalid environment variable names.'],
    },
    {
      name: 'envFrom with prefix, secrets decoded, later source wins, env wins over envFrom',
      container: {
        envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'CM_' }, { configMapRef: { name: 'cfg' } }, { secretRef: { name: 'sec' } }],
        env: [{ name: 'B', value: 'from-env' }],
      },
      want: { CM_A: 'a', CM_B: 'b', 'CM_dotted.key': 'z', CM_1num: 'y', A: 'from-secret', B: 'from-env', 'dotted.key': 'z', password: 's3cr3t' },
      warnings: [
        'Keys [CM_bad key] from the EnvFrom configMap ns1/cfg were skipped since they are considered invalid environment variable names.',
        'Keys [1num, bad key] from the EnvFrom configMap ns1/cfg were skipped since they are considered invalid environment variable names.',
      ],
    },
    {
      name: 'env overrides a service variable',
      container: { env: [{ name: 'KUBERNETES_SERVICE_HOST', value: 'mine' }] },
      want: { KUBERNETES_SERVICE_HOST: 'mine' },
    },
    {
      name: 'missing envFrom sources: optional skipped, required reported',
      container: { envFrom: [{ configMapRef: { name: 'nope', optional: true } }, { secretRef: { name: 'gone' } }, { configMapRef: { name: 'nada' } }] },
      want: {},
      errors: ['secret "gone" not found', 'configmap "nada" not found'],
    },
    {
      name: 'fieldRef paths',
      container: {
        env: [
          ['NAME', 'metadata.name'],
          ['NS', 'metadata.namespace'],
          ['UID', 'metadata.uid'],
          ['APP', "metadata.labels['app']"],
          ['NOLABEL', "metadata.labels['none']"],
          ['NOTE', "metadata.annotations['note']"],
          ['LABELS', 'metadata.labels'],
          ['NODE', 'spec.nodeName'],
          ['SA', 'spec.serviceAccountName'],
          ['HOST', 'status.hostIP'],
          ['HOSTS', 'status.hostIPs'],
          ['PODIP', 'status.podIP'],
          ['PODIPS', 'status.podIPs'],
        ].map(([name, fieldPath]) => ({ name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } })),
      },
      opts: { podIPs: ['10.244.0.5', 'fd00::5'] },
      want: {
        NAME: 'p1',
        NS: 'ns1',
        UID: 'uid-1',
        APP: 'x',
        NOLABEL: '',
        NOTE: 'hi "there"',
        LABELS: 'app="x"\ntier="web"',
        NODE: 'node-a',
        SA: 'sa1',
        HOST: '192.168.1.10',
        HOSTS: '192.168.1.10',
        PODIP: '10.244.0.5',
        PODIPS: '10.244.0.5,fd00::5',
      },
    },
    {
      name: 'unsupported fieldRef is an error',
      container: { env: [{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'spec.bogus' } } }] },
      want: {},
      errors: ['unsupported fieldPath: spec.bogus'],
    },
    {
      name: 'a value is not taken from valueFrom and fieldRef values are not expanded',
      container: { env: [{ name: 'X', value: '$(KUBERNETES_SERVICE_PORT)' }, { name: 'Y', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['raw']" } } }] },
      want: { X: '443', Y: '' },
    },
    {
      name: 'resourceFieldRef: cpu rounds up, memory with divisor, defaults to node allocatable',
      container: {
        resources: { requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: '500m', memory: '128Mi' } },
        env: [
          { name: 'LCPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
          { name: 'LCPU_M', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '1m' } } },
          { name: 'RCPU_M', valueFrom: { resourceFieldRef: { resource: 'requests.cpu', divisor: '1m' } } },
          { name: 'LMEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory' } } },
          { name: 'LMEM_MI', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
          { name: 'RMEM_M', valueFrom: { resourceFieldRef: { resource: 'requests.memory', divisor: '1M' } } },
          { name: 'STORAGE', valueFrom: { resourceFieldRef: { resource: 'limits.ephemeral-storage', divisor: '1Gi' } } },
        ],
      },
      opts: { nodeAllocatable: { cpu: '4', memory: '8Gi', 'ephemeral-storage': '100Gi' } },
      want: { LCPU: '1', LCPU_M: '500', RCPU_M: '250', LMEM: '134217728', LMEM_MI: '128', RMEM_M: '68', STORAGE: '100' },
    },
    {
      name: 'resourceFieldRef without limits reads node allocatable',
      container: {
        env: [
          { name: 'LCPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
          { name: 'LMEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
          { name: 'RCPU', valueFrom: { resourceFieldRef: { resource: 'requests.cpu' } } },
        ],
      },
      opts: { nodeAllocatable: { cpu: '3500m', memory: '2Gi' } },
      want: { LCPU: '4', LMEM: '2048', RCPU: '0' },
    },
    {
      name: 'configMapKeyRef / secretKeyRef found, optional missing skipped',
      container: {
        env: [
          { name: 'CA', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'A' } } },
          { name: 'PW', valueFrom: { secretKeyRef: { name: 'sec', key: 'password' } } },
          { name: 'OPT1', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'nokey', optional: true } } },
          { name: 'OPT2', valueFrom: { secretKeyRef: { name: 'nosecret', key: 'k', optional: true } } },
        ],
      },
      want: { CA: 'a', PW: 's3cr3t' },
    },
    {
      name: 'missing required keys and objects are errors with kube messages',
      container: {
        env: [
          { name: 'K1', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'nokey' } } },
          { name: 'K2', valueFrom: { secretKeyRef: { name: 'sec', key: 'nokey' } } },
          { name: 'K3', valueFrom: { configMapKeyRef: { name: 'absent', key: 'k' } } },
          { name: 'K4', valueFrom: { secretKeyRef: { name: 'absent', key: 'k' } } },
        ],
      },
      want: {},
      errors: ["couldn't find key nokey in ConfigMap ns1/cfg", "couldn't find key nokey in Secret ns1/sec", 'configmap "absent" not found', 'secret "absent" not found'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = run(c.container, c.opts);
      const want = c.want ?? {};
      const got = own(r.env);
      if ('KUBERNETES_SERVICE_HOST' in want) got.KUBERNETES_SERVICE_HOST = r.env.KUBERNETES_SERVICE_HOST!;
      assert.deepEqual(got, want);
      assert.deepEqual(r.errors, c.errors ?? []);
      assert.deepEqual(r.warnings, c.warnings ?? []);
    });
  }

  it('nodeName falls back to the input when the pod is not bound yet', () => {
    const c = { name: 'c', env: [{ name: 'N', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }] };
    const p = pod(c, { spec: { nodeName: undefined } });
    const r = containerEnv({ pod: p, container: c, services: [], configMaps: () => undefined, secrets: () => undefined, nodeName: 'node-z' });
    assert.deepEqual(r.env, { N: 'node-z' });
  });

  it('resourceFieldRef containerName reads another container', () => {
    const other = { name: 'side', resources: { limits: { memory: '1Gi' } } };
    const c = { name: 'c', env: [{ name: 'M', valueFrom: { resourceFieldRef: { containerName: 'side', resource: 'limits.memory', divisor: '1Mi' } } }] };
    const p = pod(c, { spec: { containers: [c, other] } });
    const r = containerEnv({ pod: p, container: c, services: [], configMaps: () => undefined, secrets: () => undefined });
    assert.deepEqual(r.env, { M: '1024' });
  });

  it('envList gives sorted NAME=value entries', () => {
    assert.deepEqual(envList({ B: '2', A: '1=x' }), ['A=1=x', 'B=2']);
  });
});
