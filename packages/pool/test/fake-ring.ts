/**
 * A ring in memory, for the I/O model tests (60.io-model, 61.reactor-submit, 62.receive-ring):
 * operations are queued, submitted and completed when the test says so, in batches, as the
 * kernel would deliver them. It models what the native ring does
 * (packages/native/src/backend_uring.cc, packages/native/src/buffer_ring_uring.cc) and checks
 * what the kernel relies on:
 *
 *   queue        an operation is checked when it is queued, as the addon checks it: an op id in
 *                flight already is EINVAL, a range outside its registration EINVAL, a buffer id
 *                not registered EFAULT. The submission queue holds `sqEntries`: queuing into a
 *                full one submits first, and throws ENOSPC if that submit took nothing
 *   submit       hands the queue to the kernel; `refuseSubmits` makes the next ones throw EBUSY
 *                (a full completion queue), leaving everything queued
 *   buffer ring  setupBufferRing / provide / closeBufferRing: buffers are lent in order and
 *                consumed incrementally (IOU_PBUF_RING_INC): each receive takes bytes from the
 *                head buffer at its running offset; the completion names it (CQE_BUFFER, bid in
 *                bits 16..31) and says BUF_MORE while it has room left. A lent buffer counts as
 *                in flight on its registration until the kernel is done with it
 *   multishot    completes once per receive with MORE set, until its last: an error, the end of
 *                the stream (0), a cancel (-ECANCELED), no buffer to take (-ENOBUFS, also when
 *                the buffer ring is not set up), or the kernel ending it after data (no MORE)
 *   sockets      each connected socket has a peer: what the peer sent waits in the socket until a
 *                receive takes it; what a send moves goes to the peer, maybe fewer bytes than
 *                asked (a partial send: the result says how many)
 *
 * Every receive writes the peer's bytes into the registered memory it names and every send reads
 * the bytes it moves from it, at completion: a buffer reused too early shows as wrong bytes. An
 * operation's registration must still be registered, and the same memory, when it completes
 * (a slab deregistered under an operation in flight would be a use after free in the kernel).
 */
import type { MemoryRegistrar } from '@riopool/core';
import * as os from 'node:os';
import type { CompletionHandler, Ring } from '@riopool/native';

const { ECANCELED, ENOBUFS, ENOENT } = os.constants.errno;
/** A completion's flags (reactor.ts has the same, as the kernel sets them). */
export const F_BUFFER = 1 << 0;
export const F_MORE = 1 << 1;
export const F_BUF_MORE = 1 << 4;
const BID_SHIFT = 16;
/** The native ring's limits (backend.h: kMaxParts; backend_uring.cc: kSqEntries). */
const MAX_PARTS = 64;

/** What an operation does (the fake's own names: the reactor does not tell). */
type OpKind =
  | 'accept'
  | 'connect'
  | 'receive'
  | 'send'
  | 'sendParts'
  | 'multishot'
  | 'receivePlain'
  | 'sendPlain'
  | 'cancel'
  | 'shutdown'
  | 'close';

/** One range of memory an operation moves: of a registration (bufferId >= 0), or of a plain mapping. */
interface Range {
  bufferId: number;
  offset: number;
  length: number;
  /** The memory, as it was when the operation was queued (a registration must keep it). */
  memory: ArrayBuffer | undefined;
}

export interface FakeOp {
  op: number;
  kind: OpKind;
  fd: number;
  bufferId: number;
  offset: number;
  length: number;
  target: number;
  /** The ranges a receive or send moves (sendParts: several). */
  ranges: Range[];
}

/** A buffer lent to the buffer ring: [offset + used, offset + length) of `bufferId` is the kernel's. */
export interface LentBuffer {
  bid: number;
  bufferId: number;
  offset: number;
  length: number;
  used: number;
  /** Undefined when the fake was given no `memory` option: the bytes received go nowhere. */
  memory: ArrayBuffer | undefined;
}

