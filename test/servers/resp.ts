/** A minimal RESP reply reader for tests: parses a byte stream into replies. */
export type Reply = string | number | Buffer | null | { error: string } | Reply[];

export class ReplyReader {
  private buf = Buffer.alloc(0);
  readonly replies: Reply[] = [];

  push(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      const r = this.parse(0);
      if (r === undefined) return;
      this.replies.push(r.value);
      this.buf = this.buf.subarray(r.next);
    }
  }

  private line(at: number): [string, number] | undefined {
    const end = this.buf.indexOf('\r\n', at);
    return end < 0 ? undefined : [this.buf.toString('latin1', at + 1, end), end + 2];
  }

  private parse(at: number): { value: Reply; next: number } | undefined {
    if (at >= this.buf.length) return undefined;
    const type = String.fromCharCode(this.buf[at]!);
    const l = this.line(at);
    if (l === undefined) return undefined;
    const [text, next] = l;
    switch (type) {
      case '+':
        return { value: text, next };
      case '-':
        return { value: { error: text }, next };
      case ':':
        return { value: Number(text), next };
      case '$': {
        const n = Number(text);
        if (n < 0) return { value: null, next };
        if (next + n + 2 > this.buf.length) return undefined;
        return { value: Buffer.from(this.buf.subarray(next, next + n)), next: next + n + 2 };
      }
      case '*': {
        const n = Number(text);
        const items: Reply[] = [];
        let p = next;
        for (let i = 0; i < n; i++) {
          const r = this.parse(p);
          if (r === undefined) return undefined;
          items.push(r.value);
          p = r.next;
        }
        return { value: items, next: p };
      }
      default:
        throw new Error(`bad reply type ${type}`);
    }
  }
}

export function command(...args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(a);
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}
