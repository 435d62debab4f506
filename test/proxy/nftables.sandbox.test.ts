// Issue 6 acceptance in the default mode, nftables: every part (see suite.ts).
import { proxySuite } from './suite.js';

proxySuite('nftables', ['spread', 'affinity', 'types', 'udp', 'selectorless', 'noendpoints', 'rolling', 'local', 'insight']);
