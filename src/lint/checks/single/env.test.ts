import { describe } from 'node:test';
import { ENV_CHECKS } from './env.js';
import { assertWellFormed, deployment, runCorpus, type Case } from './testutil.js';

const C = ['spec', 'template', 'spec', 'containers'];

const cases: Case[] = [
  {
    check: 'env-var-secret',
    good: deployment(`      - name: web
        image: nginx:1.27.3
        env:
        - name: DB_PASSWORD
          valueFrom: { secretKeyRef: { name: db, key: password } }
        - { name: LOG_LEVEL, value: debug }
        - { name: API_TOKEN, value: "" }
`),
    bad: deployment(`      - name: web
        image: nginx:1.27.3
        env:
        - { name: LOG_LEVEL, value: debug }
        - { name: DB_PASSWORD, value: hunter2 }
        - { name: stripe_api_key, value: sk_live_123 }
        - { name: GITHUB_TOKEN, value: ghp_abc }
`),
    expect: [
      { path: [...C, 0, 'env', 1, 'value'], container: 'web', message: 'env DB_PASSWORD holds a literal value' },
      { path: [...C, 0, 'env', 2, 'value'], container: 'web', message: 'stripe_api_key' },
      { path: [...C, 0, 'env', 3, 'value'], container: 'web', message: 'secretKeyRef' },
    ],
  },
  {
    check: 'env-var-duplicate',
    good: deployment(`      - name: web
        image: nginx:1.27.3
        env: [{ name: A, value: "1" }, { name: B, value: "2" }]
      - name: side
        image: nginx:1.27.3
        env: [{ name: A, value: "1" }]
`),
    bad: deployment(`      - name: web
        image: nginx:1.27.3
        env: [{ name: A, value: "1" }, { name: B, value: "2" }, { name: A, value: "3" }]
`),
    expect: [{ path: [...C, 0, 'env', 2, 'name'], container: 'web', message: 'first at env[0]' }],
  },
  {
    check: 'configmap-secret-content',
    good: 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\ndata: { LOG_LEVEL: debug, DB_HOST: db, API_TOKEN: "" }\n',
    bad: 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\ndata: { LOG_LEVEL: debug, db_password: hunter2 }\n',
    expect: [{ path: ['data', 'db_password'], message: 'move it to a Secret' }],
  },
];

describe('env checks', () => {
  assertWellFormed(ENV_CHECKS);
  runCorpus(ENV_CHECKS, cases);
});
