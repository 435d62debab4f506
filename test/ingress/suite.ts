/**
 * Issue 8 acceptance, end to end, for one data plane (`--ingress-backend builtin|nginx`):
 * `kubelite up --pod-network netns` in a throwaway namespace, agnhost backends, the real kubectl,
 * and the real curl with `--resolve` against the ingress's LoadBalancer address (routed to the
 * node and DNAT'd by the proxy to the data plane, as an outside client's traffic would be).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { NO_KUBECTL, until } from '../harness.js';
import { startCliCluster, type CliCluster } from '../node/cli-cluster.js';
import { sh } from '../proxy/net.js';

const SANDBOX = process.env.SANDBOX_NETNS;
const AGNHOST = 'registry.k8s.io/e2e-test-images/agnhost:2.52';
const HAS_CURL = spawnSync('curl', ['--version'], { stdio: 'ignore' }).status === 0;
const HAS_OPENSSL = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;

type Json = Record<string, any>;

/** A porter pod + Service per backend name: every path answers the backend's name. */
function backend(name: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: 1
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
      - name: porter
        image: ${AGNHOST}
        args: [porter]
        env: [{name: SERVE_PORT_8080, value: ${name}}]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec:
  selector: {app: ${name}}
  ports: [{name: http, port: 80, targetPort: http}]
`;
}

export interface IngressSuiteOptions {
  backend: 'builtin' | 'nginx';
  skip?: string | false;
}

export function ingressSuite(o: IngressSuiteOptions): void {
  const skip = NO_KUBECTL || o.skip || (!SANDBOX ? 'needs netns-sandbox (run via npm test)' : false) || (!HAS_CURL ? 'curl is not installed' : false) || (!HAS_OPENSSL ? 'openssl is not installed' : false);

  describe(`ingress, ${o.backend} data plane (issue 8)`, { skip }, () => {
    let dir: string;
    let k: CliCluster;
    let lbIP = '';

    const kc = async (args: string[], input?: string): Promise<string> => {
      const r = await k.kubectl(args, input !== undefined ? { input } : {});
      assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const apply = (yaml: string): Promise<string> => kc(['apply', '-f', '-'], yaml);
    /** curl through the ingress address: status code and body. */
    const get = async (url: string, extra: string[] = []): Promise<{ code: number; body: string }> => {
      const u = new URL(url);
      const port = u.port || (u.protocol === 'https:' ? '443' : '80');
      const r = await sh(['curl', '-s', '--max-time', '5', '-o', '-', '-w', '\n%{http_code}', '--resolve', `${u.hostname}:${port}:${lbIP}`, ...extra, url]);
      const i = r.stdout.lastIndexOf('\n');
      return { code: Number(r.stdout.slice(i + 1)), body: r.stdout.slice(0, i) };
    };
    const waitFor = async (url: string, want: string, extra: string[] = []): Promise<void> => {
      await until(`${url} → ${want}`, async () => ((await get(url, extra)).body.trim() === want ? true : undefined), 30_000);
    };
    const selfSigned = (host: string): { crt: string; key: string } => {
      const base = join(dir, `${host}-${Date.now()}`);
      const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.crt`,
        '-days', '2', '-subj', `/CN=${host}`, '-addext', `subjectAltName=DNS:${host}`], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return { crt: `${base}.crt`, key: `${base}.key` };
    };

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), `kubelite-ingress-${o.backend}-`));
      k = await startCliCluster(dir, ['--pod-network', 'netns', '--lb-pool', '10.250.0.0/24', '--ingress-backend', o.backend]);
      await apply(['a', 'b', 'c'].map(backend).join('---\n'));
      lbIP = await until('the ingress data plane has a LoadBalancer address', async () => {
        const svc = JSON.parse(await kc(['get', 'svc', '-n', 'kube-system', 'ingress-kubelite', '-o', 'json'])) as Json;
        return svc.status?.loadBalancer?.ingress?.[0]?.ip as string | undefined;
      }, 30_000);
      await until('backends ready', async () => {
        const items = (JSON.parse(await kc(['get', 'pods', '-o', 'json'])) as Json).items as Json[];
        return items.length === 3 && items.every((p) => (p.status.conditions ?? []).some((c: Json) => c.type === 'Ready' && c.status === 'True')) ? true : undefined;
      }, 90_000);
    });
    after(async () => {
      if (k) {
        // Pods outlive kubelite as containers outlive the kubelet: delete them all (the bare ws Pod too).
        await k.kubectl(['delete', 'ingress,deployments,pods,services', '--all', '--wait=true', '--timeout=60s']).catch(() => undefined);
        await k.stop();
      }
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('the default IngressClass is ours, and a served Ingress gets the data plane address in its status', async () => {
      const cls = JSON.parse(await kc(['get', 'ingressclass', 'kubelite', '-o', 'json'])) as Json;
      assert.equal(cls.metadata.annotations['ingressclass.kubernetes.io/is-default-class'], 'true');
      await apply(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: status-check}
spec:
  rules: [{host: status.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: a, port: {number: 80}}}}]}}]
