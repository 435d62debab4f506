import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveMode, type ProxyMode } from './modes.js';

describe('resolveMode', () => {
  const cases: Array<[ProxyMode, boolean, string | RegExp]> = [
    ['auto', true, 'nftables'],
    ['auto', false, 'userspace'],
    ['iptables', true, 'iptables'],
    ['userspace', true, 'userspace'],
    ['nftables', false, /needs the netns pod network/],
    ['ipvs', true, /ipvs/],
  ];
  for (const [mode, isolated, want] of cases) {
    it(`${mode} (isolated: ${isolated})`, () => {
      const got = resolveMode(mode, { isolated });
      if (typeof want === 'string') assert.equal(got, want);
      else {
        assert.ok(got instanceof Error);
        assert.match(got.message, want);
      }
    });
  }
});
