/**
 * The ReceiveRing's policy (packages/pool/src/io/receive-ring.ts), on the real class over a ring
 * in memory (fake-ring.ts) and a pool over the in-memory registrar: what it lends and when. A
 * shortage (a receive that found no buffer: ENOBUFS) doubles the target up to MAX_BUFFERS; a
 * decay tick halves it back to BASE_BUFFERS; a tick with no receive armed since the previous one
 * parks the ring (unregistered, every buffer's lease released) and the next arm sets it up
 * again. A completion's slice is exactly its bytes at the buffer's running offset, and a buffer
 * the kernel has moved past goes back to the pool only once every slice of it is released.
 */
import type { Allocator, Lease, MemoryRegistrar } from '@riopool/core';
import * as os from 'node:os';
import { checkInvariants, createMemoryPool } from '@riopool/pool/testing';
import { CQE_BUFFER, CQE_BUFFER_MORE, CQE_BUFFER_SHIFT, CQE_MORE } from '../src/io/reactor';
import { BASE_BUFFERS, BUFFER_BYTES, MAX_BUFFERS, ReceiveRing } from '../src/io/receive-ring';
import { allocatorOf, type Pool } from '../src/pool';
import { FakeRing } from './fake-ring';

interface Setup {
  pool: Pool;
  alloc: Allocator;
  ring: FakeRing;
  rr: ReceiveRing;
}

function open(options: Parameters<typeof createMemoryPool>[0] = {}): Setup {
  const pool = createMemoryPool(options);
  const alloc = allocatorOf(pool);
  const ring = new FakeRing(alloc.registrar as MemoryRegistrar, { bufferRing: true });
  const rr = ReceiveRing.open(ring, alloc);
  if (typeof rr === 'string') throw new Error(rr);
  return { pool, alloc, ring, rr };
}

const leased = (s: Setup) => s.pool.stats().totals.leased;

/**
 * A connected socket on the fake ring whose completions go to the ReceiveRing as the uring
 * datapath hands them (take() for each completion that names a buffer): `receive(bytes)` has the
 * peer send that many bytes and the kernel complete one multishot receive's batch, in segments of
 * `chunk`. Returns the slices taken and the multishot's last result, if it ended.
 */
function socketOn(s: Setup) {
  const [listenFd] = s.ring.listen();
  let fd = -1;
  let nextOp = 1;
  let multishot = 0;
  const slices: Lease[] = [];
  let ended: number | undefined;
  s.ring.start((ops, results, flags, count) => {
    for (let i = 0; i < count; i++) {
      if (ops[i] === multishot) {
        if (results[i]! > 0 && (flags[i]! & CQE_BUFFER) !== 0) slices.push(s.rr.take(results[i]!, flags[i]!)!);
        if ((flags[i]! & CQE_MORE) === 0) ended = results[i];
      } else if (results[i]! > 0) fd = results[i]!;
    }
  });
  s.ring.peerConnect(listenFd);
  s.ring.accept(nextOp++, listenFd);
  s.ring.submit();
  s.ring.step({ positions: [0], chunk: 1, sendCap: 1, shots: 1, endMultishot: false });
  return {
    slices,
    get ended() {
      return ended;
    },
    receive(bytes: number, chunk = BUFFER_BYTES): void {
      if (multishot === 0 || ended !== undefined) {
        multishot = nextOp++;
        ended = undefined;
        s.ring.receiveMultishot(multishot, fd);
        s.ring.submit();
      }
      s.ring.peerSend(fd, new Uint8Array(bytes));
      s.ring.step({ positions: [0], chunk, sendCap: 1, shots: 1000, endMultishot: false });
    },
  };
}
/** The flags of a completion that took bytes from lent buffer `bid`, with room left in it or not. */
const flagsOf = (bid: number, more: boolean) => CQE_BUFFER | (bid << CQE_BUFFER_SHIFT) | (more ? CQE_BUFFER_MORE : 0);

test('no buffer ring on this kernel, or one it refuses: open says why', () => {
  const pool = createMemoryPool();
  const alloc = allocatorOf(pool);
  expect(ReceiveRing.open(new FakeRing(alloc.registrar as MemoryRegistrar), alloc)).toMatch(/incremental buffer ring/);
  const refusing = new FakeRing(alloc.registrar as MemoryRegistrar, { bufferRing: true });
  refusing.setupBufferRing = () => {
    throw new Error('io_uring_register: ENOMEM');
  };
  expect(ReceiveRing.open(refusing, alloc)).toMatch(/could not be registered: .*ENOMEM/);
});

