// Issue 8 acceptance with the built-in data plane (see suite.ts).
import { ingressSuite } from './suite.js';

ingressSuite({ backend: 'builtin' });
