/**
 * Busy clients that check every reply, in a process of their own: <connections> connections to
 * 127.0.0.1:<port> (opened first, a hundred at a time), each sending batches of <pipeline> requests (SET k v, then GET k, with a
 * value of <valueBytes> that names the connection and the batch) and checking each reply before
 * the next batch, for <seconds>. Prints one JSON line: { requests, right, wrong, errors, closed }.
 *
 *   node bench/dist/load-clients.js <port> <connections> <seconds> [pipeline=16] [valueBytes=256]
 */
import * as net from 'node:net';

interface Tally {
  requests: number;
  right: number;
  wrong: number;
  errors: string[];
  closed: number;
}

/** The value SET puts under connection c's key in batch b, padded to `size` bytes. */
function value(c: number, b: number, size: number): Buffer {
  const v = Buffer.alloc(size, 0x2e);
  v.write(`${c}:${b}:`, 'latin1');
  return v;
}

const bulk = (b: Buffer) => Buffer.concat([Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n')]);
const command = (...args: Buffer[]) => Buffer.concat([Buffer.from(`*${args.length}\r\n`), ...args.map(bulk)]);

/** Opens a connection (resolves once it is established). */
function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** One connection's loop until the deadline. */
function client(socket: net.Socket, c: number, deadline: number, pipeline: number, size: number, tally: Tally): Promise<void> {
  return new Promise((resolve) => {
    const key = Buffer.from(`key:${c}`);
    let batch = 0;
    let expected: (Buffer | string)[] = [];
    let pending = Buffer.alloc(0);
    const send = () => {
      if (Date.now() >= deadline) {
        socket.end();
        return;
      }
      batch++;
      const parts: Buffer[] = [];
      expected = [];
      for (let i = 0; i < pipeline / 2; i++) {
        const v = value(c, batch * 1000 + i, size);
        parts.push(command(Buffer.from('SET'), key, v), command(Buffer.from('GET'), key));
        expected.push('+OK', v);
      }
      tally.requests += expected.length;
      socket.write(Buffer.concat(parts));
    };
    socket.on('data', (d) => {
      pending = pending.length === 0 ? d : Buffer.concat([pending, d]);
      // Replies: +OK, or $<n> then n bytes
      for (;;) {
        if (expected.length === 0) break;
        const eol = pending.indexOf('\r\n');
        if (eol < 0) break;
        if (pending[0] === 0x24 /* $ */) {
          const n = Number(pending.toString('latin1', 1, eol));
          if (pending.length < eol + 2 + n + 2) break;
          const got = pending.subarray(eol + 2, eol + 2 + n);
          const want = expected.shift()!;
          if (Buffer.isBuffer(want) && want.equals(got)) tally.right++;
          else tally.wrong++;
          pending = pending.subarray(eol + 2 + n + 2);
        } else {
          const line = pending.toString('latin1', 0, eol);
          if (line === expected.shift()) tally.right++;
          else tally.wrong++;
          pending = pending.subarray(eol + 2);
        }
      }
      if (expected.length === 0) send();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => tally.errors.push(e.code ?? e.message));
    socket.on('close', () => {
      tally.closed++;
      resolve();
    });
    send();
  });
}

async function main(): Promise<void> {
  const [port, connections, seconds, pipeline = 16, size = 256] = process.argv.slice(2).map(Number);
  const tally: Tally = { requests: 0, right: 0, wrong: 0, errors: [], closed: 0 };
  // Connected a hundred at a time first (a storm of connects overflows any listen backlog), then loaded.
  const sockets: net.Socket[] = [];
  while (sockets.length < connections!) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, connections! - sockets.length) }, () => connect(port!)))));
  }
  const deadline = Date.now() + seconds! * 1000;
  await Promise.all(sockets.map((socket, c) => client(socket, c, deadline, pipeline, size, tally)));
  console.log(JSON.stringify({ ...tally, errors: tally.errors.slice(0, 10), errorCount: tally.errors.length }));
}

void main();
