/**
 * Two model-based tests against the ring in memory (fake-ring.ts). The first, of registered I/O's
 * reference rule (docs/design.md, rule 2) on the reactor alone: submit receives and sends on
 * leases, complete them in batches, cancel them, release the caller's references, trim and close
 * the pool, in any order. After every step: the allocator's
 * invariants hold, every lease an operation uses is still leased and its slab still registered
 * (the fake ring checks each operation's buffer at submission and at completion, and the
 * registrar refuses to deregister a buffer the ring or the model says is in use), and the
 * pool's lease count is what the model expects. The second, of connections on the uring datapath
 * (the shared receive ring, partial sends), is described where it begins, below. The seed is printed; FC_SEED
 * replays it.
 */
import fc from 'fast-check';
import { MemoryRegistrar, type Allocator, type Lease } from '@riopool/core';
import type { Ring } from '@riopool/native';
import { checkInvariants, createMemoryPool } from '@riopool/pool/testing';
import { propertyParams, sleep } from '../../../test/support';
import type { PoolRegistrar } from '../src/backend';
import { type Connection, newConnection } from '../src/io/connection';
import { openUringIo } from '../src/io/datapath-uring';
import { Reactor } from '../src/io/reactor';
import type { Io, ReceiveMode, Transport } from '../src/io/transport';
import { allocatorOf, poolOn, type Pool } from '../src/pool';
import { FakeRing, type StepChoice } from './fake-ring';

interface Held {
  lease: Lease;
  bufferId: number;
  userRefs: number;
  ops: Set<number>;
}
interface Model {
  held: Held[];
  closing: boolean;
}
interface Real {
  pool: Pool;
  registrar: MemoryRegistrar;
  ring: FakeRing;
  reactor: Reactor;
}
type Cmd = fc.Command<Model, Real>;

const PAGE = 4096;
const FD = 7;

function live(m: Model): Held[] {
  return m.held.filter((h) => h.userRefs > 0 || h.ops.size > 0);
}

function check(m: Model, r: Real): void {
  checkInvariants(r.pool);
  const held = live(m);
  const leased = r.pool.stats().totals.leased;
  if (leased !== held.length) throw new Error(`pool has ${leased} leased, model ${held.length}`);
  for (const h of held) {
    if (h.lease.released) throw new Error('a lease still held by the caller or an operation reads as released');
    if (h.ops.size > 0 && r.registrar.registeredLength(h.bufferId) === undefined) {
      throw new Error(`buffer ${h.bufferId} deregistered with ${h.ops.size} operation(s) in flight`);
    }
  }
  for (const h of m.held)
    if (h.userRefs === 0 && h.ops.size === 0 && !h.lease.released) throw new Error('a lease nobody holds is not released');
  const ops = m.held.reduce((n, h) => n + h.ops.size, 0);
  if (r.reactor.leasesHeld !== ops) throw new Error(`reactor holds ${r.reactor.leasesHeld} leases, model ${ops}`);
}

class Acquire implements Cmd {
  constructor(readonly length: number) {}
  check = (m: Readonly<Model>) => !m.closing;
  run(m: Model, r: Real): void {
    const lease = r.pool.acquire(this.length);
    m.held.push({ lease, bufferId: lease.rioBuf.bufferId, userRefs: 1, ops: new Set() });
    check(m, r);
  }
  toString = () => `acquire(${this.length})`;
}

class Release implements Cmd {
  constructor(readonly pick: number) {}
  check = (m: Readonly<Model>) => m.held.some((h) => h.userRefs > 0);
  run(m: Model, r: Real): void {
    const mine = m.held.filter((h) => h.userRefs > 0);
    const h = mine[this.pick % mine.length]!;
    h.userRefs--; // the model first: the registrar's outstanding check reads it
    h.lease.release();
    check(m, r);
  }
  toString = () => `release(#${this.pick})`;
}

