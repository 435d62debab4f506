// Issue 6 acceptance in userspace mode (listeners in kubelite, nft redirects as root). Like
// kube-proxy's userspace mode it cannot preserve client IPs, so part 8 does not apply.
import { proxySuite } from './suite.js';

proxySuite('userspace', ['spread', 'affinity', 'udp', 'noendpoints']);
