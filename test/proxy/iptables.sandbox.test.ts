// Issue 6 acceptance in iptables mode (the mode the article describes): the traffic paths.
import { proxySuite } from './suite.js';

proxySuite('iptables', ['spread', 'affinity', 'udp', 'noendpoints', 'local']);
