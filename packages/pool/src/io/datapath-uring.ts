/**
 * The `uring` datapath: connections whose every receive and send is an operation on the pool's
 * own ring (docs/native.md, "Ring"). Accept (the accept loop: accept-loop.ts) and connect run on
 * the ring too; the listening socket and a connecting socket are made with plain calls (socket,
 * bind, listen), and a connection's socket is closed through the ring once its cancelled
 * operations have completed.
 *
 * Receives, per connection, one at a time while it is not paused:
 *   ring   a multishot receive from the pool's shared buffers (receive-ring.ts): an idle
 *          connection holds no receive memory, and each completion is a slice of exactly the
 *          bytes received
 *   lease  one receive into a fresh lease of receiveSize (READ_FIXED; RECV for an overflow
 *          lease); the connection delivers a slice of the bytes received. Where the kernel has
 *          no buffer ring, by choice, while the ring has no buffer to lend (the pool is past its
 *          budget), and for the one receive after the ring ran dry under the connection (ENOBUFS)
 * Sends: a connection's writes of one turn go in one operation (connection.ts gathers them at
 * the flush): WRITE_FIXED for one, one SENDMSG over several ranges of registered slabs for more,
 * SEND for an overflow lease. All of a turn's submissions go to the kernel in one submit
 * (reactor.ts).
 */
import * as os from 'node:os';
import { leaseSlot, RioError, type Lease, type Slab, type Allocator } from '@riopool/core';
import type { Ring } from '@riopool/native';
import type { PoolRegistrar } from '../backend';
import { CQE_BUFFER, CQE_MORE, Reactor, type OpDone } from './reactor';
import { ReceiveRing } from './receive-ring';
import { emitRiopoolWarning } from '../warnings';
import { onAbort } from '../abort';
import { AcceptLoop } from './accept-loop';
import {
  netError,
  resultError,
  type Chunk,
  type Io,
  type IoStats,
  type Listener,
  type ListenRequest,
  type ReceiveMode,
  type SocketAddresses,
  type Transport,
  type TransportOptions,
  type TransportSink,
} from './transport';

const { ECANCELED, ENOBUFS } = os.constants.errno;
/** Ranges one SENDMSG takes at most (the native ring's kMaxParts). */
const MAX_PARTS = 64;

/** What the connections of one pool share: the ring, its reactor, the receive buffers. */
interface Shared {
  ring: Ring;
  reactor: Reactor;
  alloc: Allocator;
  receiveRing: ReceiveRing | undefined;
  coalescedSends: number;
}

/** A live lease's slab, and the offset of its first byte in it. */
function rangeOf(lease: Lease): { slab: Slab; offset: number } {
  const at = leaseSlot(lease)!;
  return { slab: at.slab, offset: at.slab.cls.offsetOf(at.slot) + at.start };
}

/** One connected socket on the ring. */
class UringTransport implements Transport {
  readonly datapath = 'uring' as const;
  #sink: TransportSink | undefined;
  /**
   * This connection's operations in flight, by kind, or 0: at most one receive (a multishot or a
   * lease receive), one send (connection.ts sends again only once the last completed) and one
   * shutdown. close() cancels them and closes the socket once all three are 0.
   */
  #receiving = 0;
  #sending = 0;
  #shuttingDown = 0;
  /** Told of the send in flight's result. */
  #sendDone: ((sent: number, error?: RioError) => void) | undefined;
  #paused = false;
  #closing = false;
  #closed: (() => void) | undefined;
  /** [bufferId, offset, length] per range of a SENDMSG, reused (the ring copies it). */
  readonly #parts = new Int32Array(MAX_PARTS * 3);

  constructor(
    private readonly shared: Shared,
    readonly fd: number,
    private readonly receiveSize: number,
    /** Where receives land: the shared ring (when it has buffers), or a lease per receive. */
    private readonly mode: ReceiveMode,
  ) {}

  start(sink: TransportSink): void {
    this.#sink = sink;
    this.#receive();
  }

  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    // A multishot receive goes on until cancelled; a lease receive simply is not re-armed.
    const ring = this.shared.receiveRing;
    if (this.#receiving !== 0 && ring !== undefined && this.#multishot) this.shared.reactor.cancel(this.#receiving);
  }

  resume(): void {
    this.#paused = false;
    this.#receive();
  }

  /** True while the receive in flight is the multishot one. */
  #multishot = false;