class Submit implements Cmd {
  constructor(
    readonly pick: number,
    readonly send: boolean,
    readonly length: number,
  ) {}
  check = (m: Readonly<Model>) => m.held.some((h) => h.userRefs > 0);
  run(m: Model, r: Real): void {
    const mine = m.held.filter((h) => h.userRefs > 0);
    const h = mine[this.pick % mine.length]!;
    const { bufferId, offset, length } = h.lease.rioBuf;
    const n = Math.min(this.length, length);
    // The reactor calls this before it drops the operation's reference, so the model lets go
    // of the operation first, as the registrar's outstanding check expects.
    const done = () => {
      h.ops.delete(op);
    };
    const op = this.send
      ? r.reactor.send(FD, h.lease, bufferId, offset, n, done)
      : r.reactor.receive(FD, h.lease, bufferId, offset, n, done);
    h.ops.add(op);
    check(m, r);
  }
  toString = () => `${this.send ? 'send' : 'receive'}(#${this.pick}, ${this.length})`;
}

class Flush implements Cmd {
  check = () => true;
  run(m: Model, r: Real): void {
    r.reactor.flush();
    check(m, r);
  }
  toString = () => 'flush()';
}

class Complete implements Cmd {
  constructor(
    readonly positions: number[],
    readonly bytes: number,
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    r.ring.completeBatch(this.positions, this.bytes);
    check(m, r);
  }
  toString = () => `complete([${this.positions.join(',')}], ${this.bytes})`;
}

class Cancel implements Cmd {
  constructor(readonly pick: number) {}
  check = (m: Readonly<Model>) => m.held.some((h) => h.ops.size > 0);
  run(m: Model, r: Real): void {
    const ops = m.held.flatMap((h) => [...h.ops]);
    r.reactor.cancel(ops[this.pick % ops.length]!);
    check(m, r);
  }
  toString = () => `cancel(#${this.pick})`;
}

class Trim implements Cmd {
  check = () => true;
  run(m: Model, r: Real): void {
    r.pool.trim();
    check(m, r);
  }
  toString = () => 'trim()';
}

class Close implements Cmd {
  check = (m: Readonly<Model>) => !m.closing;
  run(m: Model, r: Real): void {
    m.closing = true;
    void r.pool.close();
    check(m, r);
  }
  toString = () => 'close()';
}

const length = fc.oneof(fc.constantFrom(512, 4096), fc.integer({ min: 1, max: 3 * PAGE }));
const commands = fc.commands(
  [
    length.map((n) => new Acquire(n)),
    length.map((n) => new Acquire(n)),
    fc.nat().map((i) => new Release(i)),
    fc.tuple(fc.nat(), fc.boolean(), length).map(([i, s, n]) => new Submit(i, s, n)),
    fc.tuple(fc.nat(), fc.boolean(), length).map(([i, s, n]) => new Submit(i, s, n)),
    fc.constant(new Flush()),
    fc.tuple(fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.nat({ max: 5000 })).map(([p, b]) => new Complete(p, b)),
    fc.nat().map((i) => new Cancel(i)),
    fc.oneof({ arbitrary: fc.constant(new Trim()), weight: 6 }, { arbitrary: fc.constant(new Close()), weight: 1 }),
  ],
  { maxCommands: 120, size: 'max' },
);

test('operations in flight keep their leases and slabs, whatever the caller and the pool do (1,000 runs)', () => {
  fc.assert(
    fc.property(commands, (cmds) => {
      const model: Model = { held: [], closing: false };
      let ring: FakeRing | undefined;
      const pool = createMemoryPool({
        pageSize: PAGE,
        slabBytes: PAGE,
        emptySlabsKept: 0,
        emptySlabsMax: 0,
        outstanding: (id) => live(model).filter((h) => h.bufferId === id).length + (ring?.opsOn(id) ?? 0),
      });
      const registrar = allocatorOf(pool).registrar as MemoryRegistrar;
      ring = new FakeRing(registrar);
      const real: Real = { pool, registrar, ring, reactor: new Reactor(ring) };
      fc.modelRun(() => ({ model, real }), cmds);
      // Drain: every operation completes, every caller reference goes, the pool closes.
      real.reactor.flush();
      while (ring.inKernel.length > 0) ring.completeBatch([0], 1);
      for (const h of model.held) {
        while (h.userRefs > 0) {
          h.userRefs--;
          h.lease.release();
        }
      }
      void pool.close();
      check(model, real);
      if (registrar.liveRegistrations !== 0 || registrar.liveMappings !== 0) throw new Error('the closed pool left registrations');
    }),
    propertyParams('I/O model (fake ring)', 1000),
  );
});

