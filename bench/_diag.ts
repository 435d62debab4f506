import { Client, configMap, ensureNamespace } from './lib/client.js';
import { startServer } from './lib/server.js';
import { readFileSync } from 'node:fs';
const store = (process.argv[2] ?? 'sqlite') as 'sqlite' | 'memory';
const maxSockets = Number(process.argv[3] ?? Infinity);
const srv = await startServer(store);
const c = new Client(srv, { maxSockets });
await ensureNamespace(c, 'p');
const cpu = (): number => { const f = readFileSync(`/proc/${srv.pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
const t0 = performance.now(); let n = 0; let cur = 0; let done = 0; const inflight: Promise<unknown>[] = [];
let lastLog = t0; let lastCpu = cpu(); let lastClient = process.cpuUsage(); let lastDone = 0;
const total = 6000;
while (n < total) {
  const now = performance.now();
  while (n < total && t0 + n * 2 <= now) { const i = n++; cur++; inflight.push(c.request('POST', '/api/v1/namespaces/p/configmaps', configMap('p', `o-${i}`)).then(() => { cur--; done++; })); }
  await new Promise((r) => setTimeout(r, 1));
  if (now - lastLog >= 1000) {
    const sc = cpu(); const cc = process.cpuUsage(lastClient);
    console.log(`t=${(now - t0).toFixed(0)} sent=${n} done/s=${done - lastDone} inflight=${cur} sockets=${Object.values(c.agent.sockets).flat().length + Object.values(c.agent.freeSockets).flat().length} serverCPU=${((sc - lastCpu) / (now - lastLog) * 100).toFixed(0)}% clientCPU=${(((cc.user + cc.system) / 1000) / (now - lastLog) * 100).toFixed(0)}%`);
    lastLog = now; lastCpu = sc; lastClient = process.cpuUsage(); lastDone = done;
  }
}
await Promise.all(inflight);
console.log('finished', ((total / (performance.now() - t0)) * 1000).toFixed(0), '/s');
c.close(); await srv.stop();
