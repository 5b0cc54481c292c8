/**
 * Each ring operation of the `uring` backend, queued through the binding and completed by the
 * real kernel on real sockets: one test per operation (docs/native.md, "Adding a ring
 * operation": a new operation adds its test here), and the guards every operation shares (a
 * refused request queues nothing).
 */
import * as os from 'node:os';
import type { NativeBackend, Ring } from '@riopool/native';
import { isLinux, native, PAGE, withCode } from './helpers';

const { ECANCELED, EBADF } = os.constants.errno;
const CQE_F_BUFFER = 1;
const CQE_F_MORE = 2;

interface Completion {
  result: number;
  flags: number;
}

/** A uring backend, its ring started, and a connected pair of sockets made through the ring. */
interface Bench {
  backend: NativeBackend;
  ring: Ring;
  /** Queues one operation with a fresh op id (queue(op)), submits, and returns the op id. */
  queue(queue: (op: number) => void): number;
  /** The next completion of op id `op` (a multishot operation completes several times). */
  next(op: number): Promise<Completion>;
  /** queue() then next(): the operation's one completion. */
  run(queue: (op: number) => void): Promise<Completion>;
  close(): void;
}

function bench(): Bench {
  const backend = new native.Backend('uring', 8);
  const ring = backend.ring()!;
  const arrived = new Map<number, Completion[]>();
  const waiting = new Map<number, (c: Completion) => void>();
  ring.start((ops, results, flags, count) => {
    for (let i = 0; i < count; i++) {
      const c = { result: results[i]!, flags: flags[i]! };
      const resolve = waiting.get(ops[i]!);
      waiting.delete(ops[i]!);
      if (resolve) resolve(c);
      else arrived.set(ops[i]!, [...(arrived.get(ops[i]!) ?? []), c]);
    }
  });
  let nextOp = 1;
  const next = (op: number) =>
    new Promise<Completion>((resolve) => {
      const queued = arrived.get(op);
      if (queued?.length) resolve(queued.shift()!);
      else waiting.set(op, resolve);
    });
  const queue = (q: (op: number) => void) => {
    const op = nextOp++;
    q(op);
    ring.submit();
    return op;
  };
  return { backend, ring, queue, next, run: (q) => next(queue(q)), close: () => backend.close() };
}

/** A listener, and a client connected to it through accept and connect on the ring. */
async function pair(b: Bench): Promise<{ listener: number; server: number; client: number }> {
  const [listener, port] = b.ring.listen('127.0.0.1', 0, 8);
  const client = b.ring.socket('127.0.0.1');
  const accepted = b.run((op) => b.ring.accept(op, listener));
  const connected = await b.run((op) => b.ring.connect(op, client, '127.0.0.1', port));
  expect(connected.result).toBe(0);
  const server = (await accepted).result;
  expect(server).toBeGreaterThan(2);
  return { listener, server, client };
}

/** Whether this kernel takes an incremental buffer ring (6.12+), for receiveMultishot. */
function hasBufferRing(): boolean {
  if (!isLinux) return false;
  let backend: NativeBackend;
  try {
    backend = new native.Backend('uring', 1);
  } catch {
    return false; // no ring here at all (io_uring disabled): the suite's own tests say so, not its collection
  }
  try {
    return backend.ring()!.features().bufferRing;
  } finally {
    backend.close();
  }
}

function bytes(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);
}