// ---------------------------------------------------------------------------------------------
// Connections on the uring datapath over the fake ring: the default receive path (a multishot
// receive per connection from the pool's shared ReceiveRing, receive-ring.ts), lease receives,
// coalesced and partial sends, refused submits. Peers connect, send and end; the application
// writes, holds and releases what it received, pauses, resumes and destroys; the kernel completes
// what it can in batches (fake-ring.ts, step). After every command:
//   - the bytes delivered to each connection are the bytes its peer sent, in order;
//   - every received lease the application still holds has the bytes it had when it came, and
//     none of it lies in a buffer range the kernel may still write (a buffer of the buffer ring
//     recycled while a slice of it is held);
//   - each peer has received a prefix of what was written to its connection, in order (a partial
//     send whose tail is dropped, or sent out of order, shows here);
//   - every operation in flight and every lent buffer names memory still registered as it was.
// At the end every paused connection resumes and the kernel completes everything: each peer
// has received exactly what was written, and each connection exactly what its peer sent.

interface Peer {
  fd: number;
  conn: Connection;
  /** What the peer sent, and how much of it the connection has delivered (in order, checked as it comes). */
  sent: number[];
  delivered: number;
  /** What the application wrote, and how much of it the peer has checked. */
  written: number[];
  checked: number;
  peerEnded: boolean;
  ended: boolean;
  destroyed: boolean;
  closed: boolean;
  paused: boolean;
}
interface HeldData {
  lease: Lease;
  bytes: Uint8Array;
}
interface IoModel {
  peers: Peer[];
  /** Received leases the application holds (at most MAX_HELD: the oldest goes when another comes). */
  held: HeldData[];
  failures: string[];
}
const MAX_HELD = 24;
interface IoReal {
  pool: Pool;
  registrar: RingRegistrar;
  ring: FakeRing;
  io: Io;
  alloc: Allocator;
  listenFd: number;
}
type IoCmd = fc.AsyncCommand<IoModel, IoReal>;

/** The in-memory registrar with the fake ring as its ring; it remembers each registration's memory. */
class RingRegistrar extends MemoryRegistrar implements PoolRegistrar {
  readonly memory = new Map<number, ArrayBuffer>();
  fake: FakeRing | undefined;
  override register(buffer: ArrayBuffer): number {
    const id = super.register(buffer);
    this.memory.set(id, buffer);
    return id;
  }
  override deregister(bufferId: number): void {
    super.deregister(bufferId);
    this.memory.delete(bufferId);
  }
  residentBytes(): null {
    return null;
  }
  memoryStatus() {
    return { pinned: null, locked: null, rss: null, lockLimit: null };
  }
  close(): void {}
  ring(): Ring {
    return this.fake!;
  }
  keepOpenWhile(): void {}
}