`);
      await until('status.loadBalancer', async () => {
        const ing = JSON.parse(await kc(['get', 'ingress', 'status-check', '-o', 'json'])) as Json;
        return ing.status?.loadBalancer?.ingress?.[0]?.ip === lbIP ? true : undefined;
      }, 30_000);
      await waitFor('http://status.test/anything', 'a');
    });

    it('per-Ingress metrics on :10254 and access logs in ingress-nginx format', async () => {
      for (let i = 0; i < 3; i++) assert.equal((await get('http://status.test/metrics-check')).code, 200);
      // Data plane workers report to the controller in batches (within 50 ms): wait for the scrape to show them.
      const metrics = await until('the requests in /metrics', async () => {
        const r = await sh(['curl', '-s', '--max-time', '3', 'http://10.244.0.1:10254/metrics']);
        return /nginx_ingress_controller_requests\{[^}]*ingress="status-check"[^}]*status="200"[^}]*\} \d+/.test(r.stdout) ? r.stdout : undefined;
      }, 10_000);
      assert.match(metrics, /nginx_ingress_controller_request_duration_seconds_bucket\{[^}]*ingress="status-check"/);
      const log = await until('access log line', async () => {
        const text = readFileSync(join(dir, 'ingress', 'access.log'), 'utf8');
        return text.includes('"GET /metrics-check HTTP/1.1" 200') ? text : undefined;
      }, 10_000);
      assert.match(log, /default-a-80/, 'upstream name ns-service-port');
    });

    it('1. the pathType matching table of the Kubernetes documentation', async () => {
      // Each case: an Ingress with the given paths (backends a, b in order), then request → backend ('' = 404).
      const cases: { paths: [string, string][]; requests: [string, string][] }[] = [
        { paths: [['Prefix', '/']], requests: [['/', 'a'], ['/foo', 'a']] },
        { paths: [['Exact', '/foo']], requests: [['/foo', 'a'], ['/bar', ''], ['/foo/', '']] },
        { paths: [['Exact', '/foo/']], requests: [['/foo', ''], ['/foo/', 'a']] },
        { paths: [['Prefix', '/foo']], requests: [['/foo', 'a'], ['/foo/', 'a']] },
        { paths: [['Prefix', '/foo/']], requests: [['/foo', 'a'], ['/foo/', 'a']] },
        { paths: [['Prefix', '/aaa/bb']], requests: [['/aaa/bbb', '']] },
        { paths: [['Prefix', '/aaa/bbb']], requests: [['/aaa/bbb', 'a'], ['/aaa/bbb/', 'a'], ['/aaa/bbbxyz', ''], ['/aaa/bbb/ccc', 'a']] },
        { paths: [['Prefix', '/'], ['Prefix', '/aaa']], requests: [['/aaa/ccc', 'b']] },
        { paths: [['Prefix', '/aaa'], ['Prefix', '/']], requests: [['/aaa/ccc', 'a'], ['/ccc', 'b']] },
        { paths: [['Prefix', '/aaa']], requests: [['/ccc', '']] },
        { paths: [['Exact', '/foo'], ['Prefix', '/foo']], requests: [['/foo', 'a'], ['/foo/x', 'b']] },
      ];
      for (const [n, c] of cases.entries()) {
        const host = `paths-${n}.test`;
        const paths = c.paths.map(([type, p], i) => ({ path: p, pathType: type, backend: { service: { name: i === 0 ? 'a' : 'b', port: { number: 80 } } } }));
        await apply(JSON.stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: `paths-${n}` }, spec: { rules: [{ host, http: { paths } }] } }));
        // Wait for the first positive row to be served before checking every row.
        const positive = c.requests.find(([, want]) => want !== '');
        if (positive) await waitFor(`http://${host}${positive[0]}`, positive[1]);
        for (const [path, want] of c.requests) {
          const r = await get(`http://${host}${path}`);
          if (want === '') assert.equal(r.code, 404, `${c.paths.map((p) => p.join(' ')).join(', ')}: ${path} must not match (got ${r.code} ${r.body})`);
          else assert.deepEqual([r.code, r.body.trim()], [200, want], `${c.paths.map((p) => p.join(' ')).join(', ')}: ${path} → ${want}`);
        }
      }
    });

    it('2. two hosts with TLS by SNI, HTTP → HTTPS redirect, a Secret change swaps the certificate without failed requests', async () => {
      const foo = selfSigned('foo.test');
      const bar = selfSigned('bar.test');
      await kc(['create', 'secret', 'tls', 'foo-tls', `--cert=${foo.crt}`, `--key=${foo.key}`]);
      await kc(['create', 'secret', 'tls', 'bar-tls', `--cert=${bar.crt}`, `--key=${bar.key}`]);
      await apply(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: tls}
spec:
  tls: [{hosts: [foo.test], secretName: foo-tls}, {hosts: [bar.test], secretName: bar-tls}]
  rules:
  - {host: foo.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: a, port: {number: 80}}}}]}}
  - {host: bar.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: b, port: {number: 80}}}}]}}