test('the first arm lends BASE_BUFFERS buffers of BUFFER_BYTES, each a lease of the pool, each bid once', () => {
  const s = open();
  expect(s.ring.lent).toHaveLength(0); // nothing is lent before a receive is armed
  expect(s.rr.arm()).toBe(true);
  expect(s.rr.stats()).toMatchObject({
    lent: BASE_BUFFERS,
    target: BASE_BUFFERS,
    armed: 1,
    lends: BASE_BUFFERS,
    bufferBytes: BUFFER_BYTES,
  });
  expect(s.ring.lent).toHaveLength(BASE_BUFFERS);
  expect(new Set(s.ring.lent.map((b) => b.bid)).size).toBe(BASE_BUFFERS);
  for (const b of s.ring.lent) expect(b.length).toBe(BUFFER_BYTES);
  expect(leased(s)).toBe(BASE_BUFFERS);
  checkInvariants(s.pool);
});

test('a shortage doubles the target up to MAX_BUFFERS and lends up to it; each decay tick halves it down to BASE_BUFFERS', () => {
  const s = open();
  s.rr.arm();
  const targets: number[] = [];
  for (let i = 0; i < 4; i++) {
    s.rr.shortage();
    targets.push(s.rr.stats().target);
    expect(s.rr.stats().lent).toBe(s.rr.stats().target);
    expect(s.ring.lent).toHaveLength(s.rr.stats().target);
  }
  expect(targets).toEqual([2 * BASE_BUFFERS, 4 * BASE_BUFFERS, MAX_BUFFERS, MAX_BUFFERS].map((n) => Math.min(n, MAX_BUFFERS)));
  expect(s.rr.stats().shortages).toBe(4);
  const decayed: number[] = [];
  for (let i = 0; i < 4; i++) {
    s.rr.decay(); // a receive is armed: the ring never parks meanwhile
    decayed.push(s.rr.stats().target);
  }
  expect(decayed).toEqual([MAX_BUFFERS / 2, MAX_BUFFERS / 4, BASE_BUFFERS, BASE_BUFFERS].map((n) => Math.max(n, BASE_BUFFERS)));
  // A lower target takes nothing back from the kernel: buffers go as traffic moves past them,
  // and are not replaced while more than the target are lent.
  expect(s.rr.stats().lent).toBe(MAX_BUFFERS);
  const socket = socketOn(s);
  socket.receive(2 * BUFFER_BYTES); // the kernel fills two buffers and moves past them
  for (const slice of socket.slices) slice.release();
  expect(s.rr.stats().lent).toBe(MAX_BUFFERS - 2);
  expect(s.ring.lent).toHaveLength(MAX_BUFFERS - 2);
  expect(leased(s)).toBe(MAX_BUFFERS - 2);
});

test('a receive that finds the ring empty ends with ENOBUFS; the shortage lends twice as many', () => {
  const s = open();
  s.rr.arm();
  const socket = socketOn(s);
  // More than the lent buffers hold, in one batch: the kernel takes every buffer, then finds none.
  socket.receive((BASE_BUFFERS + 1) * BUFFER_BYTES);
  expect(socket.ended).toBe(-os.constants.errno.ENOBUFS);
  expect(socket.slices.reduce((n, l) => n + l.length, 0)).toBe(BASE_BUFFERS * BUFFER_BYTES);
  // What the datapath does then (datapath-uring.ts): disarmed, shortage.
  s.rr.disarmed();
  s.rr.shortage();
  expect(s.rr.stats()).toMatchObject({ target: 2 * BASE_BUFFERS, lent: 2 * BASE_BUFFERS, shortages: 1 });
  expect(s.ring.lent).toHaveLength(2 * BASE_BUFFERS);
  // The buffers the kernel moved past are the slices' now: their slots go with the slices.
  expect(leased(s)).toBe(3 * BASE_BUFFERS);
  for (const slice of socket.slices) slice.release();
  expect(leased(s)).toBe(2 * BASE_BUFFERS);
  checkInvariants(s.pool);
});

