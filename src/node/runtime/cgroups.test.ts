import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cgroupDirs, cgroupWrites, detectCgroupBase, milliCpuToShares, parseOomKills, sharesToWeight, type CgroupBase } from './cgroups.js';

const V1_CGROUP = `9:name=systemd:/
4:memory:/process_api/abc
2:cpuacct:/
1:cpu:/
0::/
`;
const V1_MOUNTINFO = `27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const V1_COMOUNT_CGROUP = `5:cpu,cpuacct:/docker/x
4:memory:/docker/x
`;
const V1_COMOUNT_MOUNTINFO = `32 31 0:29 /docker/x /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 /docker/x /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
`;
const V2_CGROUP = `0::/user.slice/agent.scope
`;
const V2_MOUNTINFO = `30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw
`;

describe('detectCgroupBase', () => {
  const table: Array<{ name: string; cg: string; mi: string; v2mem: boolean; want: CgroupBase | undefined }> = [
    { name: 'v1 (this machine)', cg: V1_CGROUP, mi: V1_MOUNTINFO, v2mem: false, want: { version: 1, memory: '/sys/fs/cgroup/memory/process_api/abc', cpu: '/sys/fs/cgroup/cpu' } },
    { name: 'v1 with co-mounted cpu,cpuacct and a namespaced root', cg: V1_COMOUNT_CGROUP, mi: V1_COMOUNT_MOUNTINFO, v2mem: false, want: { version: 1, memory: '/sys/fs/cgroup/memory', cpu: '/sys/fs/cgroup/cpu,cpuacct' } },
    { name: 'v2 with memory', cg: V2_CGROUP, mi: V2_MOUNTINFO, v2mem: true, want: { version: 2, dir: '/sys/fs/cgroup/user.slice/agent.scope' } },
    { name: 'v2 without memory controller', cg: V2_CGROUP, mi: V2_MOUNTINFO, v2mem: false, want: undefined },
    { name: 'v1 listed but not mounted (fresh /sys)', cg: V1_CGROUP, mi: '27 1 254:0 / / rw - ext4 /dev/vda rw\n', v2mem: false, want: undefined },
  ];
  for (const c of table) {
    it(c.name, () => assert.deepEqual(detectCgroupBase(c.cg, c.mi, c.v2mem), c.want));
  }
});

describe('cgroupDirs', () => {
  it('v1: one dir per hierarchy, under the own cgroup', () => {
    assert.deepEqual(cgroupDirs({ version: 1, memory: '/m/own', cpu: '/c' }, 'sb', 'ct'), ['/m/own/kubelite/sb/ct', '/c/kubelite/sb/ct']);
    assert.deepEqual(cgroupDirs({ version: 1, memory: '/m/own' }, 'sb'), ['/m/own/kubelite/sb']);
  });
  it('v2: one dir', () => {
    assert.deepEqual(cgroupDirs({ version: 2, dir: '/u/own' }, 'sb', 'ct'), ['/u/own/kubelite/sb/ct']);
  });
});

describe('cgroupWrites', () => {
  const table: Array<{ name: string; v: 1 | 2; r: Parameters<typeof cgroupWrites>[1]; want: string[] }> = [
    { name: 'nothing', v: 1, r: undefined, want: [] },
    { name: 'empty', v: 2, r: {}, want: [] },
    {
      name: 'v1 memory, no swap',
      v: 1,
      r: { memoryLimitBytes: 52428800 },
      want: ['memory/memory.limit_in_bytes=52428800', 'memory/memory.memsw.limit_in_bytes=52428800?', 'memory/memory.swappiness=0?'],
    },
    {
      name: 'v1 cpu limit and request',
      v: 1,
      r: { cpuLimitMillis: 250, cpuRequestMillis: 100 },
      want: ['cpu/cpu.cfs_period_us=100000', 'cpu/cpu.cfs_quota_us=25000', 'cpu/cpu.shares=102'],
    },
    { name: 'v1 tiny cpu limit clamps to 1ms', v: 1, r: { cpuLimitMillis: 1 }, want: ['cpu/cpu.cfs_period_us=100000', 'cpu/cpu.cfs_quota_us=1000'] },
    {
      name: 'v2 everything',
      v: 2,
      r: { memoryLimitBytes: 1024, cpuLimitMillis: 1500, cpuRequestMillis: 1000 },
      want: ['unified/memory.max=1024', 'unified/memory.swap.max=0?', 'unified/cpu.max=150000 100000', 'unified/cpu.weight=39'],
    },
  ];
  for (const c of table) {
    it(c.name, () => {
      const got = cgroupWrites(c.v, c.r).map((w) => `${w.hierarchy}/${w.file}=${w.value}${w.optional ? '?' : ''}`);
      assert.deepEqual(got, c.want);
    });
  }

  const shares: Array<[number, number]> = [
    [0, 2],
    [1, 2],
    [100, 102],
    [1000, 1024],
    [2500, 2560],
  ];
  for (const [milli, want] of shares) it(`${milli}m → ${want} shares`, () => assert.equal(milliCpuToShares(milli), want));
  const weights: Array<[number, number]> = [
    [2, 1],
    [1024, 39],
    [262144, 10000],
  ];
  for (const [s, want] of weights) it(`${s} shares → weight ${want}`, () => assert.equal(sharesToWeight(s), want));
});

describe('parseOomKills', () => {
  const table: Array<[string, number]> = [
    ['oom_kill_disable 0\nunder_oom 0\noom_kill 0\n', 0],
    ['oom_kill_disable 0\nunder_oom 0\noom_kill 3\n', 3],
    ['low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n', 1],
    ['', 0],
  ];
  for (const [text, want] of table) it(JSON.stringify(text), () => assert.equal(parseOomKills(text), want));
});