/** Lets the microtasks run (the reactor's flush, promise reactions). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Deterministic bytes of a command's seed. */
function bytesOf(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function ioCheck(m: IoModel, r: IoReal): void {
  if (m.failures.length > 0) throw new Error(m.failures.join('\n'));
  checkInvariants(r.pool);
  r.ring.checkRegistrations();
  const writable = r.ring.kernelWritable();
  for (const h of m.held) {
    if (h.lease.released) throw new Error('a received lease the application holds reads as released');
    if (!Buffer.from(h.lease.bytes).equals(h.bytes)) throw new Error('a received lease the application holds changed under it');
    if (!h.lease.registered) continue;
    const { bufferId, offset, length } = h.lease.rioBuf;
    for (const w of writable) {
      if (w.bufferId === bufferId && offset < w.end && w.start < offset + length)
        throw new Error(`a held received lease (buffer ${bufferId} [${offset}, ${offset + length})) lies in a buffer lent to the kernel`);
    }
  }
  for (const p of m.peers) {
    const got = r.ring.sockets.get(p.fd)!.received;
    if (got.length > p.written.length) throw new Error(`peer ${p.fd} received ${got.length} bytes, ${p.written.length} were written`);
    for (; p.checked < got.length; p.checked++) {
      if (got[p.checked] !== p.written[p.checked])
        throw new Error(`peer ${p.fd} received byte ${p.checked} out of order (a send's tail dropped or sent twice?)`);
    }
  }
  const ring = r.io.stats().ring;
  if (ring !== null && ring.lent !== r.ring.lent.length)
    throw new Error(`the receive ring says ${ring.lent} lent, the kernel has ${r.ring.lent.length}`);
}

function livePeers(m: Readonly<IoModel>): Peer[] {
  return m.peers.filter((p) => !p.destroyed && !p.closed);
}

class PeerConnect implements IoCmd {
  check = (m: Readonly<IoModel>) => m.peers.length < 8;
  async run(m: IoModel, r: IoReal): Promise<void> {
    r.ring.peerConnect(r.listenFd);
    await settle();
    ioCheck(m, r);
  }
  toString = () => 'peerConnect()';
}

class PeerSend implements IoCmd {
  constructor(
    readonly pick: number,
    readonly length: number,
    readonly seed: number,
  ) {}
  check = (m: Readonly<IoModel>) => m.peers.some((p) => !p.peerEnded);
  async run(m: IoModel, r: IoReal): Promise<void> {
    const open = m.peers.filter((p) => !p.peerEnded);
    const p = open[this.pick % open.length]!;
    const bytes = bytesOf(this.seed, this.length);
    for (const b of bytes) p.sent.push(b);
    r.ring.peerSend(p.fd, bytes);
    await settle();
    ioCheck(m, r);
  }
  toString = () => `peerSend(#${this.pick}, ${this.length})`;
}

class PeerEnd implements IoCmd {
  constructor(readonly pick: number) {}
  check = (m: Readonly<IoModel>) => m.peers.some((p) => !p.peerEnded);
  async run(m: IoModel, r: IoReal): Promise<void> {
    const open = m.peers.filter((p) => !p.peerEnded);
    const p = open[this.pick % open.length]!;
    p.peerEnded = true;
    r.ring.peerEnd(p.fd);
    await settle();
    ioCheck(m, r);
  }
  toString = () => `peerEnd(#${this.pick})`;
}

class Write implements IoCmd {
  constructor(
    readonly pick: number,
    readonly length: number,
    readonly seed: number,
    readonly copy: boolean,
  ) {}
  check = (m: Readonly<IoModel>) => livePeers(m).some((p) => !p.ended);
  async run(m: IoModel, r: IoReal): Promise<void> {
    const open = livePeers(m).filter((p) => !p.ended);
    const p = open[this.pick % open.length]!;
    const bytes = bytesOf(this.seed, this.length);
    if (this.copy) {
      try {
        p.conn.write(bytes);
      } catch (e) {
        if ((e as { code?: string }).code !== 'ERR_RIO_POOL_EXHAUSTED') throw e;
        return; // maxBytes: nothing written
      }
    } else {
      let lease: Lease;
      try {
        lease = r.alloc.acquire(this.length + 7);
      } catch (e) {
        if ((e as { code?: string }).code !== 'ERR_RIO_POOL_EXHAUSTED') throw e;
        return;
      }
      lease.bytes.set(bytes, 7);
      const slice = lease.slice(7); // its bytes are not at the slot's start
      p.conn.write(slice, this.length);
      slice.release();
      lease.release();
    }
    for (const b of bytes) p.written.push(b);
    await settle();
    ioCheck(m, r);
  }
  toString = () => `write(#${this.pick}, ${this.length}, ${this.copy ? 'bytes' : 'lease'})`;
}

class ReleaseData implements IoCmd {
  constructor(readonly pick: number) {}
  check = (m: Readonly<IoModel>) => m.held.length > 0;
  async run(m: IoModel, r: IoReal): Promise<void> {
    const [h] = m.held.splice(this.pick % m.held.length, 1);
    h!.lease.release();
    await settle();
    ioCheck(m, r);
  }
  toString = () => `releaseData(#${this.pick})`;
}

class PauseResume implements IoCmd {
  constructor(readonly pick: number) {}
  check = (m: Readonly<IoModel>) => livePeers(m).length > 0;
  async run(m: IoModel, r: IoReal): Promise<void> {
    const open = livePeers(m);
    const p = open[this.pick % open.length]!;
    p.paused = !p.paused;
    if (p.paused) p.conn.pause();
    else p.conn.resume();
    await settle();
    ioCheck(m, r);
  }
  toString = () => `pauseOrResume(#${this.pick})`;
}

class Destroy implements IoCmd {
  constructor(readonly pick: number) {}
  check = (m: Readonly<IoModel>) => livePeers(m).length > 0;
  async run(m: IoModel, r: IoReal): Promise<void> {
    const open = livePeers(m);
    const p = open[this.pick % open.length]!;
    p.destroyed = true;
    p.conn.destroy();
    await settle();
    ioCheck(m, r);
  }
  toString = () => `destroy(#${this.pick})`;
}

class Step implements IoCmd {
  constructor(
    readonly choice: StepChoice,
    /** Every operation in the kernel, not only those at `positions`. */
    readonly all: boolean,
  ) {}
  check = () => true;
  async run(m: IoModel, r: IoReal): Promise<void> {
    const positions = this.all ? r.ring.inKernel.map((_, k) => k) : this.choice.positions;
    r.ring.step({ ...this.choice, positions });
    await settle();
    ioCheck(m, r);
  }
  toString = () => `step(${JSON.stringify(this.choice)}${this.all ? ', all' : ''})`;
}

class Refuse implements IoCmd {
  constructor(readonly submits: number) {}
  check = () => true;
  async run(m: IoModel, r: IoReal): Promise<void> {
    r.ring.refuseSubmits = this.submits;
    await settle();
    ioCheck(m, r);
  }
  toString = () => `refuseSubmits(${this.submits})`;
}

/** The reactor's retry of a refused submit (a timer) runs. */
class Timers implements IoCmd {
  check = () => true;
  async run(m: IoModel, r: IoReal): Promise<void> {
    jest.advanceTimersByTime(150);
    await settle();
    ioCheck(m, r);
  }
  toString = () => 'timers()';
}

class Decay implements IoCmd {
  check = () => true;
  async run(m: IoModel, r: IoReal): Promise<void> {
    r.io.decay();
    await settle();
    ioCheck(m, r);
  }
  toString = () => 'decay()';
}

class TrimPool implements IoCmd {
  check = () => true;
  async run(m: IoModel, r: IoReal): Promise<void> {
    r.pool.trim();
    await settle();
    ioCheck(m, r);
  }
  toString = () => 'trim()';
}

const sendLength = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 3000 }), weight: 3 },
  { arbitrary: fc.integer({ min: 3000, max: 100000 }), weight: 1 },
  { arbitrary: fc.integer({ min: 250000, max: 300000 }), weight: 1 }, // more than the ring's 4 buffers of 64 KiB
);
const stepChoice: fc.Arbitrary<StepChoice> = fc.record({
  positions: fc.array(fc.nat(), { minLength: 1, maxLength: 12 }),
  chunk: fc.oneof(fc.integer({ min: 1, max: 4000 }), fc.constant(65536)),
  sendCap: fc.oneof(fc.integer({ min: 1, max: 4000 }), fc.constant(1 << 20)),
  shots: fc.integer({ min: 1, max: 8 }),
  endMultishot: fc.boolean(),
});
const ioCommands = fc.commands(
  [
    fc.constant(new PeerConnect()),
    fc.tuple(fc.nat(), sendLength, fc.integer()).map(([i, n, s]) => new PeerSend(i, n, s)),
    fc.tuple(fc.nat(), sendLength, fc.integer()).map(([i, n, s]) => new PeerSend(i, n, s)),
    fc.nat().map((i) => new PeerEnd(i)),
    fc.tuple(fc.nat(), fc.integer({ min: 1, max: 20000 }), fc.integer(), fc.boolean()).map(([i, n, s, c]) => new Write(i, n, s, c)),
    fc.tuple(fc.nat(), fc.integer({ min: 1, max: 20000 }), fc.integer(), fc.boolean()).map(([i, n, s, c]) => new Write(i, n, s, c)),
    fc.nat().map((i) => new ReleaseData(i)),
    fc.nat().map((i) => new PauseResume(i)),
    fc.nat().map((i) => new Destroy(i)),
    fc.tuple(stepChoice, fc.boolean()).map(([c, all]) => new Step(c, all)),
    fc.tuple(stepChoice, fc.boolean()).map(([c, all]) => new Step(c, all)),
    fc.tuple(stepChoice, fc.boolean()).map(([c, all]) => new Step(c, all)),
    fc.integer({ min: 1, max: 3 }).map((n) => new Refuse(n)),
    fc.oneof(fc.constant(new Timers()), fc.constant(new Decay()), fc.constant(new TrimPool())),
  ],
  // A failure prints `replayPath="..."` beside its commands: FC_SEED, FC_PATH and FC_REPLAY_PATH replay it exactly.
  { maxCommands: 80, size: 'max', replayPath: process.env.FC_REPLAY_PATH },
);

