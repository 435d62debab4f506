// Issue 8 acceptance 7: the same suite with `--ingress-backend nginx` (Debian's nginx).
import { spawnSync } from 'node:child_process';
import { ingressSuite } from './suite.js';

const HAS_NGINX = spawnSync('nginx', ['-v'], { stdio: 'ignore' }).status === 0;
ingressSuite({ backend: 'nginx', skip: HAS_NGINX ? false : 'nginx is not installed' });