  #receive(): void {
    if (this.#receiving !== 0 || this.#paused || this.#closing) return;
    const ring = this.shared.receiveRing;
    if (this.mode === 'ring' && ring !== undefined && ring.arm()) this.#receiveFromRing();
    else this.#receiveIntoLease();
  }

  /** Pre: ring.arm() said yes. */
  #receiveFromRing(): void {
    const ring = this.shared.receiveRing!;
    this.#multishot = true;
    let op: number;
    try {
      op = this.shared.reactor.receiveMultishot(this.fd, this.#onRing);
    } catch (e) {
      ring.disarmed();
      throw e;
    }
    this.#receiving = op;
  }

  readonly #onRing: OpDone = (result, flags) => this.#fromRing(result, flags);

  /** Each completion of the multishot receive: a slice of the bytes, then, at its end, what next. */
  #fromRing(result: number, flags: number): void {
    const ring = this.shared.receiveRing!;
    const last = (flags & CQE_MORE) === 0;
    if (last) {
      // Before the data goes to the sink: a listener that throws must not leave this
      // connection waiting for a receive that has ended.
      ring.disarmed();
      this.#receiving = 0;
    }
    try {
      if (result > 0 && (flags & CQE_BUFFER) !== 0) {
        const slice = ring.take(result, flags);
        if (slice !== undefined && this.#closing) slice.release();
        else if (slice !== undefined) this.#sink!.data(slice); // the sink owns the slice now
      }
    } finally {
      if (last) this.#afterLastReceive(result);
    }
  }

  /** The multishot receive ended (with `result`): what next. */
  #afterLastReceive(result: number): void {
    const ring = this.shared.receiveRing!;
    if (this.#closing) {
      this.#settled();
      return;
    }
    if (result === -ENOBUFS) {
      // The ring ran dry under this connection: it lends more, and this connection's next
      // receive goes into a lease of its own, so that a crowd of busy connections does not
      // re-arm (and find the ring dry again) by the thousand; the one after comes from the ring.
      ring.shortage();
      if (!this.#paused) this.#receiveIntoLease();
    } else if (result === 0) {
      this.#sink!.end();
    } else if (result === -ECANCELED) {
      this.#receive(); // paused (nothing to do), or resumed since
    } else if (result < 0) {
      this.#sink!.error(resultError(result, 'receive'));
    } else {
      this.#receive(); // the kernel ended the multishot on its own: arm another
    }
  }