const ioSetup = fc.record({
  bufferRing: fc.oneof({ arbitrary: fc.constant(true), weight: 9 }, { arbitrary: fc.constant(false), weight: 1 }),
  receive: fc.oneof(
    { arbitrary: fc.constant<ReceiveMode | 'auto'>('auto'), weight: 4 },
    { arbitrary: fc.constant<ReceiveMode | 'auto'>('lease'), weight: 1 },
  ),
  receiveSize: fc.constantFrom(2048, 16384, 65536),
  maxRegisteredBytes: fc.constantFrom(Infinity, Infinity, Infinity, 256 * 1024, 1024 * 1024),
  maxBytes: fc.constantFrom(Infinity, Infinity, 1024 * 1024, 512 * 1024),
  // A tiny submission queue fills while submits are refused: operations the ring refuses with
  // ENOSPC must be queued again, not lost (a connection's send, a re-armed receive, a cancel).
  sqEntries: fc.constantFrom(256, 256, 256, 4),
});

/** Completes everything the kernel can, until nothing more completes (the full check every 64 batches and at the end). */
async function runKernelDry(r: IoReal, m: IoModel): Promise<void> {
  for (let i = 0; ; i++) {
    if (i > 20000) throw new Error('the kernel still had completions after 20,000 batches');
    jest.advanceTimersByTime(150); // a refused submit's retry
    await settle();
    const positions = r.ring.inKernel.map((_, k) => k);
    const n = r.ring.step({ positions, chunk: 65536, sendCap: 1 << 20, shots: 64, endMultishot: false });
    await settle();
    if (m.failures.length > 0) throw new Error(m.failures.join('\n'));
    r.ring.checkRegistrations();
    if (i % 64 === 0) ioCheck(m, r);
    if (n === 0 && r.ring.queued.length === 0) break;
  }
  ioCheck(m, r);
}