`);
      await waitFor('https://foo.test/', 'a', ['--cacert', foo.crt]);
      await waitFor('https://bar.test/', 'b', ['--cacert', bar.crt]);
      const redirect = await sh(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code} %{redirect_url}', '--resolve', `foo.test:80:${lbIP}`, 'http://foo.test/x?y=1']);
      assert.equal(redirect.stdout, '308 https://foo.test/x?y=1');
      // Swap foo's certificate while requests keep flowing (each verified against the old OR the new CA file).
      const next = selfSigned('foo.test');
      const both = join(dir, 'both.crt');
      writeFileSync(both, readFileSync(foo.crt, 'utf8') + readFileSync(next.crt, 'utf8'));
      let failures = 0;
      let done = false;
      const loop = (async (): Promise<number> => {
        let n = 0;
        while (!done) {
          const r = await get('https://foo.test/', ['--cacert', both]);
          if (r.code !== 200) failures++;
          n++;
        }
        return n;
      })();
      await kc(['create', 'secret', 'tls', 'foo-tls', `--cert=${next.crt}`, `--key=${next.key}`, '--dry-run=client', '-o', 'yaml']).then((y) => kc(['apply', '-f', '-'], y));
      await waitFor('https://foo.test/', 'a', ['--cacert', next.crt]);
      done = true;
      const n = await loop;
      assert.equal(failures, 0, `${failures} of ${n} requests failed during the certificate swap`);
    });

    it('3. an annotated Ingress gets a certificate that curl --cacert <cluster CA> accepts', async () => {
      await apply(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: auto-tls
  annotations: {cert.kubelite.io/cluster-issuer: cluster-ca}
spec:
  tls: [{hosts: [auto.test], secretName: auto-tls}]
  rules: [{host: auto.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: c, port: {number: 80}}}}]}}]
`);
      await waitFor('https://auto.test/', 'c', ['--cacert', join(dir, 'pki', 'ca.crt')]);
      const secret = JSON.parse(await kc(['get', 'secret', 'auto-tls', '-o', 'json'])) as Json;
      assert.equal(secret.type, 'kubernetes.io/tls');
    });

    it('3b. with a short validity the certificate is renewed before it expires', async () => {
      await apply(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: short-tls
  annotations: {cert.kubelite.io/cluster-issuer: cluster-ca, cert.kubelite.io/duration: 24s}
spec:
  tls: [{hosts: [short.test], secretName: short-tls}]
  rules: [{host: short.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: c, port: {number: 80}}}}]}}]
