/**
 * The kubelite command line. `kubelite up` runs a cluster in the foreground.
 */
import { parseArgs } from 'node:util';
import { availableParallelism } from 'node:os';
import { up, DEFAULT_LB_POOL } from './up.js';
import { PROXY_MODES, type ProxyMode } from '../proxy/modes.js';
import { LockError } from './lock.js';
import { backupCommand } from './backup.js';
import { restoreCommand } from './restore.js';
import { imageMapCommand } from '../node/runtime/images.js';
import { isLintAdmissionMode } from '../apiserver/admission/lint.js';

const USAGE = `usage: kubelite <command> [flags]

commands:
  up        run a cluster in the foreground
            --data-dir DIR        state, PKI and kubeconfig (default ./.kubelite)
            --listen HOST:PORT    API server address (default 127.0.0.1:6443)
            --store URL           memory://, sqlite://PATH (default sqlite://DIR/state.db),
                                  etcd://HOST:PORT[,HOST:PORT...][?prefix=P&ca=F&cert=F&key=F]
            --service-cidr CIDR   ClusterIP range (default 10.96.0.0/12)
            --disable-agent       run no node agent (control plane only)
            --node-name NAME      this node's name (default: the hostname)
            --pod-network MODE    auto | netns (a network namespace per pod; root) |
                                  host (127.244.0.x addresses, no root) (default auto)
            --pod-cidr CIDR       pod addresses in netns mode (default 10.244.0.0/24)
            --cluster-dns IP[,IP] nameservers in pods' resolv.conf (default 10.96.0.10)
            --cluster-domain D    cluster DNS zone (default cluster.local)
            --proxy-mode MODE     service proxy: auto | nftables | iptables | userspace
                                  (auto: nftables with the netns pod network, else userspace;
                                  ipvs is refused: this kernel has no ip_vs)
            --disable-proxy       run no service proxy on the node
            --lb-pool CIDR        addresses for LoadBalancer Services (default 10.250.0.0/24;
                                  also A.B.C.D-A.B.C.E or a comma list; '' disables)
            --disable-dns         run no cluster DNS on the node (kube-dns, 10th service IP)
            --dns-upstream IP[:PORT][,...]  resolvers for names outside the cluster
                                  (default: the nameservers in /etc/resolv.conf)
            --disable-ingress     run no ingress controller on the node
            --ingress-backend B   ingress data plane: builtin (default) | nginx (Debian's nginx)
            --ingress-workers N   built-in proxy worker processes: auto (default: one per
                                  CPU, like nginx's worker_processes) | 0 (in kubelite's own
                                  process) | a number
            --lint-admission M    lint user writes: warn (default: findings as kubectl
                                  warnings) | deny (422 Invalid) | off
  backup    write a consistent snapshot of every object (safe while the cluster serves)
            --out FILE            the backup file (gzip'd JSON lines, mode 0600)
            --kubeconfig PATH     cluster to read (default DIR/kubeconfig)
            --data-dir DIR        cluster data dir, to find its kubeconfig (default ./.kubelite)
  restore   restore FILE into a stopped cluster's (empty) store
            --store URL           target store (default sqlite://DIR/state.db)
            --data-dir DIR        cluster data dir, locked while restoring (default ./.kubelite)
            --force               replace the contents of a non-empty store
  image     image mappings for the node agent (DIR/images.yaml)
            [--data-dir DIR] map REF --builtin NAME     run a built-in (kubelite/demo-web, agnhost, shell)
            [--data-dir DIR] map REF --command CMD ...  run a host command
  lint      [PATH...] [-k DIR] check manifests against best practices
            --format human|json|sarif|junit, --fail-on error|warning|info, --enable ID,
            --disable ID, --config FILE, --list (see kubelite lint --help)
  proxy     trace --from POD|IP --to IP:PORT  follow one packet through the proxy's rules
            (see kubelite proxy help)
  version   print the version
`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(USAGE);
    return cmd ? 0 : 2;
  }
  if (cmd === 'version') {
    process.stdout.write('kubelite 0.1.0 (Kubernetes v1.32 API)\n');
    return 0;
  }
  if (cmd === 'backup') return backupCommand(rest);
  if (cmd === 'restore') return restoreCommand(rest);
  if (cmd === 'lint') return (await import('./lint.js')).lintCommand(rest);
  if (cmd === 'proxy') return (await import('./proxy.js')).proxyCommand(rest);
  if (cmd === 'image') {
    const withDir = rest[0] === '--data-dir';
    return imageMapCommand(withDir ? rest.slice(2) : rest, { dataDir: withDir ? (rest[1] ?? '') : './.kubelite' });
  }
  if (cmd !== 'up') {
    process.stderr.write(`kubelite: unknown command ${JSON.stringify(cmd)}\n${USAGE}`);
    return 2;
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        'data-dir': { type: 'string', default: './.kubelite' },
        listen: { type: 'string', default: '127.0.0.1:6443' },
        store: { type: 'string' },
        'service-cidr': { type: 'string', default: '10.96.0.0/12' },
        'node-port-range': { type: 'string', default: '30000-32767' },
        'disable-agent': { type: 'boolean', default: false },
        'node-name': { type: 'string' },
        'pod-network': { type: 'string', default: 'auto' },
        'pod-cidr': { type: 'string', default: '10.244.0.0/24' },
        'cluster-dns': { type: 'string', default: '10.96.0.10' },
        'cluster-domain': { type: 'string', default: 'cluster.local' },
        'proxy-mode': { type: 'string', default: 'auto' },
        'disable-proxy': { type: 'boolean', default: false },
        'lb-pool': { type: 'string', default: DEFAULT_LB_POOL },
        'disable-dns': { type: 'boolean', default: false },
        'dns-upstream': { type: 'string' },
        'disable-ingress': { type: 'boolean', default: false },
        'ingress-backend': { type: 'string', default: 'builtin' },
        'ingress-workers': { type: 'string', default: 'auto' },
        'lint-admission': { type: 'string', default: 'warn' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`kubelite up: ${(err as Error).message}\n`);
    return 2;
  }
  const podNetwork = values['pod-network'];
  if (podNetwork !== 'auto' && podNetwork !== 'netns' && podNetwork !== 'host') {
    process.stderr.write(`kubelite up: --pod-network must be auto, netns or host (got ${JSON.stringify(podNetwork)})\n`);
    return 2;
  }
  const proxyMode = values['proxy-mode'] as ProxyMode;
  if (!PROXY_MODES.includes(proxyMode)) {
    process.stderr.write(`kubelite up: --proxy-mode must be one of ${PROXY_MODES.join(', ')} (got ${JSON.stringify(proxyMode)})\n`);
    return 2;
  }
  const dnsUpstreams = values['dns-upstream'] === undefined ? undefined : values['dns-upstream'].split(',').filter(Boolean);
  if (dnsUpstreams) {
    const { parseUpstream } = await import('../dns/forward/index.js');
    try {
      dnsUpstreams.forEach(parseUpstream);
    } catch (err) {
      process.stderr.write(`kubelite up: --dns-upstream: ${(err as Error).message} (want IP, IP:PORT or [IPv6]:PORT, comma-separated)\n`);
      return 2;
    }
  }
  const ingressBackend = values['ingress-backend'];
  if (ingressBackend !== 'builtin' && ingressBackend !== 'nginx') {
    process.stderr.write(`kubelite up: --ingress-backend must be builtin or nginx (got ${JSON.stringify(ingressBackend)})\n`);
    return 2;
  }
  const workersFlag = values['ingress-workers']!;
  const ingressWorkers = workersFlag === 'auto' ? availableParallelism() : /^\d{1,3}$/.test(workersFlag) ? Number(workersFlag) : NaN;
  if (!Number.isInteger(ingressWorkers) || ingressWorkers > 256) {
    process.stderr.write(`kubelite up: --ingress-workers must be auto or a number from 0 to 256 (got ${JSON.stringify(workersFlag)})\n`);
    return 2;
  }
  const lintAdmission = values['lint-admission'];
  if (!isLintAdmissionMode(lintAdmission)) {
    process.stderr.write(`kubelite up: --lint-admission must be warn, deny or off (got ${JSON.stringify(lintAdmission)})\n`);
    return 2;
  }
  const started = performance.now();
  let cluster;
  try {
    cluster = await up({
      dataDir: values['data-dir']!,
      listen: values.listen!,
      store: values.store,
      serviceCIDR: values['service-cidr']!,
      nodePortRange: values['node-port-range'],
      lintAdmission,
      node: values['disable-agent']
        ? undefined
        : {
            nodeName: values['node-name'],
            podNetwork,
            podCIDR: values['pod-cidr'],
            clusterDNS: values['cluster-dns']!.split(',').filter(Boolean),
            clusterDomain: values['cluster-domain'],
            // Sandboxed tests name pod namespaces after their sandbox so its cleanup finds them.
            netnsPrefix: process.env.SANDBOX_NETNS ? `${process.env.SANDBOX_NETNS}-p` : undefined,
          },
      proxy: values['disable-agent'] || values['disable-proxy'] ? undefined : { mode: proxyMode },
      lbPool: values['lb-pool'],
      dns: values['disable-agent'] || values['disable-dns']
        ? undefined
        : { upstreams: dnsUpstreams },
      ingress: values['disable-agent'] || values['disable-ingress'] ? undefined : { dataPlane: ingressBackend, workers: ingressWorkers },
    });
  } catch (err) {
    if (err instanceof LockError) {
      process.stderr.write(`kubelite up: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`kubelite up: ${(err as Error).message}\n`);
    return 1;
  }
  const ms = Math.round(performance.now() - started);
  // Handlers go in before the ready line: a client that signals as soon as it reads the line
  // must find them (otherwise SIGINT's default action kills the process uncleanly).
  const done = new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (sig: string): void => {
      if (stopping) return;
      stopping = true;
      process.stdout.write(`kubelite: ${sig} received, shutting down\n`);
      cluster.stop().then(resolve, (err) => {
        process.stderr.write(`kubelite: error during shutdown: ${(err as Error).message}\n`);
        resolve();
      });
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
  process.stdout.write(`kubelite: API server at ${cluster.url} (store ready, ${ms} ms)\n`);
  process.stdout.write(`kubelite ready: export KUBECONFIG=${cluster.kubeconfig}\n`);
  await done;
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`kubelite: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