(isLinux ? describe : describe.skip)('ring operations on the real kernel', () => {
  let b: Bench;
  let sockets: number[];
  let mappings: ArrayBuffer[];
  beforeEach(() => {
    b = bench();
    sockets = [];
    mappings = [];
  });
  afterEach(() => {
    b.close(); // cancels what is still in flight and waits for it
    for (const fd of sockets) b.ring.closeSocket(fd);
    for (const ab of mappings) native.unmap(ab);
  });
  const connected = async () => {
    const p = await pair(b);
    sockets.push(p.listener, p.server, p.client);
    return p;
  };
  /** A mapping of `pages` pages, registered; returns its bytes and buffer id. */
  const registered = (pages = 1) => {
    const ab = native.map(pages * PAGE);
    mappings.push(ab);
    return { bytes: new Uint8Array(ab), id: b.backend.register(ab), ab };
  };

  test('accept and connect: the accepted socket is the peer of the connected one', async () => {
    const { server, client } = await connected();
    expect(b.ring.socketName(server, true)[1]).toBe(b.ring.socketName(client, false)[1]);
    expect(b.ring.socketName(client, true)[1]).toBe(b.ring.socketName(server, false)[1]);
  });

  test('send (WRITE_FIXED) and receive (READ_FIXED): bytes from one registration land in another', async () => {
    const { server, client } = await connected();
    const from = registered();
    const into = registered();
    from.bytes.set(bytes(300, 1), 100);
    const received = b.run((op) => b.ring.receive(op, server, into.id, 8, 1000));
    expect((await b.run((op) => b.ring.send(op, client, from.id, 100, 300))).result).toBe(300);
    expect((await received).result).toBe(300);
    expect(into.bytes.subarray(8, 308)).toEqual(bytes(300, 1));
  });

  test('sendParts (SENDMSG): the ranges of several registrations arrive as one stream, in order', async () => {
    const { server, client } = await connected();
    const a = registered();
    const c = registered();
    const into = registered();
    a.bytes.set(bytes(50, 2), 0);
    c.bytes.set(bytes(70, 3), 200);
    const parts = Int32Array.of(c.id, 200, 70, a.id, 0, 50);
    expect((await b.run((op) => b.ring.sendParts(op, client, parts, 2))).result).toBe(120);
    let got = 0;
    while (got < 120) got += (await b.run((op) => b.ring.receive(op, server, into.id, got, PAGE - got))).result;
    expect(into.bytes.subarray(0, 120)).toEqual(Uint8Array.from([...bytes(70, 3), ...bytes(50, 2)]));
  });

  test('receivePlain and sendPlain (RECV / SEND) on unregistered memory; unmap refuses while they are in flight', async () => {
    const { server, client } = await connected();
    const from = native.map(PAGE);
    const into = native.map(PAGE);
    mappings.push(from, into);
    new Uint8Array(from).set(bytes(64, 4), 10);
    const received = b.run((op) => b.ring.receivePlain(op, server, into, 0, 64));
    expect(() => native.unmap(into)).toThrow(withCode('EBUSY'));
    expect((await b.run((op) => b.ring.sendPlain(op, client, from, 10, 64))).result).toBe(64);
    expect((await received).result).toBe(64);
    expect(new Uint8Array(into, 0, 64)).toEqual(bytes(64, 4));
  });

  (hasBufferRing() ? test : test.skip)(
    'receiveMultishot (RECV from the buffer ring): a completion per receive naming the bid, MORE until cancelled',
    async () => {
      const { server, client } = await connected();
      const slab = registered();
      const from = registered();
      b.ring.setupBufferRing(8);
      b.ring.provide(5, slab.id, 0, PAGE);
      const op = b.queue((o) => b.ring.receiveMultishot(o, server));
      from.bytes.set(bytes(40, 5));
      expect((await b.run((o) => b.ring.send(o, client, from.id, 0, 40))).result).toBe(40);
      const first = await b.next(op);
      expect(first.result).toBe(40);
      expect(first.flags & (CQE_F_BUFFER | CQE_F_MORE)).toBe(CQE_F_BUFFER | CQE_F_MORE);
      expect(first.flags >>> 16).toBe(5);
      expect(slab.bytes.subarray(0, 40)).toEqual(bytes(40, 5));
      // Deregistering the slab lent to the buffer ring is refused.
      expect(() => b.backend.deregister(slab.id)).toThrow(withCode('EBUSY'));
      expect((await b.run((o) => b.ring.cancel(o, op))).result).toBe(0);
      const last = await b.next(op);
      expect(last.result).toBe(-ECANCELED);
      expect(last.flags & CQE_F_MORE).toBe(0);
    },
  );

  test('cancel (ASYNC_CANCEL): the target completes with -ECANCELED, the cancel with 0; an unknown target: -ENOENT', async () => {
    const { server } = await connected();
    const into = registered();
    const target = b.queue((op) => b.ring.receive(op, server, into.id, 0, 100));
    expect((await b.run((op) => b.ring.cancel(op, target))).result).toBe(0);
    expect((await b.next(target)).result).toBe(-ECANCELED);
    expect((await b.run((op) => b.ring.cancel(op, 999_999))).result).toBe(-os.constants.errno.ENOENT);
  });

  test('shutdown (SHUTDOWN, SHUT_WR): the peer reads the end of the stream', async () => {
    const { server, client } = await connected();
    const into = registered();
    expect((await b.run((op) => b.ring.shutdown(op, client))).result).toBe(0);
    expect((await b.run((op) => b.ring.receive(op, server, into.id, 0, 100))).result).toBe(0);
  });

  test('close (CLOSE): the socket is closed (the peer reads the end), and closing a number that is no open file is -EBADF', async () => {
    const { server, client } = await connected();
    sockets.splice(sockets.indexOf(client), 1);
    const into = registered();
    expect((await b.run((op) => b.ring.close(op, client))).result).toBe(0);
    expect((await b.run((op) => b.ring.receive(op, server, into.id, 0, 100))).result).toBe(0);
    // A descriptor number past the process's limit is no open file.
    expect((await b.run((op) => b.ring.close(op, 1 << 30))).result).toBe(-EBADF);
  });

  test('features().setup names the setup flags the kernel took: all three on a mainline 6.0 or later', () => {
    const { setup } = b.ring.features();
    const all = ['COOP_TASKRUN', 'TASKRUN_FLAG', 'SINGLE_ISSUER'];
    // A ring opens only where the sparse buffer table is (5.19, or a distribution's backport), so
    // cooperative task work is there too; SINGLE_ISSUER came in 6.0.
    expect([all, all.slice(0, 2)]).toContainEqual(setup);
    const [major, minor] = os.release().split('.').map(Number) as [number, number];
    if (major * 100 + minor >= 600) expect(setup).toEqual(all);
  });

  test('the arrays of a batch that a callback keeps are still its own after the ring is closed', async () => {
    // The binding writes the batch arrays through a pointer of its own; the memory lives until
    // both the binding and the arrays are done with it.
    const backend = new native.Backend('uring', 1);
    const other = new native.Backend('uring', 1);
    try {
      const ring = backend.ring()!;
      let kept: Int32Array[] = [];
      let done!: () => void;
      const arrived = new Promise<void>((resolve) => {
        done = resolve;
      });
      ring.start((ops, results, flags) => {
        kept = [ops, results, flags];
        done();
      });
      ring.cancel(77, 12345); // a cancel of nothing: completes at once with -ENOENT
      ring.submit();
      await arrived;
      backend.close();
      for (let i = 0; i < 3; i++) {
        globalThis.gc?.();
        await new Promise((resolve) => setImmediate(resolve));
      }
      // Another ring's batch: had the first ring's memory been freed at its close, the allocator
      // would likely hand it to this one, and op 88 would show through the kept arrays.
      const otherArrived = new Promise<void>((resolve) => other.ring()!.start(() => resolve()));
      other.ring()!.cancel(88, 12345);
      other.ring()!.submit();
      await otherArrived;
      expect([kept[0]![0], kept[1]![0], kept[2]![0]]).toEqual([77, -os.constants.errno.ENOENT, 0]);
      expect(kept.map((a) => [a.length, a.byteOffset])).toEqual([
        [1024, 0],
        [1024, 4096],
        [1024, 8192],
      ]);
    } finally {
      backend.close();
      other.close();
    }
  });

  test('a refused request queues nothing: a bad range in the second part of sendParts, an unregistered id, a reused op id', async () => {
    const { client } = await connected();
    const a = registered();
    expect(() => b.ring.sendParts(1000, client, Int32Array.of(a.id, 0, 10, a.id, PAGE - 5, 10), 2)).toThrow(withCode('EINVAL'));
    expect(() => b.ring.send(1001, client, 7, 0, 10)).toThrow(withCode('EFAULT'));
    expect(() => b.ring.receiveMultishot(1002, client)).toThrow(withCode('EINVAL')); // no buffer ring
    expect(b.ring.inFlight).toBe(0);
    expect(b.ring.submit()).toBe(0); // nothing reached the submission queue
    const target = b.queue((op) => b.ring.receive(op, client, a.id, 0, 10));
    expect(() => b.ring.receive(target, client, a.id, 0, 10)).toThrow(withCode('EINVAL')); // in flight
    expect(b.ring.inFlight).toBe(1);
    // The registration counts the refused operations as nothing: only the receive holds it.
    expect(() => b.backend.deregister(a.id)).toThrow(withCode('EBUSY'));
    await b.run((op) => b.ring.cancel(op, target));
    await b.next(target);
    b.backend.deregister(a.id);
  });
});