test('connections on the uring datapath: bytes in order both ways, partial sends whole, held receive buffers never lent again (200 runs)', async () => {
  // What the runs made the kernel do, summed: the model must reach every case it is about.
  const reached: Record<string, number> = { parks: 0, submitsRefused: 0 };
  jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
  try {
    await fc.assert(
      fc.asyncProperty(ioSetup, ioCommands, async (setup, cmds) => {
        const registrar = new RingRegistrar({ pageSize: PAGE });
        const ring = new FakeRing(registrar, {
          bufferRing: setup.bufferRing,
          sqEntries: setup.sqEntries,
          memory: (id) => registrar.memory.get(id),
        });
        registrar.fake = ring;
        const pool = poolOn(registrar, [], {
          emptySlabsKept: 0,
          emptySlabsMax: 0,
          maxRegisteredBytes: setup.maxRegisteredBytes,
          maxBytes: setup.maxBytes,
        });
        const alloc = allocatorOf(pool);
        const io = openUringIo(registrar, alloc);
        if (typeof io === 'string') throw new Error(io);
        const model: IoModel = { peers: [], held: [], failures: [] };
        const accepted = (t: Transport) => {
          const fd = (t as unknown as { fd: number }).fd;
          const conn = newConnection(t, alloc);
          const p: Peer = {
            fd,
            conn,
            sent: [],
            delivered: 0,
            written: [],
            checked: 0,
            peerEnded: false,
            ended: false,
            destroyed: false,
            closed: false,
            paused: false,
          };
          conn.on('data', (lease) => {
            const bytes = Uint8Array.from(lease.bytes);
            for (const b of bytes) {
              if (p.delivered >= p.sent.length || p.sent[p.delivered] !== b) {
                model.failures.push(`connection ${fd} delivered byte ${p.delivered}, which its peer did not send there`);
                break;
              }
              p.delivered++;
            }
            model.held.push({ lease, bytes });
            if (model.held.length > MAX_HELD) model.held.shift()!.lease.release();
          });
          conn.on('end', () => {
            p.ended = true;
            if (p.delivered !== p.sent.length) model.failures.push(`connection ${fd} ended after ${p.delivered} of ${p.sent.length} bytes`);
          });
          conn.on('error', (e) => {
            // A receive that finds the pool full (maxBytes) fails its connection: as documented.
            if ((e as { code?: string }).code === 'ERR_RIO_POOL_EXHAUSTED') p.destroyed = true;
            else model.failures.push(`connection ${fd}: ${String(e)}`);
          });
          conn.on('close', () => {
            p.closed = true;
          });
          // A connection whose first receive finds the pool exhausted (maxBytes) hears it on the
          // next tick, through the 'error' listener above (the model fails if it does not close).
          model.peers.push(p);
        };
        const listener = await io.listen({
          host: '127.0.0.1',
          port: 0,
          backlog: 16,
          options: { receiveSize: setup.receiveSize, receive: setup.receive },
          accepted,
          failed: (e) => model.failures.push(`listener: ${String(e)}`),
        });
        const real: IoReal = { pool, registrar, ring, io, alloc, listenFd: [...ring.listening.keys()][0]! };
        await fc.asyncModelRun(() => ({ model, real }), cmds);

        // Every paused connection resumes, submits go through, the kernel completes everything.
        ring.refuseSubmits = 0;
        for (const h of model.held.splice(0)) h.lease.release();
        for (const p of livePeers(model)) {
          if (p.paused) p.conn.resume();
          p.paused = false;
        }
        await runKernelDry(real, model);
        for (const p of model.peers) {
          const got = ring.sockets.get(p.fd)!.received;
          if (!p.destroyed && got.length !== p.written.length)
            throw new Error(
              `peer ${p.fd} received ${got.length} of the ${p.written.length} bytes written (buffered ${p.conn.bufferedBytes}, destroyed ${p.conn.destroyed}, ops in the kernel ${ring.inKernel.map((o) => o.kind + o.fd)})`,
            );
          if (!p.destroyed && !p.closed && p.delivered !== p.sent.length)
            throw new Error(`connection ${p.fd} delivered ${p.delivered} of the ${p.sent.length} bytes its peer sent`);
        }
        // Teardown: every connection and the listener close, every lease goes, the pool closes.
        for (const p of model.peers) p.conn.destroy();
        let stopped = false;
        void listener.stop().then(() => {
          stopped = true;
        });
        await runKernelDry(real, model);
        await settle();
        if (!stopped) throw new Error('the listener did not stop');
        for (const p of model.peers) if (!p.closed) throw new Error(`connection ${p.fd} did not close`);
        for (const h of model.held.splice(0)) h.lease.release();
        io.close();
        if (pool.stats().totals.leased !== 0) throw new Error(`${pool.stats().totals.leased} lease(s) left after every connection closed`);
        await pool.close();
        checkInvariants(pool);
        if (registrar.liveRegistrations !== 0 || registrar.liveMappings !== 0) throw new Error('the closed pool left registrations');
        for (const [k, v] of Object.entries(ring.counts)) reached[k] = (reached[k] ?? 0) + v;
        reached.parks! += ring.closes;
        reached.submitsRefused! += ring.refusedSubmits;
      }),
      propertyParams('I/O model, connections on the uring datapath (fake ring)', 200),
    );
  } finally {
    jest.useRealTimers();
  }
  // eslint-disable-next-line no-console
  console.log(`[io model] the kernel's cases reached: ${JSON.stringify(reached)}`);
  if (process.env.FC_PATH === undefined) for (const [k, v] of Object.entries(reached)) expect([k, v > 0]).toEqual([k, true]);
}, 600_000); // a liveness bound: the runs take seconds; a failure shrinks for minutes

