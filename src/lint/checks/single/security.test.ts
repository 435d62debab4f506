import { describe } from 'node:test';
import { SECURITY_CHECKS, highUidGid } from './security.js';
import { assertWellFormed, deployment, runCorpus, type Case } from './testutil.js';

const C = ['spec', 'template', 'spec', 'containers'];
const ALL = [...SECURITY_CHECKS, highUidGid];
const c = (sc: string, name = 'web'): string => `      - name: ${name}
        image: nginx:1.27.3
${sc}`;

const cases: Case[] = [
  {
    check: 'run-as-non-root',
    good: deployment(c('') + c('        securityContext: { runAsUser: 1000 }\n', 'side'), { podSpec: '      securityContext: { runAsNonRoot: true }\n' }),
    bad: deployment(
      c('') +
      c('        securityContext: { runAsUser: 0 }\n', 'side') +
      c('        securityContext: { runAsNonRoot: true, runAsUser: 0, runAsGroup: 0 }\n', 'third'),
    ),
    expect: [
      { path: [...C, 0], container: 'web', message: 'may run as root' },
      { path: [...C, 1, 'securityContext', 'runAsUser'], container: 'side', message: 'runs as root (runAsUser 0)' },
      { path: [...C, 2, 'securityContext', 'runAsGroup'], container: 'third', message: 'runAsGroup 0' },
      { path: [...C, 2, 'securityContext', 'runAsUser'], container: 'third', severity: 'error', message: 'cannot start' },
    ],
  },
  {
    check: 'privileged-container',
    good: deployment(c('        securityContext: { privileged: false }\n')),
    bad: deployment(c('        securityContext: { privileged: true }\n')),
    expect: [{ path: [...C, 0, 'securityContext', 'privileged'], container: 'web' }],
  },
  {
    check: 'privilege-escalation',
    good: deployment(c('        securityContext: { allowPrivilegeEscalation: false, capabilities: { add: [NET_BIND_SERVICE] } }\n')),
    bad: deployment(c('        securityContext: { allowPrivilegeEscalation: true }\n') + c('        securityContext: { capabilities: { add: [CHOWN, CAP_SYS_ADMIN] } }\n', 'side')),
    expect: [
      { path: [...C, 0, 'securityContext', 'allowPrivilegeEscalation'], container: 'web' },
      { path: [...C, 1, 'securityContext', 'capabilities', 'add', 1], container: 'side', message: 'SYS_ADMIN' },
    ],
  },
  {
    check: 'read-only-root-fs',
    good: deployment(c('        securityContext: { readOnlyRootFilesystem: true }\n')),
    bad: deployment(c('') + c('        securityContext: { readOnlyRootFilesystem: false }\n', 'side') + c('        securityContext: {}\n', 'third')),
    expect: [
      { path: [...C, 0], container: 'web' },
      { path: [...C, 1, 'securityContext', 'readOnlyRootFilesystem'], container: 'side' },
      { path: [...C, 2, 'securityContext'], container: 'third' },
    ],
  },
  {
    check: 'dangerous-capabilities',
    good: deployment(c('        securityContext: { capabilities: { add: [NET_BIND_SERVICE], drop: [ALL] } }\n')),
    bad: deployment(c('        securityContext: { capabilities: { add: [NET_BIND_SERVICE, NET_ADMIN, all] } }\n')),
    expect: [
      { path: [...C, 0, 'securityContext', 'capabilities', 'add', 1], container: 'web', message: 'NET_ADMIN' },
      { path: [...C, 0, 'securityContext', 'capabilities', 'add', 2], container: 'web', message: 'all' },
    ],
  },
  {
    check: 'drop-net-raw-capability',
    good: deployment(c('') + c('        securityContext: { capabilities: { drop: [NET_RAW] } }\n', 'side')),
    bad: deployment(c('        securityContext: { capabilities: { drop: [CHOWN] } }\n') + c('        securityContext: { capabilities: { add: [CHOWN] } }\n', 'side')),
    expect: [
      { path: [...C, 0, 'securityContext', 'capabilities', 'drop'], container: 'web' },
      { path: [...C, 1, 'securityContext', 'capabilities'], container: 'side' },
    ],
  },
  {
    check: 'ssh-port',
    good: deployment(c('        ports: [{ containerPort: 22, protocol: UDP }, { containerPort: 8080 }]\n')),
    bad: deployment(c('        ports: [{ containerPort: 8080 }, { containerPort: 22 }]\n')),
    expect: [{ path: [...C, 0, 'ports', 1, 'containerPort'], container: 'web' }],
  },
  {
    check: 'container-high-uid-gid',
    good: deployment(c('        securityContext: { runAsGroup: 20000 }\n'), { podSpec: '      securityContext: { runAsUser: 10001 }\n' }),
    bad: deployment(c('        securityContext: { runAsUser: 1000 }\n')),
    expect: [
      { path: [...C, 0, 'securityContext', 'runAsUser'], container: 'web', message: 'runAsUser is 1000' },
      { path: [...C, 0, 'securityContext'], container: 'web', message: 'runAsGroup is not set' },
    ],
  },
];

describe('security checks', () => {
  assertWellFormed(ALL);
  runCorpus(ALL, cases);
});
