/**
 * Issue 6 acceptance, end to end, for one proxy mode: `kubelite up --pod-network netns
 * --proxy-mode <mode>` in a throwaway namespace, agnhost netexec backends, the real kubectl, real
 * traffic from the node, from a pod, and from an "outside" client namespace wired to the node.
 * Each mode's file picks the parts that mode supports (kube-proxy's userspace mode could not
 * preserve client IPs, for example).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NO_KUBECTL, until } from '../harness.js';
import { runCli, startCliCluster, type CliCluster } from '../node/cli-cluster.js';
import { CLIENT_IP, CLIENT_NODE_SIDE, connectTimed, curl, curlMany, makeClientNamespace, sh, udpRequest } from './net.js';

export type Part = 'spread' | 'affinity' | 'types' | 'udp' | 'selectorless' | 'noendpoints' | 'rolling' | 'local' | 'insight';

const SANDBOX = process.env.SANDBOX_NETNS;
const AGNHOST = 'registry.k8s.io/e2e-test-images/agnhost:2.52';

const WEB = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: netexec
        image: ${AGNHOST}
        args: [netexec, --http-port=8080, --udp-port=8081]
        ports: [{name: http, containerPort: 8080}, {name: udp, containerPort: 8081, protocol: UDP}]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
        lifecycle: {preStop: {exec: {command: [sleep, "2"]}}}
---
apiVersion: v1
kind: Pod
metadata: {name: client, labels: {app: client}}
spec:
  containers:
  - {name: netexec, image: ${AGNHOST}, args: [netexec, --http-port=8080, --udp-port=-1]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
`;

type Json = Record<string, any>;

export function proxySuite(mode: 'nftables' | 'iptables' | 'userspace', parts: Part[]): void {
  const skip = !SANDBOX ? 'needs root in a throwaway network namespace: npm test runs this file inside ../shared/tools/netns-sandbox' : NO_KUBECTL;
  const has = (p: Part): boolean => parts.includes(p);

  describe(`service proxy, ${mode} mode (issue 6)`, { skip }, () => {
    let dir: string;
    let k: CliCluster;
    let clientNs: string;
    let webPods: string[] = [];

    const kc = async (args: string[], input?: string): Promise<string> => {
      const r = await k.kubectl(args, input !== undefined ? { input } : {});
      assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const apply = (yaml: string): Promise<string> => kc(['apply', '-f', '-'], yaml);
    const svc = async (name: string): Promise<Json> => JSON.parse(await kc(['get', 'svc', name, '-o', 'json'])) as Json;
    const clusterIP = async (name: string): Promise<string> => (await svc(name)).spec.clusterIP as string;
    const readyPods = async (selector: string, n: number): Promise<Json[]> =>
      until(`${n} ready pods ${selector}`, async () => {
        const items = (JSON.parse(await kc(['get', 'pods', '-l', selector, '-o', 'json'])) as Json).items as Json[];
        const ready = items.filter((p) => !p.metadata.deletionTimestamp && (p.status.conditions ?? []).some((c: Json) => c.type === 'Ready' && c.status === 'True'));
        return ready.length === n && items.length === n ? ready : undefined;
      }, 90_000);
    /** Requests until every web pod answered (at most n): the set of answering pods. */
    const spread = (bodies: string[]): Set<string> => new Set(bodies.map((b) => b.trim()).filter((b) => b !== '' && b !== 'ERR'));
    /** Batches until one batch reached every web pod (at most 5 batches): the sorted answering pods of the last batch. */
    const allAnswer = async (batch: () => Promise<string[]>): Promise<string[]> => {
      let got: string[] = [];
      for (let i = 0; i < 5; i++) {
        got = [...spread(await batch())].sort();
        if (got.length === webPods.length) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      return got;
    };
    const fromPod = async (url: string, n: number): Promise<string[]> => {
      const out = await kc(['exec', 'client', '--', 'sh', '-c', `for i in $(seq ${n}); do curl -s -f --max-time 3 ${url} || printf ERR; echo; done`]);
      return out.split('\n').slice(0, n);
    };

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), `kubelite-proxy-${mode}-`));
      clientNs = await makeClientNamespace(SANDBOX!);
      k = await startCliCluster(dir, ['--pod-network', 'netns', '--proxy-mode', mode, '--lb-pool', '10.250.0.0/24']);
      await apply(WEB);
      webPods = (await readyPods('app=web', 3)).map((p) => p.metadata.name as string).sort();
      await readyPods('app=client', 1);
    });
    after(async () => {
      if (k) {
        await k.kubectl(['delete', 'deployments,pods,services', '--all', '--wait=true', '--timeout=60s']).catch(() => undefined);
        await k.stop();
      }
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    /** On a failure: what the node had programmed, to read in the test output. */
    const diagnose = async (what: string): Promise<void> => {
      const rules = await sh(['nft', 'list', 'ruleset']);
      const ipt = mode === 'iptables' ? (await sh(['iptables-save'])).stdout : '';
      const slices = await k.kubectl(['get', 'svc,endpointslices', '-o', 'wide']);
      console.log(`--- diagnosis: ${what}\n${rules.stdout}\n${ipt}\n${slices.stdout}\n--- kubelite output (tail)\n${k.output().slice(-3000)}`);
    };
    const waitAnswer = async (url: string, o: { netns?: string } = {}): Promise<string> => {
      try {
        return await until(`${url} answers`, async () => curl(url, { ...o, timeoutS: 1 }), 20_000);
      } catch (err) {
        await diagnose(url);
        throw err;
      }
    };

    if (has('spread')) {
      it('1. ClusterIP spreads over all 3 replicas from a pod and from the node; NodePort, LoadBalancer and externalIP reach the pods', async () => {
        const ip = await clusterIP('web');
        await waitAnswer(`http://${ip}/hostname`);
        // Each batch of 30 requests must reach all 3 (retried only while the slices settle).
        assert.deepEqual(await allAnswer(() => curlMany(`http://${ip}/hostname`, 30)), webPods, 'from the node');
        assert.deepEqual(await allAnswer(() => fromPod(`http://${ip}/hostname`, 30)), webPods, 'from a pod');

        await apply(`apiVersion: v1
kind: Service
metadata: {name: web-np}
spec: {type: NodePort, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: web-lb}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: web-ext}
spec: {selector: {app: web}, externalIPs: [192.168.99.10], ports: [{port: 8000, targetPort: 8080}]}
`);
        const np = (await svc('web-np')).spec.ports[0].nodePort as number;
        await waitAnswer(`http://${CLIENT_NODE_SIDE}:${np}/hostname`, { netns: clientNs });
        assert.deepEqual(await allAnswer(() => curlMany(`http://${CLIENT_NODE_SIDE}:${np}/hostname`, 30, { netns: clientNs })), webPods, 'NodePort from outside');
        const lbIP = await until('LoadBalancer address assigned', async () => (await svc('web-lb')).status?.loadBalancer?.ingress?.[0]?.ip as string | undefined, 20_000);
        assert.match(lbIP, /^10\.250\.0\.\d+$/);
        await waitAnswer(`http://${lbIP}/hostname`, { netns: clientNs });
        assert.ok(webPods.includes((await curl(`http://${lbIP}/hostname`, { netns: clientNs }))!.trim()), 'LoadBalancer address from outside');
        await waitAnswer(`http://192.168.99.10:8000/hostname`, { netns: clientNs });
        assert.ok(webPods.includes((await curl(`http://192.168.99.10:8000/hostname`, { netns: clientNs }))!.trim()), 'externalIP from outside');
      });
    }

    if (has('affinity')) {
      it('2. sessionAffinity ClientIP: 30 requests hit one pod; None spreads them again', async () => {
        const ip = await clusterIP('web');
        await kc(['patch', 'svc', 'web', '-p', '{"spec":{"sessionAffinity":"ClientIP"}}']);
        const sticky = await until('affinity in effect', async () => {
          const s = spread(await curlMany(`http://${ip}/hostname`, 30));
          return s.size === 1 ? s : undefined;
        }, 20_000);
        assert.equal(sticky.size, 1);
        const fromPodSticky = spread(await fromPod(`http://${ip}/hostname`, 30));
        assert.equal(fromPodSticky.size, 1, `a pod sticks too: ${[...fromPodSticky]}`);
        await kc(['patch', 'svc', 'web', '-p', '{"spec":{"sessionAffinity":"None"}}']);
        const s = await until('spread again', async () => {
          const got = spread(await curlMany(`http://${ip}/hostname`, 30));
          return got.size === 3 ? got : undefined;
        }, 20_000);
        assert.deepEqual([...s].sort(), webPods);
      });
    }

    if (has('types')) {
      it('3. type changes ClusterIP → ExternalName → ClusterIP → NodePort → ExternalName, addresses and NodePorts released', async () => {
        await apply(`apiVersion: v1
kind: Service
metadata: {name: morph}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
`);
        const ip1 = await clusterIP('morph');
        await waitAnswer(`http://${ip1}/hostname`);
        await kc(['patch', 'svc', 'morph', '--type=merge', '-p', '{"spec":{"type":"ExternalName","externalName":"example.com","clusterIP":null,"clusterIPs":null}}']);
        await until('old cluster IP no longer served', async () => ((await curl(`http://${ip1}/hostname`, { timeoutS: 1 })) === undefined ? true : undefined), 20_000);
        // Released: a new Service may take that exact address.
        await apply(`apiVersion: v1\nkind: Service\nmetadata: {name: taker}\nspec: {clusterIP: ${ip1}, ports: [{port: 80}]}\n`);
        await kc(['delete', 'svc', 'taker']);

        await kc(['patch', 'svc', 'morph', '--type=merge', '-p', '{"spec":{"type":"ClusterIP","externalName":null}}']);
        const ip2 = await clusterIP('morph');
        assert.match(ip2, /^10\./);
        await waitAnswer(`http://${ip2}/hostname`);

        await kc(['patch', 'svc', 'morph', '--type=merge', '-p', '{"spec":{"type":"NodePort"}}']);
        const np = (await svc('morph')).spec.ports[0].nodePort as number;
        await waitAnswer(`http://${CLIENT_NODE_SIDE}:${np}/hostname`, { netns: clientNs });

        await kc(['patch', 'svc', 'morph', '--type=merge', '-p', '{"spec":{"type":"ExternalName","externalName":"example.com","clusterIP":null,"clusterIPs":null,"ports":[{"port":80,"targetPort":8080,"nodePort":null}]}}']);
        await until('NodePort no longer served', async () => ((await curl(`http://${CLIENT_NODE_SIDE}:${np}/hostname`, { netns: clientNs, timeoutS: 1 })) === undefined ? true : undefined), 20_000);
        await until('cluster IP no longer served', async () => ((await curl(`http://${ip2}/hostname`, { timeoutS: 1 })) === undefined ? true : undefined), 20_000);
        await apply(`apiVersion: v1\nkind: Service\nmetadata: {name: taker}\nspec: {type: NodePort, ports: [{port: 80, nodePort: ${np}}]}\n`);
        await kc(['delete', 'svc', 'taker', 'morph']);
      });
    }

    if (has('udp')) {
      it('4. one port number serving TCP and UDP; removing the UDP port breaks only UDP', async () => {
        await apply(`apiVersion: v1
kind: Service
metadata: {name: dual}
spec:
  selector: {app: web}
  ports: [{name: tcp, port: 53, targetPort: 8080, protocol: TCP}, {name: udp, port: 53, targetPort: 8081, protocol: UDP}]
`);
        const ip = await clusterIP('dual');
        await waitAnswer(`http://${ip}:53/hostname`);
        const reply = await until('UDP answers', async () => udpRequest(ip, 53, 'hostname'), 20_000);
        assert.ok(webPods.includes(reply.trim()), `UDP reply from a web pod: ${reply}`);
        await kc(['patch', 'svc', 'dual', '--type=json', '-p', '[{"op":"remove","path":"/spec/ports/1"}]']);
        await until('UDP no longer answers', async () => ((await udpRequest(ip, 53, 'hostname', 500)) === undefined ? true : undefined), 20_000);
        assert.ok(webPods.includes((await curl(`http://${ip}:53/hostname`))!.trim()), 'TCP still answers');
        await kc(['delete', 'svc', 'dual']);
      });
    }

    if (has('selectorless')) {
      it('5. a selectorless Service with a hand-made EndpointSlice of two addresses on two ports', async () => {
        const porter = (n: string): string => `apiVersion: v1
kind: Pod
metadata: {name: porter-${n}}
spec:
  containers:
  - name: porter
    image: ${AGNHOST}
    args: [porter]
    env: [{name: SERVE_PORT_8080, value: ${n}-8080}, {name: SERVE_PORT_9090, value: ${n}-9090}]
    readinessProbe: {tcpSocket: {port: 9090}, periodSeconds: 1}
`;
        await apply(porter('a') + '---\n' + porter('b'));
        const ips = await until('porters ready', async () => {
          const items = (JSON.parse(await kc(['get', 'pods', 'porter-a', 'porter-b', '-o', 'json'])) as Json).items as Json[];
          const ok = items.every((p) => (p.status.conditions ?? []).some((c: Json) => c.type === 'Ready' && c.status === 'True'));
          return ok && items.length === 2 ? items.map((p) => p.status.podIP as string) : undefined;
        }, 60_000);
        await apply(`apiVersion: v1
kind: Service
metadata: {name: manual}
spec: {ports: [{name: one, port: 80}, {name: two, port: 81}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: manual-1, labels: {kubernetes.io/service-name: manual}}
addressType: IPv4
ports: [{name: one, port: 8080, protocol: TCP}, {name: two, port: 9090, protocol: TCP}]
endpoints: [{addresses: [${ips[0]}], conditions: {ready: true}}, {addresses: [${ips[1]}], conditions: {ready: true}}]
`);
        const ip = await clusterIP('manual');
        await waitAnswer(`http://${ip}:80/`);
        assert.deepEqual([...spread(await curlMany(`http://${ip}:80/`, 20))].sort(), ['a-8080', 'b-8080']);
        assert.deepEqual([...spread(await curlMany(`http://${ip}:81/`, 20))].sort(), ['a-9090', 'b-9090']);
        await kc(['delete', 'svc,endpointslice', 'manual']).catch(() => undefined);
        await kc(['delete', 'pod', 'porter-a', 'porter-b', '--wait=false']);
      });
    }

    if (has('noendpoints')) {
      it('6. a Service with no ready endpoints refuses connections in under 100 ms', async () => {
        await apply(`apiVersion: v1
kind: Service
metadata: {name: empty}
spec: {selector: {app: nothing}, ports: [{port: 80, targetPort: 8080}]}
`);
        const ip = await clusterIP('empty');
        const r = await until('refused', async () => {
          const c = await connectTimed(ip, 80);
          return c.outcome === 'refused' ? c : undefined;
        }, 20_000);
        const times: number[] = [];
        for (let i = 0; i < 5; i++) {
          const c = await connectTimed(ip, 80);
          assert.equal(c.outcome, 'refused', JSON.stringify(c));
          times.push(c.ms);
        }
        // The five tries once the Service is programmed; the first refusal (r) can land while the proxy is
        // still applying the change on a loaded machine, so it only bounds the transition.
        assert.ok(Math.max(...times) < 100, `refused in ${times.map((t) => t.toFixed(1)).join(', ')} ms (first refusal ${r.ms.toFixed(1)} ms)`);
        assert.ok(r.ms < 2000, `first refusal in ${r.ms.toFixed(1)} ms`);
        const fromPodOut = await k.kubectl(['exec', 'client', '--', 'sh', '-c', `curl -s --max-time 2 -o /dev/null -w '%{time_total}' http://${ip}/; echo " $?"`]);
        const [secs, code] = fromPodOut.stdout.trim().split(' ');
        assert.equal(code, '7', `curl from a pod: connection refused (exit 7): ${fromPodOut.stdout}`);
        assert.ok(Number(secs) < 0.1, `from a pod in ${secs} s`);
      });
    }

    if (has('rolling')) {
      it('7. a rolling update under constant load through the ClusterIP: zero failed requests', async () => {
        const ip = await clusterIP('web');
        await waitAnswer(`http://${ip}/hostname`);
        let stop = false;
        let ok = 0;
        const failures: string[] = [];
        const load = (async (): Promise<void> => {
          while (!stop) {
            const body = await curl(`http://${ip}/hostname`, { timeoutS: 3 });
            if (body === undefined) failures.push(new Date().toISOString());
            else ok++;
          }
        })();
        await kc(['rollout', 'restart', 'deployment/web']);
        const st = await k.kubectl(['rollout', 'status', 'deployment/web', '--timeout=150s'], { timeoutMs: 180_000 });
        assert.equal(st.code, 0, st.stderr);
        await new Promise((r) => setTimeout(r, 3000));
        stop = true;
        await load;
        assert.ok(ok > 50, `requests made: ${ok}`);
        assert.deepEqual(failures, [], `${failures.length} failed of ${ok + failures.length}`);
        webPods = (await readyPods('app=web', 3)).map((p) => p.metadata.name as string).sort();
      });
    }

    if (has('local')) {
      it('8. externalTrafficPolicy Local preserves the client source IP (Cluster masquerades it)', async () => {
        await apply(`apiVersion: v1
kind: Service
metadata: {name: web-local}
spec: {type: NodePort, externalTrafficPolicy: Local, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: web-cluster}
spec: {type: NodePort, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
`);
        const npLocal = (await svc('web-local')).spec.ports[0].nodePort as number;
        const npCluster = (await svc('web-cluster')).spec.ports[0].nodePort as number;
        const local = await waitAnswer(`http://${CLIENT_NODE_SIDE}:${npLocal}/clientip`, { netns: clientNs });
        assert.equal(local.split(':')[0], CLIENT_IP, `the pod sees the client: ${local}`);
        const cluster = await waitAnswer(`http://${CLIENT_NODE_SIDE}:${npCluster}/clientip`, { netns: clientNs });
        assert.notEqual(cluster.split(':')[0], CLIENT_IP, `Cluster policy masquerades: ${cluster}`);
      });
    }
    if (has('insight')) {
      it('health check node port (LoadBalancer + Local), /metrics with kubeproxy_* names, /healthz, and `kubelite proxy trace` on the live cluster', async () => {
        await apply(`apiVersion: v1
kind: Service
metadata: {name: web-lb-local}
spec: {type: LoadBalancer, externalTrafficPolicy: Local, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
`);
        const hc = (await svc('web-lb-local')).spec.healthCheckNodePort as number;
        assert.ok(hc > 0, 'a healthCheckNodePort is allocated');
        const body = await until('health check node port answers', async () => curl(`http://${CLIENT_NODE_SIDE}:${hc}/`, { netns: clientNs, timeoutS: 1 }), 20_000);
        const j = JSON.parse(body) as Json;
        assert.deepEqual(j.service, { namespace: 'default', name: 'web-lb-local' });
        assert.equal(j.localEndpoints, 3);
        assert.equal(j.serviceProxyHealthy, true);

        const metrics = await curl('http://127.0.0.1:10249/metrics');
        assert.ok(metrics, '/metrics answers');
        for (const name of ['kubeproxy_sync_proxy_rules_duration_seconds_count', 'kubeproxy_network_programming_duration_seconds_bucket', 'kubeproxy_sync_proxy_rules_endpoint_changes_total', 'kubeproxy_sync_proxy_rules_last_timestamp_seconds']) {
          assert.match(metrics!, new RegExp(`^${name}`, 'm'), name);
        }
        const healthz = JSON.parse((await curl('http://127.0.0.1:10256/healthz'))!) as Json;
        assert.ok(healthz.lastUpdated && healthz.currentTime, JSON.stringify(healthz));

        const ip = await clusterIP('web');
        const t = await runCli(['proxy', 'trace', '--kubeconfig', k.kubeconfig, '--from', 'client', '--to', `${ip}:80`]);
        assert.equal(t.code, 0, t.out);
        assert.match(t.out, /service-ips/, 'names the map it looked up');
        for (const pod of webPods) {
          const podIP = ((JSON.parse(await kc(['get', 'pod', pod, '-o', 'json'])) as Json).status.podIP) as string;
          assert.ok(t.out.includes(podIP), `lists endpoint ${podIP} as a candidate:\n${t.out}`);
        }
      });
    }
  });
}