  #receiveIntoLease(): void {
    this.#multishot = false;
    const { alloc, reactor } = this.shared;
    let lease: Lease;
    try {
      lease = alloc.acquire(this.receiveSize);
    } catch (e) {
      this.#sink!.error(e as RioError);
      return;
    }
    // The operation's own reference keeps the lease until its completion has run (reactor.ts):
    // a slice of the bytes received goes to the sink, and the rest of the slot goes with it.
    const done: OpDone = (result) => {
      this.#receiving = 0;
      if (result > 0 && !this.#closing) {
        this.#sink!.data(lease.slice(0, result)); // the sink owns the slice now
        this.#receive();
      } else if (!this.#closing && result !== -ECANCELED) {
        if (result === 0) this.#sink!.end();
        else this.#sink!.error(resultError(result, 'receive'));
      }
      this.#settled();
    };
    const { slab, offset } = rangeOf(lease);
    let op: number;
    try {
      op = lease.registered
        ? reactor.receive(this.fd, lease, slab.bufferId, offset, this.receiveSize, done)
        : reactor.receivePlain(this.fd, lease, slab.buffer, offset, this.receiveSize, done);
    } finally {
      lease.release(); // the caller's reference: the operation holds its own, if it was queued
    }
    this.#receiving = op;
  }

  schedule(callback: () => void): void {
    this.shared.reactor.beforeFlush(callback);
  }

  send(chunks: readonly Chunk[], done: (sent: number, error?: RioError) => void): void {
    if (this.#sending !== 0) throw new RioError('ERR_RIO_BACKEND', 'riopool internal error: a send while one is in flight');
    this.#sending = this.#queueSend(chunks);
    this.#sendDone = done;
  }

  /** Queues one send of the chunks at the head (as many as one operation takes); its op. */
  #queueSend(chunks: readonly Chunk[]): number {
    const { reactor } = this.shared;
    const onResult = this.#onSend;
    // The registered chunks at the head go together; an overflow chunk goes on its own.
    let n = 0;
    while (n < chunks.length && n < MAX_PARTS && chunks[n]!.lease.registered) n++;
    if (n === 0) {
      const c = chunks[0]!;
      const { slab, offset } = rangeOf(c.lease);
      return reactor.sendPlain(this.fd, c.lease, slab.buffer, offset + c.start, c.length, onResult);
    }
    if (n === 1) {
      const c = chunks[0]!;
      const { slab, offset } = rangeOf(c.lease);
      return reactor.send(this.fd, c.lease, slab.bufferId, offset + c.start, c.length, onResult);
    }
    const leases: Lease[] = [];
    for (let i = 0; i < n; i++) {
      const c = chunks[i]!;
      const { slab, offset } = rangeOf(c.lease);
      this.#parts[i * 3] = slab.bufferId;
      this.#parts[i * 3 + 1] = offset + c.start;
      this.#parts[i * 3 + 2] = c.length;
      leases.push(c.lease);
    }
    const op = reactor.sendParts(this.fd, leases, this.#parts, n, onResult);
    this.shared.coalescedSends++;
    return op;
  }

  /** The send in flight completed (made once: a send allocates no closure). */
  readonly #onSend: OpDone = (result) => {
    const done = this.#sendDone!;
    this.#sending = 0;
    this.#sendDone = undefined;
    if (result > 0) done(result);
    else done(0, result === 0 ? netError('EIO', 'send: nothing sent') : resultError(result, 'send'));
    this.#settled();
  };

  /**
   * Both ends, from the OS (getsockname, getpeername), as node:net reports them. Asked only while
   * the socket is open (once closing, its fd may already be another socket's); an end the OS
   * cannot say (a peer already gone: ENOTCONN) is left out, as net.Socket leaves it undefined.
   */
  addresses(): Partial<SocketAddresses> {
    if (this.#closing) return {};
    const out: Partial<SocketAddresses> = {};
    const { ring } = this.shared;
    try {
      [out.localAddress, out.localPort] = ring.socketName(this.fd, false);
    } catch {}
    try {
      const [host, port, family] = ring.socketName(this.fd, true);
      Object.assign(out, { remoteAddress: host, remotePort: port, remoteFamily: family === 6 ? 'IPv6' : 'IPv4' });
    } catch {}
    return out;
  }

  /**
   * TCP_NODELAY (sockets here start with it on). As net.Socket does, a socket that can no longer
   * take the option (reset by its peer) is not an error.
   */
  setNoDelay(noDelay: boolean): void {
    if (this.#closing) return;
    try {
      this.shared.ring.setNoDelay(this.fd, noDelay);
    } catch {}
  }

  /**
   * SO_KEEPALIVE and, when enabling with an initialDelay of a second or more, TCP_KEEPIDLE in whole
   * seconds (as node:net and libuv round it; 0 leaves the idle time as it was; capped at Linux's
   * 32,767 s). Errors are ignored as net.Socket ignores them.
   */
  setKeepAlive(enable: boolean, initialDelay: number): void {
    if (this.#closing) return;
    try {
      this.shared.ring.setKeepAlive(this.fd, enable, Math.min(Math.floor(initialDelay / 1000), 32767));
    } catch {}
  }

  shutdown(): void {
    if (this.#closing) return;
    this.#shuttingDown = this.shared.reactor.shutdown(this.fd, () => {
      this.#shuttingDown = 0;
      this.#settled();
    });
  }

  /** Cancels every operation of this connection; closes the socket once all have completed. */
  close(done: () => void): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#closed = () => this.#closeSocket(done);
    const { reactor } = this.shared;
    for (const op of [this.#receiving, this.#sending, this.#shuttingDown]) if (op !== 0) reactor.cancel(op);
    this.#settled();
  }

  /** Closes the socket through the ring; if the ring refuses, with a plain call ('close' still comes). */
  #closeSocket(done: () => void): void {
    try {
      this.shared.reactor.close(this.fd, () => done());
    } catch {
      try {
        this.shared.ring.closeSocket(this.fd);
      } catch {}
      queueMicrotask(done);
    }
  }

  /** After each of this connection's operations: the last one of a closing connection closes it. */
  #settled(): void {
    if (this.#closing && this.#receiving === 0 && this.#sending === 0 && this.#shuttingDown === 0 && this.#closed !== undefined) {
      const close = this.#closed;
      this.#closed = undefined;
      close();
    }
  }
}