test("a 'data' listener that throws on a multishot receive's last completion leaves the connection able to receive and to close", async () => {
  const registrar = new RingRegistrar({ pageSize: PAGE });
  const ring = new FakeRing(registrar, { bufferRing: true, memory: (id) => registrar.memory.get(id) });
  registrar.fake = ring;
  const pool = poolOn(registrar, [], { emptySlabsKept: 0, emptySlabsMax: 0 });
  const alloc = allocatorOf(pool);
  const io = openUringIo(registrar, alloc);
  if (typeof io === 'string') throw new Error(io);
  let conn: Connection | undefined;
  let fd = -1;
  const listener = await io.listen({
    host: '127.0.0.1',
    port: 0,
    backlog: 16,
    options: { receiveSize: 2048, receive: 'ring' },
    accepted: (t) => {
      fd = (t as unknown as { fd: number }).fd;
      conn = newConnection(t, alloc);
    },
    failed: (e) => {
      throw e;
    },
  });
  /** The kernel completes everything it can in one batch; what the batch's listeners threw. */
  const step = async (endMultishot: boolean): Promise<unknown> => {
    let thrown: unknown;
    try {
      ring.step({ positions: ring.inKernel.map((_, k) => k), chunk: 65536, sendCap: 1 << 20, shots: 8, endMultishot });
    } catch (e) {
      thrown = e;
    }
    await settle();
    return thrown;
  };
  ring.peerConnect([...ring.listening.keys()][0]!);
  await step(false);
  await step(false);
  expect(conn).toBeDefined();
  const got: number[] = [];
  let closed = false;
  conn!.on('data', (lease: Lease) => {
    got.push(lease.length);
    lease.release();
    if (got.length === 1) throw new Error('a listener that throws');
  });
  conn!.on('close', () => (closed = true));
  ring.peerSend(fd, new Uint8Array(100));
  // The kernel ends the multishot right after the data: its last completion carries the bytes.
  expect(await step(true)).toEqual(expect.objectContaining({ message: 'a listener that throws' }));
  ring.peerSend(fd, new Uint8Array(50));
  for (let i = 0; i < 5 && got.length < 2; i++) expect(await step(false)).toBeUndefined();
  expect(got).toEqual([100, 50]); // armed again after the throw
  conn!.destroy();
  for (let i = 0; i < 10 && !closed; i++) await step(false);
  expect(closed).toBe(true);
  let stopped = false;
  void listener.stop().then(() => (stopped = true));
  for (let i = 0; i < 10 && !stopped; i++) await step(false);
  expect(stopped).toBe(true);
  io.close();
  expect(pool.stats().totals.leased).toBe(0);
  await pool.close();
});

