// The example's RESP parser (examples/resp.ts) on its own: what it reads, what it waits for, what
// it refuses.
import { RespParser } from '../../examples/resp';

const MAX_BULK = 1024;

function args(p: RespParser): string[] {
  return Array.from({ length: p.argc }, (_, k) => p.source.toString('latin1', p.argStart[k], p.argEnd[k]));
}
function parseAll(input: string): (string[] | string)[] {
  const p = new RespParser(MAX_BULK);
  const buf = Buffer.from(input, 'latin1');
  const out: (string[] | string)[] = [];
  for (let at = 0; at < buf.length; ) {
    const r = p.parse(buf, at, buf.length);
    if (r === 'incomplete') return [...out, 'incomplete'];
    out.push(r === 'error' ? p.error : args(p));
    if (r === 'error') return out;
    at = p.next;
  }
  return out;
}

test('arrays of bulk strings, pipelined, binary-safe', () => {
  expect(parseAll('*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*3\r\n$3\r\nSET\r\n$4\r\na\r\nb\r\n$0\r\n\r\n')).toEqual([
    ['GET', 'k'],
    ['SET', 'a\r\nb', ''],
  ]);
});

test('a request cut anywhere is incomplete, and says how many bytes it needs once its header is in', () => {
  const whole = '*2\r\n$3\r\nSET\r\n$10\r\n0123456789\r\n';
  for (let cut = 1; cut < whole.length; cut++) expect(parseAll(whole.slice(0, cut))).toEqual(['incomplete']);
  const p = new RespParser(MAX_BULK);
  expect(p.parse(Buffer.from(whole.slice(0, 20)), 0, 20)).toBe('incomplete');
  expect(p.need).toBe(whole.length);
});

test('inline lines: words, "double" quotes with escapes, single quotes', () => {
  expect(parseAll('PING\r\nECHO  hi\t there\nSET "a b" \'c\\\'d\'\r\nECHO "x\\ty\\"z"\r\n')).toEqual([
    ['PING'],
    ['ECHO', 'hi', 'there'],
    ['SET', 'a b', "c'd"],
    ['ECHO', 'x\ty"z'],
  ]);
  expect(parseAll('\r\n')).toEqual([[]]);
});

test.each([
  ['*x\r\n', 'ERR Protocol error: invalid multibulk length'],
  ['*2000000\r\n', 'ERR Protocol error: invalid multibulk length'],
  ['*1\r\n+PING\r\n', "ERR Protocol error: expected '$', got '+'"],
  ['*1\r\n$-1\r\n', 'ERR Protocol error: invalid bulk length'],
  [`*1\r\n$${MAX_BULK + 1}\r\n`, 'ERR Protocol error: invalid bulk length'],
  ['ECHO "open\r\n', 'ERR Protocol error: unbalanced quotes in request'],
  ['ECHO "a"b\r\n', 'ERR Protocol error: unbalanced quotes in request'],
  ['x'.repeat(64 * 1024 + 1), 'ERR Protocol error: too big inline request'],
])('refused as redis-server refuses them: %#', (input, error) => {
  expect(parseAll(input)).toEqual([error]);
});
