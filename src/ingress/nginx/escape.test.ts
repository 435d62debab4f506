import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cookieRegex,
  exactKey,
  headerVariable,
  hostPort,
  quote,
  regexLiteral,
  rewriteReplacement,
  serverName,
  text,
  validCookieName,
  validHost,
} from './escape.js';

test('quote: only \\ " and control characters are escaped; nothing ends the token', () => {
  const cases: [string, string][] = [
    ['plain', '"plain"'],
    ['a;b{c}#d', '"a;b{c}#d"'],
    ['say "hi"', '"say \\"hi\\""'],
    ['back\\slash', '"back\\\\slash"'],
    ['l1\nl2\r\t', '"l1\\nl2\\r\\t"'],
    ['bell\x07', '"bell"'],
    ['$host', '"$host"'],
  ];
  for (const [input, want] of cases) assert.equal(quote(input), want, JSON.stringify(input));
});

test('text: every $ becomes the literal-dollar variable', () => {
  assert.equal(text('cost $5 ${host}'), '"cost ${kl_dollar}5 ${kl_dollar}{host}"');
});

test('rewriteReplacement: captures kept, other $ literal, unsafe targets refused', () => {
  const cases: [string, string | undefined][] = [
    ['/$1', '"/$1"'],
    ['/v2/$2?x=${1}', '"/v2/$2?x=$1"'],
    ['/$host', '"/${kl_dollar}host"'],
    ['$1', '"/$1"'],
    ['/a$$1', '"/a${kl_dollar}$1"'],
    ['/${1}0', '"/$10"'],
    ['/$0', undefined],
    ['/$12', undefined],
    ['http://evil/', undefined],
    ['https://evil/', undefined],
    ['/x\ny', undefined],
  ];
  for (const [input, want] of cases) assert.equal(rewriteReplacement(input), want, JSON.stringify(input));
});

test('regexLiteral matches the literal only', () => {
  for (const s of ['/a.b', '/x*y+z?', '/(g)[c]{2}', '/a|b', '/^$\\']) {
    const re = new RegExp(`^${regexLiteral(s)}$`);
    assert.ok(re.test(s), s);
    assert.ok(!re.test(`${s}x`), s);
  }
  assert.ok(!new RegExp(`^${regexLiteral('/a.b')}$`).test('/axb'));
});

test('hosts: validation and server_name (wildcards cover exactly one label)', () => {
  const valid: [string, boolean][] = [
    ['foo.example.com', true],
    ['*.example.com', true],
    ['localhost', true],
    ['a-b.c', true],
    ['bad host', false],
    ['x;y', false],
    ['*.', false],
    ['a.*.b', false],
    ['-a.b', false],
    ['Foo.com', false],
  ];
  for (const [h, want] of valid) assert.equal(validHost(h), want, h);
  assert.equal(serverName('foo.example.com'), '"foo.example.com"');
  assert.equal(serverName('*.example.com'), '"~^[^.]+\\\\.example\\\\.com$"');
  const re = /^[^.]+\.example\.com$/;
  assert.ok(re.test('a.example.com') && !re.test('a.b.example.com') && !re.test('example.com'));
});

test('header variables and cookie names', () => {
  assert.equal(headerVariable('X-Canary-Flag'), '$http_x_canary_flag');
  assert.equal(headerVariable('bad header'), undefined);
  assert.equal(headerVariable('x_under'), undefined);
  assert.equal(headerVariable('a;b'), undefined);
  assert.ok(validCookieName('canary-v2.x'));
  assert.ok(!validCookieName('bad cookie'));
  assert.ok(!validCookieName('a;b'));
  assert.ok(!validCookieName('a=b'));
});

test('cookieRegex and exactKey: exact, case-sensitive value matches', () => {
  const always = new RegExp(cookieRegex('canary-v.2', 'always').slice(1));
  const cases: [string, boolean][] = [
    ['canary-v.2=always', true],
    ['a=1; canary-v.2=always', true],
    ['a=1;canary-v.2 = always ;b=2', true],
    ['canary-v.2=alwaysx', false],
    ['canary-vx2=always', false],
    ['xcanary-v.2=always', false],
    ['canary-v.2=Always', false],
  ];
  for (const [header, want] of cases) assert.equal(always.test(header), want, header);
  const key = new RegExp(exactKey('yes.please').slice(1));
  assert.ok(key.test('yes.please') && !key.test('yes-please') && !key.test('YES.please') && !key.test('yes.please!'));
});

test('hostPort', () => {
  assert.equal(hostPort('127.0.0.1', 80), '127.0.0.1:80');
  assert.equal(hostPort('::1', 443), '[::1]:443');
  assert.equal(hostPort('0.0.0.0', 8080), '8080');
  assert.equal(hostPort('', 8080), '8080');
});