test('a tick with no receive armed since the last one parks the ring; the next arm sets it up again at BASE_BUFFERS', () => {
  const s = open();
  s.rr.arm();
  s.rr.shortage(); // target 2 x BASE
  s.rr.disarmed();
  s.rr.decay(); // armed since the last tick: no park
  expect(s.ring.closes).toBe(0);
  expect(s.rr.stats().lent).toBe(2 * BASE_BUFFERS);
  s.rr.decay(); // quiet: parks
  expect(s.ring.closes).toBe(1);
  expect(s.ring.bufferRingSlots).toBe(0);
  expect(s.rr.stats().lent).toBe(0);
  expect(leased(s)).toBe(0); // a pool with no receive armed lends nothing
  s.rr.decay(); // parked already: nothing more to do
  expect(s.ring.closes).toBe(1);
  expect(s.rr.arm()).toBe(true);
  expect(s.ring.setups).toBe(2);
  expect(s.rr.stats()).toMatchObject({ lent: BASE_BUFFERS, target: BASE_BUFFERS, armed: 1 });
  // While a receive is armed, no tick parks it.
  for (let i = 0; i < 3; i++) s.rr.decay();
  expect(s.ring.closes).toBe(1);
  expect(s.rr.stats().lent).toBe(BASE_BUFFERS);
});

test("a completion's slice is its bytes at the buffer's running offset; a finished buffer goes back only once its slices are released", () => {
  const s = open();
  s.rr.arm();
  const { bid, bufferId, offset } = s.ring.lent[0]!;
  const socket = socketOn(s);
  socket.receive(100);
  socket.receive(900);
  const [first, second] = socket.slices;
  expect(first!.rioBuf).toEqual({ bufferId, offset, length: 100 });
  expect(second!.rioBuf).toEqual({ bufferId, offset: offset + 100, length: 900 });
  expect(s.rr.stats().lent).toBe(BASE_BUFFERS); // BUF_MORE: the kernel keeps the buffer
  expect(s.ring.lent[0]).toMatchObject({ bid, used: 1000 });
  socket.receive(BUFFER_BYTES - 1000, BUFFER_BYTES); // the rest of it: no BUF_MORE
  const last = socket.slices[2]!;
  expect(last.rioBuf).toEqual({ bufferId, offset: offset + 1000, length: BUFFER_BYTES - 1000 });
  // The ring let go of it and lent a fresh buffer in its place; the slices still hold the old one.
  expect(s.rr.stats()).toMatchObject({ lent: BASE_BUFFERS, lends: BASE_BUFFERS + 1 });
  expect(s.ring.lent).toHaveLength(BASE_BUFFERS);
  const fresh = s.ring.lent.at(-1)!;
  expect(fresh.bufferId === bufferId && fresh.offset === offset).toBe(false); // other memory, whatever its bid
  expect(leased(s)).toBe(BASE_BUFFERS + 1);
  first!.release();
  second!.release();
  expect(leased(s)).toBe(BASE_BUFFERS + 1);
  last.release();
  expect(leased(s)).toBe(BASE_BUFFERS); // the old buffer's slot went back with its last slice
  checkInvariants(s.pool);
});

test('past the registration budget the ring lends what it has; with nothing registered, arm says no', () => {
  const none = open({ maxRegisteredBytes: 0 });
  expect(none.rr.arm()).toBe(false); // the connection receives into a lease instead
  expect(none.ring.lent).toHaveLength(0);
  expect(leased(none)).toBe(0);
  const two = open({ maxRegisteredBytes: 2 * BUFFER_BYTES, slabBytes: BUFFER_BYTES });
  expect(two.rr.arm()).toBe(true);
  expect(two.rr.stats().lent).toBe(2);
  expect(leased(two)).toBe(2);
});

test('close parks for good: the kernel lets go of every buffer, and arm says no from then on', () => {
  const s = open();
  s.rr.arm();
  const slice = s.rr.take(10, flagsOf(s.ring.lent[0]!.bid, true))!;
  s.rr.close();
  expect(s.ring.bufferRingSlots).toBe(0);
  expect(leased(s)).toBe(1); // the slice the connection holds keeps its buffer's slot
  expect(s.rr.take(10, flagsOf(0, true))).toBeUndefined(); // a completion drained after close: nothing
  expect(s.rr.arm()).toBe(false);
  slice.release();
  expect(leased(s)).toBe(0);
});