test('a connect the ring refuses because its queue is full goes once a submit makes room', async () => {
  const registrar = new RingRegistrar({ pageSize: PAGE });
  const ring = new FakeRing(registrar, { bufferRing: true, sqEntries: 2, memory: (id) => registrar.memory.get(id) });
  registrar.fake = ring;
  const pool = poolOn(registrar, [], { emptySlabsKept: 0, emptySlabsMax: 0 });
  const io = openUringIo(registrar, allocatorOf(pool));
  if (typeof io === 'string') throw new Error(io);
  ring.refuseSubmits = 1_000; // the kernel takes nothing for now: the third connect finds the queue full
  const settled: boolean[] = [];
  const connecting = [0, 1, 2].map((k) =>
    io.connect('127.0.0.1', 1, { receiveSize: 2048, receive: 'lease' }).finally(() => (settled[k] = true)),
  );
  expect(ring.refusedQueues).toBeGreaterThan(0);
  ring.refuseSubmits = 0;
  // The reactor retries the refused submit (a timer of at most 100 ms); the connect waiting for
  // room is queued after it. A liveness bound far above that.
  for (let i = 0; i < 200 && settled.filter(Boolean).length < 3; i++) {
    await sleep(10);
    ring.step({ positions: ring.inKernel.map((_, k) => k), chunk: 65536, sendCap: 1 << 20, shots: 1, endMultishot: false });
    await settle();
  }
  const transports = await Promise.all(connecting); // none rejected with ENOSPC
  expect(transports).toHaveLength(3);
  for (const t of transports) t.close(() => {});
  for (let i = 0; i < 20 && ring.inKernel.length + ring.queued.length > 0; i++) {
    await settle();
    ring.step({ positions: ring.inKernel.map((_, k) => k), chunk: 65536, sendCap: 1 << 20, shots: 1, endMultishot: false });
  }
  io.close();
  await pool.close();
});