`);
      const serial = async (): Promise<string | undefined> => {
        const r = await k.kubectl(['get', 'secret', 'short-tls', '-o', 'json']);
        return r.code === 0 ? ((JSON.parse(r.stdout) as Json).metadata.annotations?.['cert.kubelite.io/serial'] as string | undefined) : undefined;
      };
      const first = await until('the first certificate', serial, 30_000);
      const issuedAt = Date.now();
      await waitFor('https://short.test/', 'c', ['--cacert', join(dir, 'pki', 'ca.crt')]);
      const second = await until('a renewed certificate', async () => {
        const s = await serial();
        return s && s !== first ? s : undefined;
      }, 40_000);
      const renewedAfter = (Date.now() - issuedAt) / 1000;
      assert.ok(renewedAfter < 24, `renewed ${renewedAfter.toFixed(1)} s after issue, before the 24 s validity ran out`);
      assert.notEqual(second, first);
      await waitFor('https://short.test/', 'c', ['--cacert', join(dir, 'pki', 'ca.crt')]);
      const events = await kc(['get', 'events', '--field-selector', 'involvedObject.name=short-tls,reason=Renewed', '-o', 'name']);
      assert.ok(events.trim().length > 0, 'a Renewed event');
      // Stop the renewals (one every 16 s): each changes a Secret, which reloads the nginx data plane under the next tests.
      await kc(['delete', 'ingress', 'short-tls']);
    });

    it('4. canary by weight 20 (15-25% of 1,000 requests) and by header (exactly the marked ones)', async () => {
      await apply(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: main}
spec:
  rules: [{host: canary.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: a, port: {number: 80}}}}]}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: canary
  annotations: {ingress.kubelite.io/canary: "true", ingress.kubelite.io/canary-weight: "20"}
spec:
  rules: [{host: canary.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: b, port: {number: 80}}}}]}}]
`);
      await until('the canary serves some', async () => {
        const got = await nodeRequests(lbIP, 'canary.test', 50);
        return got.includes('b') ? true : undefined;
      }, 30_000);
      const got = await nodeRequests(lbIP, 'canary.test', 1000);
      const share = got.filter((x) => x === 'b').length / got.length;
      assert.equal(got.filter((x) => x !== 'a' && x !== 'b').length, 0, 'every request answered by a or b');
      assert.ok(share >= 0.15 && share <= 0.25, `canary share ${share}`);
      await kc(['annotate', 'ingress', 'canary', '--overwrite', 'ingress.kubelite.io/canary-weight=0', 'ingress.kubelite.io/canary-by-header=X-Canary']);
      // Until the new annotations are served (the weight-20 routing may answer 'b' by chance before).
      const marked = async (): Promise<string[]> => nodeRequests(lbIP, 'canary.test', 20, { 'X-Canary': 'always' });
      await until('header canary', async () => ((await marked()).every((x) => x === 'b') ? true : undefined), 30_000);
      assert.deepEqual(new Set(await marked()), new Set(['b']), 'every marked request reaches the canary');
      assert.deepEqual(new Set(await nodeRequests(lbIP, 'canary.test', 100)), new Set(['a']), 'no unmarked request does');
      assert.deepEqual(new Set(await nodeRequests(lbIP, 'canary.test', 20, { 'X-Canary': 'never' })), new Set(['a']), '"never" opts out');
    });

    it('5. rewrite-target with captures, HTTP/2 over TLS', async () => {
      await apply(`apiVersion: apps/v1
kind: Deployment
metadata: {name: netexec}
spec:
  replicas: 1
  selector: {matchLabels: {app: netexec}}
  template:
    metadata: {labels: {app: netexec}}
    spec:
      containers:
      - {name: netexec, image: ${AGNHOST}, args: [netexec, --http-port=8080, --udp-port=-1], ports: [{name: http, containerPort: 8080}], readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}}
---
apiVersion: v1
kind: Service
metadata: {name: netexec}
spec: {selector: {app: netexec}, ports: [{name: http, port: 80, targetPort: http}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: rewrite
  annotations: {ingress.kubelite.io/rewrite-target: /$2}
spec:
  rules: [{host: rewrite.test, http: {paths: [{path: /api(/|$)(.*), pathType: ImplementationSpecific, backend: {service: {name: netexec, port: {number: 80}}}}]}}]
`);
      await until('rewrite', async () => ((await get('http://rewrite.test/api/echo?msg=rewritten')).body === 'rewritten' ? true : undefined), 60_000);
      const host = JSON.parse(await kc(['get', 'pods', '-l', 'app=netexec', '-o', 'json'])).items[0].metadata.name as string;
      assert.equal((await get('http://rewrite.test/api/hostname')).body, host);
      const h2 = await sh(['curl', '-s', '-k', '--http2', '-o', '/dev/null', '-w', '%{http_version} %{http_code}', '--resolve', `foo.test:443:${lbIP}`, 'https://foo.test/']);
      assert.equal(h2.stdout, '2 200');
    });

    it('5b. a WebSocket echo through the proxy', async () => {
      const server = [
        "const http=require('http'),crypto=require('crypto');",
        "const s=http.createServer((q,r)=>r.end('ws-echo'));",
        "s.on('upgrade',(req,sock)=>{const a=crypto.createHash('sha1').update(req.headers['sec-websocket-key']+'258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');",
        "sock.write('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Accept: '+a+'\\r\\n\\r\\n');",
        "sock.on('data',d=>{const n=d[1]&127,m=d.subarray(2,6),p=Buffer.alloc(n);for(let i=0;i<n;i++)p[i]=d[6+i]^m[i%4];sock.write(Buffer.concat([Buffer.from([0x81,n]),p]));});});",
        "s.listen(8080);",
      ].join('');
      await apply(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'ws', labels: { app: 'ws' } }, spec: { containers: [{ name: 'ws', image: 'busybox', command: [process.execPath, '-e', server], ports: [{ containerPort: 8080 }], readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } }] } }) + '\n' +
        JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'ws' }, spec: { selector: { app: 'ws' }, ports: [{ port: 80, targetPort: 8080 }] } }) + '\n' +
        JSON.stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'ws' }, spec: { rules: [{ host: 'ws.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'ws', port: { number: 80 } } } }] } }] } }));
      await waitFor('http://ws.test/', 'ws-echo');
      const echoed = await new Promise<string>((resolve, reject) => {
        const sock = connect(80, lbIP, () => sock.write('GET /chat HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'));
        let buf = Buffer.alloc(0);
        let upgraded = false;
        sock.on('data', (d: Buffer) => {
          buf = Buffer.concat([buf, d]);
          if (!upgraded) {
            const end = buf.indexOf('\r\n\r\n');
            if (end < 0) return;
            const head = buf.subarray(0, end).toString();
            if (!/^HTTP\/1\.1 101/.test(head)) return reject(new Error(`no upgrade: ${head}`));
            upgraded = true;
            buf = buf.subarray(end + 4);
            const payload = Buffer.from('hello through the ingress');
            const mask = Buffer.from([1, 2, 3, 4]);
            sock.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!))]));
          }
          if (upgraded && buf.length >= 2 && buf.length >= 2 + (buf[1]! & 127)) {
            resolve(buf.subarray(2, 2 + (buf[1]! & 127)).toString());
            sock.destroy();
          }
        });
        sock.on('error', reject);
        setTimeout(() => reject(new Error('WebSocket echo timed out')), 10_000);
      });
      assert.equal(echoed, 'hello through the ingress');
    });

    it('6. malformed requests, huge headers, slowloris clients: the right status, others keep being served', async () => {
      const raw = (payload: string): Promise<string> =>
        new Promise((resolve) => {
          let out = '';
          const s = connect(80, lbIP, () => s.write(payload));
          s.on('data', (d) => (out += d.toString()));
          s.on('close', () => resolve(out));
          s.on('error', () => resolve(out));
          setTimeout(() => s.destroy(), 3000);
        });
      assert.match(await raw('GARBAGE\r\n\r\n'), /^HTTP\/1\.1 400/);
      assert.match(await raw(`GET / HTTP/1.1\r\nHost: paths-0.test\r\nX-Big: ${'x'.repeat(70_000)}\r\n\r\n`), /^HTTP\/1\.1 (431|400)/);
      const slow = Array.from({ length: 20 }, () => {
        const s = connect(80, lbIP, () => s.write('GET / HTTP/1.1\r\nHost: paths-0.test\r\n'));
        s.on('error', () => undefined);
        return s;
      });
      try {
        for (let i = 0; i < 5; i++) assert.equal((await get('http://paths-0.test/x')).body.trim(), 'a');
      } finally {
        for (const s of slow) s.destroy();
      }
    });
  });
}

/** n HTTP/1.1 requests from the test process (fresh connections), the bodies. */
function nodeRequests(ip: string, host: string, n: number, headers: Record<string, string> = {}): Promise<string[]> {
  const one = (): Promise<string> =>
    new Promise((resolve) => {
      const req = request({ host: ip, port: 80, path: '/', headers: { ...headers, Host: host }, agent: false }, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(b.trim()));
      });
      req.on('error', () => resolve('ERR'));
      req.setTimeout(5000, () => req.destroy());
      req.end();
    });
  return (async () => {
    const out: string[] = [];
    for (let i = 0; i < n; i += 20) out.push(...(await Promise.all(Array.from({ length: Math.min(20, n - i) }, one))));
    return out;
  })();
}