/** Bytes in order, taken from the front. */
class ByteQueue {
  private chunks: Uint8Array[] = [];
  private head = 0;
  length = 0;
  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.chunks.push(bytes);
    this.length += bytes.length;
  }
  /** Copies up to `n` bytes into `into` at `at` (if given) and drops them; returns how many. */
  take(n: number, into: Uint8Array | undefined, at: number): number {
    let done = 0;
    while (done < n && this.chunks.length > 0) {
      const c = this.chunks[0]!;
      const k = Math.min(n - done, c.length - this.head);
      into?.set(c.subarray(this.head, this.head + k), at + done);
      done += k;
      this.head += k;
      if (this.head === c.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    this.length -= done;
    return done;
  }
}

/** A connected socket, seen from its peer. */
export interface FakeSocket {
  fd: number;
  /** What the peer sent that no receive has taken yet. */
  readonly inbound: ByteQueue;
  /** The peer ended its sending side: a receive of an empty socket completes with 0. */
  peerEnded: boolean;
  /** Everything the peer received, in order. */
  received: number[];
  /** The application shut down its sending side (SHUTDOWN), and closed the socket (CLOSE). */
  shutdown: boolean;
  closed: boolean;
}

export interface FakeRingOptions {
  /** features().bufferRing (default false: the fake has no buffer ring unless asked). */
  bufferRing?: boolean;
  /** The submission queue's entries (default 256, as the native ring's). */
  sqEntries?: number;
  /** A registration's memory, for receives and sends that move bytes (default: none is moved). */
  memory?: (bufferId: number) => ArrayBuffer | undefined;
}

/** How the kernel completes one batch (FakeRing.step). */
export interface StepChoice {
  /** Which operations in the kernel (positions, modulo how many there are) complete, if they can. */
  positions: number[];
  /** Most bytes one receive takes (a segment of the stream). */
  chunk: number;
  /** Most bytes one send moves (fewer than asked: a partial send). */
  sendCap: number;
  /** Completions one multishot receive may post in this batch. */
  shots: number;
  /** The kernel ends a multishot receive after its data (its last completion has no MORE). */
  endMultishot: boolean;
}

function errnoError(code: string, message: string): Error {
  return Object.assign(new Error(`fake ring: ${message}`), { code, errno: (os.constants.errno as Record<string, number>)[code] });
}

export class FakeRing implements Ring {
  /** Queued, not yet submitted. */
  readonly queued: FakeOp[] = [];
  /** Submitted, not yet completed (the kernel's view). */
  readonly inKernel: FakeOp[] = [];
  submits = 0;
  /** The next `refuseSubmits` submits throw EBUSY (the kernel's completion queue is full). */
  refuseSubmits = 0;
  /** Submits refused, and queue calls refused (ENOSPC), so far. */
  refusedSubmits = 0;
  refusedQueues = 0;
  /** The buffer ring: set up or not, its slots, and the buffers lent to it in the order the kernel takes them. */
  bufferRingSlots = 0;
  readonly lent: LentBuffer[] = [];
  /** Calls to setupBufferRing and closeBufferRing that took effect. */
  setups = 0;
  closes = 0;
  /** What the kernel did, for tests that check their model reaches every case. */
  readonly counts = {
    receives: 0,
    multishotReceives: 0,
    buffersConsumed: 0,
    noBuffer: 0,
    multishotEndedByKernel: 0,
    sends: 0,
    partialSends: 0,
    sendParts: 0,
    plain: 0,
    cancelled: 0,
  };
  /** Connected sockets by fd; listening sockets and connections waiting to be accepted. */
  readonly sockets = new Map<number, FakeSocket>();
  readonly listening = new Map<number, number>();
  private nextFd = 100;
  private handler: CompletionHandler | undefined;
  private readonly sqEntries: number;
  private readonly bufferRing: boolean;
  private readonly memoryOf: (bufferId: number) => ArrayBuffer | undefined;

  constructor(
    private readonly registrar: MemoryRegistrar,
    options: FakeRingOptions = {},
  ) {
    this.sqEntries = options.sqEntries ?? 256;
    this.bufferRing = options.bufferRing ?? false;
    this.memoryOf = options.memory ?? (() => undefined);
  }

  accept(op: number, fd: number): void {
    this.queue(op, 'accept', fd, []);
  }
  connect(op: number, fd: number): void {
    this.queue(op, 'connect', fd, []);
  }
  receive(op: number, fd: number, bufferId: number, offset: number, length: number): void {
    this.queue(op, 'receive', fd, [this.range(bufferId, offset, length)]);
  }
  send(op: number, fd: number, bufferId: number, offset: number, length: number): void {
    this.queue(op, 'send', fd, [this.range(bufferId, offset, length)]);
  }
  sendParts(op: number, fd: number, parts: Int32Array, count: number): void {
    if (count < 1 || count > MAX_PARTS || count * 3 > parts.length) throw errnoError('EINVAL', `count ${count} is not 1 .. ${MAX_PARTS}`);
    const ranges: Range[] = [];
    // Copied now, as the addon copies them: the caller reuses `parts`.
    for (let i = 0; i < count; i++) ranges.push(this.range(parts[i * 3]!, parts[i * 3 + 1]!, parts[i * 3 + 2]!));
    this.queue(op, 'sendParts', fd, ranges);
  }
  receiveMultishot(op: number, fd: number): void {
    if (this.bufferRingSlots === 0) throw errnoError('EINVAL', 'the buffer ring is not set up');
    this.queue(op, 'multishot', fd, []);
  }
  receivePlain(op: number, fd: number, buffer: ArrayBuffer, offset: number, length: number): void {
    this.queue(op, 'receivePlain', fd, [this.plain(buffer, offset, length)]);
  }
  sendPlain(op: number, fd: number, buffer: ArrayBuffer, offset: number, length: number): void {
    this.queue(op, 'sendPlain', fd, [this.plain(buffer, offset, length)]);
  }
  cancel(op: number, target: number): void {
    this.queue(op, 'cancel', -1, [], target);
  }
  shutdown(op: number, fd: number): void {
    this.queue(op, 'shutdown', fd, []);
  }
  close(op: number, fd: number): void {
    this.queue(op, 'close', fd, []);
  }

  submit(): number {
    if (this.refuseSubmits > 0) {
      this.refuseSubmits--;
      this.refusedSubmits++;
      throw errnoError('EBUSY', 'io_uring_enter: Device or resource busy');
    }
    const n = this.queued.length;
    for (const o of this.queued.splice(0)) {
      this.checkRanges(o, 'submission');
      this.inKernel.push(o);
    }
    if (n > 0) this.submits++;
    return n;
  }

  start(handler: CompletionHandler): void {
    this.handler = handler;
  }

  get inFlight(): number {
    return this.queued.length + this.inKernel.length;
  }

  // Sockets: fds only; their bytes are the peers' (peerConnect, peerSend, peerEnd).
  listen(): [number, number] {
    const fd = this.nextFd++;
    this.listening.set(fd, 0);
    return [fd, 40000 + fd];
  }
  socket(): number {
    return this.nextFd++;
  }
  closeSocket(fd: number): void {
    this.listening.delete(fd);
    const s = this.sockets.get(fd);
    if (s !== undefined) s.closed = true;
  }
  socketName(): [string, number, 4 | 6] {
    return ['127.0.0.1', 40000, 4];
  }
  setNoDelay(): void {}
  setKeepAlive(): void {}

  features(): { bufferRing: boolean; setup: string[] } {
    return { bufferRing: this.bufferRing, setup: [] };
  }
  setupBufferRing(entries: number): void {
    if (!this.bufferRing) throw errnoError('ENOSYS', 'this kernel has no incremental buffer ring');
    if (this.bufferRingSlots !== 0) throw errnoError('EINVAL', 'the buffer ring is set up already');
    if (!(entries >= 1 && entries <= 32768 && (entries & (entries - 1)) === 0)) throw errnoError('EINVAL', `entries ${entries}`);
    this.bufferRingSlots = entries;
    this.setups++;
  }
  provide(bid: number, bufferId: number, offset: number, length: number): void {
    if (this.bufferRingSlots === 0) throw errnoError('EINVAL', 'the buffer ring is not set up');
    const r = this.range(bufferId, offset, length);
    if (bid < 0 || bid >= this.bufferRingSlots) throw errnoError('EINVAL', `bid ${bid} is past the buffer ring`);
    if (this.lent.some((b) => b.bid === bid)) throw errnoError('EINVAL', `bid ${bid} is lent already`);
    this.lent.push({ bid, bufferId, offset, length, used: 0, memory: r.memory });
  }
  closeBufferRing(): void {
    if (this.bufferRingSlots === 0) return;
    this.bufferRingSlots = 0;
    this.lent.length = 0; // the kernel lets go of every lent buffer
    this.closes++;
  }

  /** Operations in flight (queued or in the kernel) and buffers lent to the buffer ring that use this buffer id. */
  opsOn(bufferId: number): number {
    let n = 0;
    for (const o of [...this.queued, ...this.inKernel]) if (o.ranges.some((r) => r.bufferId === bufferId)) n++;
    for (const b of this.lent) if (b.bufferId === bufferId) n++;
    return n;
  }

  // ---------------------------------------------------------------------------------------------
  // The peers

  /** A peer connects to listening socket `listenFd`: the next accept that completes takes it. */
  peerConnect(listenFd: number): void {
    this.listening.set(listenFd, (this.listening.get(listenFd) ?? 0) + 1);
  }
  peerSend(fd: number, bytes: Uint8Array): void {
    const s = this.sockets.get(fd)!;
    if (s.peerEnded) throw new Error(`fake ring: the peer of ${fd} sends after its end`);
    s.inbound.push(bytes.slice());
  }
  peerEnd(fd: number): void {
    this.sockets.get(fd)!.peerEnded = true;
  }

  // ---------------------------------------------------------------------------------------------
  // The kernel

  /**
   * Completes the operations at these positions of `inKernel` in one batch, for the reactor
   * model (no sockets, no bytes moved): a receive or send with `bytes` (clamped to its length), a
   * cancel with 0 and its target (if still in the kernel) with -ECANCELED, anything else with 0.
   */
  completeBatch(positions: number[], bytes: number): void {
    const done: [number, number, number][] = [];
    for (const o of this.pick(positions)) {
      if (!this.inKernel.includes(o)) continue; // a cancel earlier in this batch completed it
      if (o.kind === 'cancel') {
        this.cancelIn(o, done);
        continue;
      }
      this.finish(o);
      const total = o.ranges.reduce((n, r) => n + r.length, 0);
      done.push([o.op, o.ranges.length > 0 ? Math.min(bytes, total) : 0, 0]);
    }
    this.deliver(done);
  }

  /**
   * Completes, in one batch, those of the picked operations that the sockets let complete, as
   * the kernel would: a receive takes what its peer sent (or 0 once the peer ended; it waits
   * while there is nothing), a send moves at most `sendCap` bytes to its peer, an accept takes
   * a waiting connection. Returns how many completions the batch had.
   */
  step(choice: StepChoice): number {
    const done: [number, number, number][] = [];
    for (const o of this.pick(choice.positions)) {
      if (!this.inKernel.includes(o)) continue;
      const s = this.sockets.get(o.fd);
      switch (o.kind) {
        case 'cancel':
          this.cancelIn(o, done);
          break;
        case 'accept': {
          const waiting = this.listening.get(o.fd) ?? 0;
          if (waiting === 0) break;
          this.listening.set(o.fd, waiting - 1);
          const fd = this.nextFd++;
          this.sockets.set(fd, { fd, inbound: new ByteQueue(), peerEnded: false, received: [], shutdown: false, closed: false });
          this.finish(o);
          done.push([o.op, fd, 0]);
          break;
        }
        case 'receive':
        case 'receivePlain': {
          if (s === undefined || (s.inbound.length === 0 && !s.peerEnded)) break; // waits for data
          const r = o.ranges[0]!;
          const n = s.inbound.take(Math.min(r.length, choice.chunk), this.bytesOf(r), r.offset);
          this.counts.receives++;
          if (o.kind === 'receivePlain') this.counts.plain++;
          this.finish(o);
          done.push([o.op, n, 0]);
          break;
        }
        case 'multishot':
          if (s !== undefined) this.multishot(o, s, choice, done);
          break;
        case 'send':
        case 'sendParts':
        case 'sendPlain': {
          let left = Math.max(1, choice.sendCap);
          let n = 0;
          for (const r of o.ranges) {
            const k = Math.min(left, r.length);
            const bytes = this.bytesOf(r).subarray(r.offset, r.offset + k);
            for (const b of bytes) s!.received.push(b);
            n += k;
            left -= k;
            if (left === 0) break;
          }
          const asked = o.ranges.reduce((t, r) => t + r.length, 0);
          this.counts.sends++;
          if (n < asked) this.counts.partialSends++;
          if (o.kind === 'sendParts') this.counts.sendParts++;
          if (o.kind === 'sendPlain') this.counts.plain++;
          this.finish(o);
          done.push([o.op, n, 0]);
          break;
        }
        case 'shutdown':
          if (s !== undefined) s.shutdown = true;
          this.finish(o);
          done.push([o.op, 0, 0]);
          break;
        case 'close': {
          const others = [...this.queued, ...this.inKernel].filter((x) => x !== o && x.fd === o.fd && x.kind !== 'cancel');
          if (others.length > 0) throw new Error(`fake ring: fd ${o.fd} closed with ${others.length} operation(s) on it in flight`);
          if (s !== undefined) s.closed = true;
          this.finish(o);
          done.push([o.op, 0, 0]);
          break;
        }
        default:
          this.finish(o);
          done.push([o.op, 0, 0]);
      }
    }
    this.deliver(done);
    return done.length;
  }

  /** Throws unless every operation in flight and every lent buffer names memory still registered as it was. */
  checkRegistrations(): void {
    for (const o of [...this.queued, ...this.inKernel]) this.checkRanges(o, 'now');
    for (const b of this.lent) this.checkMemory(b.bufferId, b.memory, `buffer ring bid ${b.bid}`, 'now');
  }

  /** The bytes of registration `bufferId` that the kernel may still write: the unconsumed part of each lent buffer. */
  kernelWritable(): { bufferId: number; start: number; end: number }[] {
    return this.lent.map((b) => ({ bufferId: b.bufferId, start: b.offset + b.used, end: b.offset + b.length }));
  }

  /** One to `shots` receives of a multishot: each from the head buffer, until the socket is empty or the receive ends. */
  private multishot(o: FakeOp, s: FakeSocket, choice: StepChoice, done: [number, number, number][]): void {
    if (s.inbound.length === 0) {
      if (!s.peerEnded) return; // waits for data
      this.finish(o);
      done.push([o.op, 0, 0]); // the end of the stream ends the multishot
      return;
    }
    const shots = Math.max(1, choice.shots);
    for (let shot = 0; shot < shots && s.inbound.length > 0; shot++) {
      const b = this.bufferRingSlots === 0 ? undefined : this.lent[0];
      if (b === undefined) {
        this.counts.noBuffer++;
        this.finish(o);
        done.push([o.op, -ENOBUFS, 0]);
        return;
      }
      const n = s.inbound.take(Math.min(choice.chunk, b.length - b.used), b.memory && new Uint8Array(b.memory), b.offset + b.used);
      b.used += n;
      this.counts.multishotReceives++;
      let flags = F_BUFFER | (b.bid << BID_SHIFT);
      if (b.used < b.length) flags |= F_BUF_MORE;
      else {
        this.lent.shift(); // consumed: the kernel moves past it
        this.counts.buffersConsumed++;
      }
      const last = choice.endMultishot && (shot === shots - 1 || s.inbound.length === 0);
      if (last) {
        this.counts.multishotEndedByKernel++;
        this.finish(o);
      } else flags |= F_MORE;
      done.push([o.op, n, flags]);
      if (last) return;
    }
  }

  private cancelIn(o: FakeOp, done: [number, number, number][]): void {
    this.finish(o);
    const target = this.inKernel.find((t) => t.op === o.target);
    if (target !== undefined) {
      this.counts.cancelled++;
      this.finish(target);
      done.push([target.op, -ECANCELED, 0]);
    }
    done.push([o.op, target === undefined ? -ENOENT : 0, 0]); // ENOENT: nothing to cancel
  }

  /** The kernel is done with `o`: its memory is checked one last time. */
  private finish(o: FakeOp): void {
    this.checkRanges(o, 'completion');
    this.inKernel.splice(this.inKernel.indexOf(o), 1);
  }

  private pick(positions: number[]): FakeOp[] {
    const picked = new Set<FakeOp>();
    for (const p of positions) if (this.inKernel.length > 0) picked.add(this.inKernel[p % this.inKernel.length]!);
    return [...picked];
  }

  private deliver(done: [number, number, number][]): void {
    if (done.length === 0) return;
    this.handler!(
      Int32Array.from(done, (d) => d[0]),
      Int32Array.from(done, (d) => d[1]),
      Int32Array.from(done, (d) => d[2]),
      done.length,
    );
  }

  private queue(op: number, kind: OpKind, fd: number, ranges: Range[], target = 0): void {
    if (!(op >= 1 && op <= 0x7fffffff) || [...this.queued, ...this.inKernel].some((o) => o.op === op))
      throw errnoError('EINVAL', `op id ${op} is 0 or already in flight`);
    // A full submission queue is submitted first (backend_uring.cc, NextSqe); if the kernel took
    // nothing, the operation is refused.
    if (this.queued.length >= this.sqEntries) {
      let n = 0;
      try {
        n = this.submit();
      } catch {}
      if (n === 0) {
        this.refusedQueues++;
        throw errnoError('ENOSPC', 'the submission queue is full');
      }
    }
    const first = ranges[0];
    this.queued.push({
      op,
      kind,
      fd,
      bufferId: first?.bufferId ?? -1,
      offset: first?.offset ?? 0,
      length: first?.length ?? 0,
      target,
      ranges,
    });
  }

  /** A range of a registration, checked as the addon checks it (EFAULT: not registered; EINVAL: outside it). */
  private range(bufferId: number, offset: number, length: number): Range {
    const size = this.registrar.registeredLength(bufferId);
    if (size === undefined) throw errnoError('EFAULT', `buffer id ${bufferId} is not registered`);
    if (length < 1 || offset < 0 || offset + length > size) throw errnoError('EINVAL', `the range lies outside buffer id ${bufferId}`);
    return { bufferId, offset, length, memory: this.memoryOf(bufferId) };
  }

  private plain(buffer: ArrayBuffer, offset: number, length: number): Range {
    if (length < 1 || offset < 0 || offset + length > buffer.byteLength) throw errnoError('EINVAL', 'no memory to move');
    return { bufferId: -1, offset, length, memory: buffer };
  }

  private bytesOf(r: Range): Uint8Array {
    if (r.memory === undefined) throw new Error('fake ring: moving bytes needs the memory option');
    return new Uint8Array(r.memory);
  }

  private checkRanges(o: FakeOp, when: string): void {
    for (const r of o.ranges) {
      if (r.bufferId < 0) {
        if (r.memory!.byteLength === 0) throw new Error(`fake ring: op ${o.op} moves memory that was unmapped, at ${when}`);
        continue;
      }
      const size = this.registrar.registeredLength(r.bufferId);
      if (size === undefined) throw new Error(`fake ring: op ${o.op} uses buffer ${r.bufferId}, not registered at ${when}`);
      if (r.offset < 0 || r.length < 1 || r.offset + r.length > size)
        throw new Error(`fake ring: op ${o.op} lies outside buffer ${r.bufferId}`);
      this.checkMemory(r.bufferId, r.memory, `op ${o.op}`, when);
    }
  }

  /** A registration still holds the memory it held when the operation (or lent buffer) took it. */
  private checkMemory(bufferId: number, memory: ArrayBuffer | undefined, what: string, when: string): void {
    if (this.registrar.registeredLength(bufferId) === undefined)
      throw new Error(`fake ring: ${what} uses buffer ${bufferId}, not registered at ${when}`);
    if (memory !== undefined && this.memoryOf(bufferId) !== memory)
      throw new Error(`fake ring: ${what} uses buffer ${bufferId}, deregistered and registered again (other memory) at ${when}`);
  }
}

// ------------------------------------------------------------------------------------------------
// Accepts, for the accept loop's test (63.accept-loop.test.ts): a listening socket's accepts
// completed with the results the test gives (a new socket, or -errno), and the sockets closed.

export class AcceptRing extends FakeRing {
  /** Sockets closed with closeSocket(), in order. */
  readonly closedSockets: number[] = [];
  /** Set: accept() throws this (the ring refuses the operation). */
  refuseAccept: Error | undefined;
  #handler: CompletionHandler | undefined;

  override start(handler: CompletionHandler): void {
    super.start(handler);
    this.#handler = handler;
  }
  override accept(op: number): void {
    if (this.refuseAccept !== undefined) throw this.refuseAccept;
    super.accept(op);
  }
  override closeSocket(fd?: number): void {
    this.closedSockets.push(fd!);
  }

  /** Accepts queued or in the kernel. */
  get accepts(): number {
    return [...this.queued, ...this.inKernel].filter((o) => o.kind === 'accept').length;
  }

  /** Completes the oldest accepts in the kernel, one per result, in one batch. */
  completeAccepts(...results: number[]): void {
    const accepts = this.inKernel.filter((o) => o.kind === 'accept').slice(0, results.length);
    if (accepts.length < results.length) throw new Error(`fake ring: ${results.length} accept results for ${accepts.length} accepts`);
    for (const o of accepts) this.inKernel.splice(this.inKernel.indexOf(o), 1);
    this.#handler!(
      Int32Array.from(accepts, (o) => o.op),
      Int32Array.from(results),
      new Int32Array(results.length),
      results.length,
    );
  }

  /** Completes every cancel in the kernel, with its target (-ECANCELED), in one batch. */
  completeCancels(): void {
    const positions: number[] = [];
    this.inKernel.forEach((o, i) => {
      if (o.kind === 'cancel') positions.push(i);
    });
    this.completeBatch(positions, 0);
  }
}
