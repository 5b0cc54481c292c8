/**
 * Redis requests (RESP2): arrays of bulk strings (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`), and inline
 * lines (`GET k\r\n`, words quoted as Redis quotes them: "a\tb", 'a b'). parse() reads one request; argument k
 * is bytes [argStart[k], argEnd[k]) of `source` (the input; an inline line's own copy). Limits as
 * redis-server's: 64 KiB inline lines, 1,048,576 arguments, bulk strings of `maxBulk` bytes.
 */
const [CR, LF, INLINE_MAX, COUNT_MAX] = [13, 10, 64 * 1024, 1024 * 1024];
const ESCAPED: Record<string, string> = { n: '\n', r: '\r', t: '\t' }; // in "..."; any other escaped character: itself
/** An inline word: "double quoted" (escapes), 'single quoted' (\' only) or bare, then a space or the end. */
const WORD = /[ \t]*(?:"((?:\\.|[^"\\])*)"|'((?:\\'|\\(?!')|[^'\\])*)'|([^ \t"'][^ \t]*))(?=[ \t]|$)/y;

export type Parsed = 'request' | 'incomplete' | 'error';

export class RespParser {
  source: Buffer = Buffer.alloc(0);
  argc = 0;
  argStart: number[] = [];
  argEnd: number[] = [];
  /** After 'request': where the next request starts. */
  next = 0;
  /** After 'incomplete': how many bytes from `start` the request needs, when its header says (else 0). */
  need = 0;
  /** After 'error': the reply, as redis-server words it. */
  error = '';

  constructor(private readonly maxBulk: number) {}

  parse(buf: Buffer, start: number, end: number): Parsed {
    this.source = buf;
    this.argc = this.need = 0;
    return buf[start] === 42 /* * */ ? this.#array(buf, start, end) : this.#inline(buf, start, end);
  }

  #fail(error: string): Parsed {
    this.error = `ERR Protocol error: ${error}`;
    return 'error';
  }

  /** The number of a `*<n>` or `$<n>` line starting at i; `next` is after its CR LF. null: incomplete; NaN: not a number. */
  #number(buf: Buffer, i: number, end: number): number | null {
    const first = buf[i] === 45 /* - */ ? i + 1 : i;
    let n = 0;
    let j = first;
    for (; j < end && buf[j] !== CR; j++) {
      const digit = buf[j]! - 48;
      if (digit < 0 || digit > 9 || j - first >= 19) return Number.NaN;
      n = n * 10 + digit;
    }
    if (j + 1 >= end) return null; // the line's CR LF has not all arrived
    if (j === first) return Number.NaN;
    this.next = j + 2;
    return first > i ? -n : n;
  }

  #array(buf: Buffer, start: number, end: number): Parsed {
    const count = this.#number(buf, start + 1, end);
    if (count === null) return 'incomplete';
    if (!(count <= COUNT_MAX)) return this.#fail('invalid multibulk length');
    let at = this.next;
    for (let k = 0; k < count; k++) {
      if (at >= end) return 'incomplete';
      if (buf[at] !== 36 /* $ */) return this.#fail(`expected '$', got '${String.fromCharCode(buf[at]!)}'`);
      const length = this.#number(buf, at + 1, end);
      if (length === null) return 'incomplete';
      if (!(length >= 0 && length <= this.maxBulk)) return this.#fail('invalid bulk length');
      at = this.next + length + 2; // the bytes, then CR LF
      if (at > end) {
        this.need = at - start; // to the end of this argument, at least
        return 'incomplete';
      }
      this.argStart[k] = this.next;
      this.argEnd[k] = this.next + length;
    }
    this.argc = Math.max(count, 0); // `*0` and `*-1` are empty requests, as redis-server takes them
    this.next = at;
    return 'request';
  }

  /** One line of words, unquoted into a copy of the line (inline requests are rare: telnet's). */
  #inline(buf: Buffer, start: number, end: number): Parsed {
    const lf = buf.indexOf(LF, start);
    const complete = lf >= 0 && lf < end;
    if ((complete ? lf : end) - start > INLINE_MAX) return this.#fail('too big inline request');
    if (!complete) return 'incomplete';
    this.next = lf + 1;
    const line = buf.toString('latin1', start, lf > start && buf[lf - 1] === CR ? lf - 1 : lf);
    let [at, out] = [0, '']; // WORD.lastIndex is 0 here: a failed exec (every loop's last) resets it
    for (let m = WORD.exec(line); m !== null; at = WORD.lastIndex, m = WORD.exec(line)) {
      const word = m[3] ?? m[1]?.replace(/\\(.)/g, (_, c: string) => ESCAPED[c] ?? c) ?? m[2]!.replace(/\\'/g, "'");
      this.argStart[this.argc] = out.length;
      out += word;
      this.argEnd[this.argc++] = out.length;
    }
    if (!/^[ \t]*$/.test(line.slice(at))) return this.#fail('unbalanced quotes in request');
    this.source = Buffer.from(out, 'latin1');
    return 'request';
  }
}
