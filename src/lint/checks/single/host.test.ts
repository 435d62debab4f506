import { describe } from 'node:test';
import { HOST_CHECKS } from './host.js';
import { assertWellFormed, deployment, runCorpus, type Case } from './testutil.js';

const S = ['spec', 'template', 'spec'];
const WEB = `      - name: web
        image: nginx:1.27.3
`;
const pod = (spec: string): string => `apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
${spec}  containers:
  - name: web
    image: nginx:1.27.3
`;

const cases: Case[] = [
  {
    check: 'host-network',
    good: deployment(WEB, { podSpec: '      hostNetwork: false\n' }),
    bad: deployment(WEB, { podSpec: '      hostNetwork: true\n' }),
    expect: [{ path: [...S, 'hostNetwork'] }],
  },
  {
    check: 'host-pid',
    good: pod('  hostPID: false\n'),
    bad: pod('  hostPID: true\n'),
    expect: [{ path: ['spec', 'hostPID'] }],
  },
  {
    check: 'host-ipc',
    good: pod(''),
    bad: pod('  hostIPC: true\n'),
    expect: [{ path: ['spec', 'hostIPC'] }],
  },
  {
    check: 'sensitive-host-mounts',
    good: pod('  volumes:\n  - { name: data, hostPath: { path: /var/lib/app } }\n  - { name: tmp, emptyDir: {} }\n'),
    bad: pod('  volumes:\n  - { name: etc, hostPath: { path: /etc/ } }\n  - { name: ok, hostPath: { path: /srv } }\n  - { name: sock, hostPath: { path: /var/run/docker.sock } }\n'),
    expect: [
      { path: ['spec', 'volumes', 0, 'hostPath', 'path'], message: 'volume etc: mounts the host path /etc/' },
      { path: ['spec', 'volumes', 2, 'hostPath', 'path'], message: 'docker.sock' },
    ],
  },
  {
    check: 'sensitive-host-mounts',
    name: 'the directories holding the runtime socket or kubelet credentials',
    good: pod('  volumes:\n  - { name: logs, hostPath: { path: /var/log } }\n  - { name: lib, hostPath: { path: /var/lib/app/ } }\n'),
    bad: pod('  volumes:\n  - { name: run, hostPath: { path: /var/run } }\n  - { name: kubelet, hostPath: { path: /var/lib/kubelet/ } }\n  - { name: dots, hostPath: { path: /srv/../etc } }\n'),
    expect: [
      { path: ['spec', 'volumes', 0, 'hostPath', 'path'], message: '/var/run' },
      { path: ['spec', 'volumes', 1, 'hostPath', 'path'], message: '/var/lib/kubelet/' },
      { path: ['spec', 'volumes', 2, 'hostPath', 'path'], message: '/srv/../etc' },
    ],
  },
  {
    check: 'unsafe-sysctls',
    name: 'slash-separated names',
    good: pod('  securityContext:\n    sysctls: [{ name: net/ipv4/ip_local_port_range, value: "1024 65000" }]\n'),
    bad: pod('  securityContext:\n    sysctls: [{ name: net/core/somaxconn, value: "1024" }]\n'),
    expect: [{ path: ['spec', 'securityContext', 'sysctls', 0, 'name'], message: 'net/core/somaxconn' }],
  },
  {
    check: 'unsafe-sysctls',
    good: pod('  securityContext:\n    sysctls: [{ name: net.ipv4.ip_local_port_range, value: "1024 65000" }, { name: kernel.shm_rmid_forced, value: "1" }]\n'),
    bad: pod('  securityContext:\n    sysctls: [{ name: net.ipv4.tcp_syncookies, value: "1" }, { name: net.core.somaxconn, value: "1024" }, { name: kernel.msgmax, value: "65536" }]\n'),
    expect: [
      { path: ['spec', 'securityContext', 'sysctls', 1, 'name'], message: 'net.core.somaxconn' },
      { path: ['spec', 'securityContext', 'sysctls', 2, 'name'], message: 'kernel.msgmax' },
    ],
  },
  {
    check: 'deprecated-service-account-field',
    good: deployment(WEB, { podSpec: '      serviceAccountName: app\n' }),
    bad: deployment(WEB, { podSpec: '      serviceAccount: app\n' }),
    expect: [{ path: [...S, 'serviceAccount'], message: 'rename it to serviceAccountName: app' }],
  },
  {
    check: 'deprecated-service-account-field',
    name: 'mismatch',
    good: pod(''),
    bad: pod('  serviceAccount: old\n  serviceAccountName: new\n'),
    expect: [{ path: ['spec', 'serviceAccount'], severity: 'warning', message: 'differs' }],
  },
  {
    check: 'host-port',
    good: pod('').replace('image: nginx:1.27.3', 'image: nginx:1.27.3\n    ports: [{ containerPort: 80 }]'),
    bad: pod('').replace('image: nginx:1.27.3', 'image: nginx:1.27.3\n    ports: [{ containerPort: 80, hostPort: 8080 }]'),
    expect: [{ path: ['spec', 'containers', 0, 'ports', 0, 'hostPort'], container: 'web', message: 'hostPort 8080' }],
  },
];

describe('host checks', () => {
  assertWellFormed(HOST_CHECKS);
  runCorpus(HOST_CHECKS, cases);
});