/** A socket call's failure (the addon's errno-style error) as a RioError. */
function socketError(e: unknown, what: string): RioError {
  const err = e as { code?: string; message: string };
  return netError(err.code, `${what}: ${err.message}`, e);
}

class UringIo implements Io {
  readonly datapath = 'uring' as const;
  readonly reason = 'io_uring: operations on the pool ring with fixed buffers';

  constructor(
    private readonly shared: Shared,
    /** Why receives land in leases by default, where the ring does not run. */
    private readonly noRing: string | undefined,
  ) {}

  stats(): IoStats {
    const { reactor: r, receiveRing } = this.shared;
    return {
      datapath: 'uring',
      reason: this.reason,
      opsInFlight: r.operations,
      submitCalls: r.submitCalls,
      opsSubmitted: r.submitted,
      completionBatches: r.batches,
      receive: receiveRing !== undefined ? 'ring' : 'lease',
      receiveReason:
        this.noRing ?? 'a multishot receive per connection from the shared buffers of the pool ring (an incremental buffer ring)',
      ring: receiveRing?.stats() ?? null,
      coalescedSends: this.shared.coalescedSends,
    };
  }

  checkReceive(receive: ReceiveMode | 'auto'): void {
    if (receive === 'ring' && this.shared.receiveRing === undefined) {
      throw new RioError('ERR_RIO_DATAPATH', `receive: 'ring' cannot run: ${this.noRing}`);
    }
  }

  #mode(options: TransportOptions): ReceiveMode {
    return options.receive === 'lease' || this.shared.receiveRing === undefined ? 'lease' : 'ring';
  }

  /** A listening socket whose accepts run on the ring (accept-loop.ts). */
  listen({ host, port, backlog, options, accepted, failed }: ListenRequest): Promise<Listener> {
    const { ring, reactor } = this.shared;
    let fd: number;
    let bound: number;
    try {
      [fd, bound] = ring.listen(host, port, backlog);
    } catch (e) {
      return Promise.reject(socketError(e, `listen ${host}:${port}`));
    }
    const mode = this.#mode(options);
    const loop = new AcceptLoop(reactor, ring, fd, {
      accepted: (socket) => accepted(new UringTransport(this.shared, socket, options.receiveSize, mode)),
      failed,
    });
    loop.start();
    return Promise.resolve({ address: { port: bound, host }, stop: () => loop.stop() });
  }

  connect(host: string, port: number, options: TransportOptions, signal?: AbortSignal): Promise<Transport> {
    const { ring, reactor } = this.shared;
    let fd: number;
    try {
      fd = ring.socket(host);
    } catch (e) {
      return Promise.reject(socketError(e, `connect ${host}:${port}`));
    }
    return new Promise((resolve, reject) => {
      try {
        let forget: (() => void) | undefined;
        const op = reactor.connect(fd, host, port, (result) => {
          forget?.();
          if (result === 0) {
            resolve(new UringTransport(this.shared, fd, options.receiveSize, this.#mode(options)));
          } else {
            ring.closeSocket(fd);
            reject(resultError(result, `connect ${host}:${port}`));
          }
        });
        if (signal !== undefined) forget = onAbort(signal, () => reactor.cancel(op)); // its completion closes the socket
      } catch (e) {
        // Refused before it was submitted (an address the kernel cannot take): the socket goes too.
        ring.closeSocket(fd);
        reject(socketError(e, `connect ${host}:${port}`));
      }
    });
  }

  decay(): void {
    this.shared.receiveRing?.decay();
  }

  close(): void {
    this.shared.receiveRing?.close();
  }
}

/** The uring datapath on the registrar's ring, or why it cannot run. */
export function openUringIo(registrar: PoolRegistrar, alloc: Allocator): Io | string {
  const ring = registrar.ring();
  if (typeof ring === 'string') return ring;
  let reactor: Reactor;
  try {
    reactor = new Reactor(ring);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  registrar.keepOpenWhile(reactor);
  reactor.onSubmitError = (e) =>
    emitRiopoolWarning('RIOPOOL_SUBMIT', `riopool: the ring refused a submit (${e instanceof Error ? e.message : String(e)}); retrying`);
  const receiveRing = ReceiveRing.open(ring, alloc);
  const shared: Shared = {
    ring,
    reactor,
    alloc,
    receiveRing: typeof receiveRing === 'string' ? undefined : receiveRing,
    coalescedSends: 0,
  };
  return new UringIo(shared, typeof receiveRing === 'string' ? receiveRing : undefined);
}
