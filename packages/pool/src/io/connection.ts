/**
 * Connection: one stream socket on a datapath, with leases in and leases out.
 *
 *   conn.on('data', (lease) => { ...; lease.release(); })  // exactly the bytes received; the listener owns it
 *   conn.write(lease, length?)    // false above the high-water mark; 'drain' when below again
 *   conn.end()                    // after the queued writes, shut down the sending side ('finish')
 *   conn.destroy()                // cancel what is in flight; 'close' once it has completed
 *
 * A Transport moves the bytes (transport.ts; the uring datapath's ring or node:net); this file
 * is what every datapath shares: the write queue and its high-water mark, partial sends, the
 * order of 'end' and 'close', and errors as RioErrors with the socket's code (ECONNRESET, ...).
 *
 * Writes: the writes of one JavaScript turn go out together, in one operation where the
 * datapath can (the transport's schedule() runs the pump just before the turn's submissions):
 * at most MAX_CHUNKS writes per operation, and one operation in flight per connection.
 *
 * References: write() retains the lease until its last byte is sent (the caller may release its
 * own at once); a receive's lease is the pool's until 'data' hands it to the listener. On
 * destroy, queued writes release their references at once; operations in flight release theirs
 * when their completions arrive (docs/design.md, rule 2), and only then is 'close' emitted.
 *
 * Errors after an asynchronous boundary (a completion, a receive) are never thrown: they reach
 * 'error' (then 'close'), as node:net's do. A write after end() is one of them (as net.Socket:
 * 'error' with ERR_RIO_CONNECTION_CLOSED, and write returns false); a write after destroy()
 * returns false and changes nothing.
 */
import { Lease, RioError, isInstance, isRioError, leaseSlot, type Allocator } from '@riopool/core';
import { TypedEmitter } from '../events';
import { disposeConnection, readLeases } from './connection-idioms';
import type { Chunk, SocketAddresses, Transport } from './transport';

/** The most writes one send operation carries (the uring datapath's SENDMSG takes 64 ranges). */
const MAX_CHUNKS = 64;

export interface ConnectionOptions {
  /** write() returns false while more than this many bytes are queued; default 64 KiB. */
  highWaterMark?: number;
  /** Keep the sending side open after the peer ends; default false (end() follows the peer's). */
  allowHalfOpen?: boolean;
}

/** A connection's events and their listeners' arguments (docs/api.md, "Registered I/O"). */
export interface ConnectionEvents {
  /** Exactly the bytes received (`lease.length` of them); the listener owns the lease and releases it. */
  data: [lease: Lease];
  /** The peer ended its sending side. */
  end: [];
  /** The queued bytes went below the high-water mark after write() returned false. */
  drain: [];
  /** After end(): every queued write sent, the shutdown queued. */
  finish: [];
  /**
   * A RioError whose code is the socket's (ECONNRESET, EPIPE, ...) or ERR_RIO_CONNECTION_CLOSED,
   * or the error given to destroy(error) as it is; 'close' follows.
   */
  error: [error: RioError | (Error & { code?: unknown })];
  /** No byte received or sent for the idle time setTimeout() set (the connection stays open, as node:net's). */
  timeout: [];
  /** Every operation has completed; `hadError`: an 'error' came first. */
  close: [hadError: boolean];
}

/** For server.ts: makes a connection (the constructor is private: users get connections from createServer and connect). */
export let newConnection: (
  transport: Transport,
  alloc: Allocator,
  options?: ConnectionOptions,
  known?: Partial<SocketAddresses>,
) => Connection;

/** For riopool's own modules (stream.ts): the allocator whose leases a connection sends. */
export let connectionAllocator: (conn: Connection) => Allocator;
/**
 * For stream.ts: the connection no longer ends its side when the peer ends; the stream does,
 * once its reader has seen the end (as net.Socket does), so no unread data is lost to it.
 */
export let keepHalfOpen: (conn: Connection) => void;

/** A queued write: [start, start + length) of its lease is what is not sent yet. */
type Queued = Chunk;

export class Connection extends TypedEmitter<ConnectionEvents> {
  readonly #transport: Transport;
  readonly #alloc: Allocator;
  readonly #highWaterMark: number;
  #allowHalfOpen: boolean;
  readonly #queue: Queued[] = [];
  #queued = 0;
  /** Writes the send in flight carries (the head of the queue), 0 when none is in flight. */
  #inFlight = 0;
  #pumpScheduled = false;
  #needDrain = false;
  #ending = false;
  #shutdownSent = false;
  #readEnded = false;
  /** pause() was called: receives stop, and what still arrives waits in #held until resume(). */
  #paused = false;
  /** Received while paused (a receive already in flight, a multishot's batch): in order. */
  readonly #held: Lease[] = [];
  /** The peer's end arrived while paused, after #held. */
  #endHeld = false;
  #destroyed = false;
  #closed = false;
  #hadError = false;
  /** What the server or connect() knew of the addresses (where the transport cannot ask the OS). */
  readonly #known: Partial<SocketAddresses>;
  #addresses: Partial<SocketAddresses> | undefined;
  /** setTimeout's idle time (0: none), and its timer. */
  #idleMs = 0;
  #idleTimer: NodeJS.Timeout | undefined;

  private constructor(transport: Transport, alloc: Allocator, options: ConnectionOptions = {}, known: Partial<SocketAddresses> = {}) {
    super();
    this.#known = known;
    this.#transport = transport;
    this.#alloc = alloc;
    this.#highWaterMark = options.highWaterMark ?? 64 * 1024;
    this.#allowHalfOpen = options.allowHalfOpen === true;
    let starting = true;
    transport.start({
      data: (lease) => this.#onData(lease),
      end: () => this.#onEnd(),
      // An error while starting (the first receive's lease refused: the pool at its maxBytes)
      // comes on the next tick, as net.Socket's errors do: after the server's 'connection', so
      // that its listener can hear it.
      error: (e) => (starting ? process.nextTick(() => this.destroy(e)) : this.destroy(e)),
    });
    starting = false;
  }

  /** 'uring' or 'net': how this connection moves its bytes. */
  get datapath(): 'uring' | 'net' {
    return this.#transport.datapath;
  }

  /** Bytes written and not yet sent. */
  get bufferedBytes(): number {
    return this.#queued;
  }

  /** True once 'close' has been emitted. */
  get closed(): boolean {
    return this.#closed;
  }

  /** True once end() has sent every queued write and queued the shutdown ('finish'). */
  get finished(): boolean {
    return this.#shutdownSent;
  }

  /** True once the peer's end has been emitted ('end'), as net.Socket's readableEnded. */
  get readableEnded(): boolean {
    return this.#readEnded;
  }

  /** True once destroy() was called (by the caller, an error, or the close that follows both ends). */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /**
   * The socket's addresses, as net.Socket names them: the OS's, on both datapaths (uring asks
   * getsockname / getpeername through the ring), read once at the first access; what the server
   * or connect() knew fills in an end the OS no longer says (a peer already gone).
   */
  #address(): Partial<SocketAddresses> {
    if (this.#addresses === undefined) {
      const os = this.#transport.addresses?.() ?? {};
      this.#addresses = { ...this.#known, ...Object.fromEntries(Object.entries(os).filter(([, v]) => v !== undefined)) };
    }
    return this.#addresses;
  }
  get localAddress(): string | undefined {
    return this.#address().localAddress;
  }
  get localPort(): number | undefined {
    return this.#address().localPort;
  }
  get remoteAddress(): string | undefined {
    return this.#address().remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.#address().remotePort;
  }
  get remoteFamily(): 'IPv4' | 'IPv6' | undefined {
    return this.#address().remoteFamily;
  }

  /**
   * TCP_NODELAY, as net.Socket's (default true: riopool's sockets are made with it on, as
   * redis-server's and most servers' are). Applied to the socket on both datapaths. Returns the
   * connection.
   */
  setNoDelay(noDelay = true): this {
    if (typeof noDelay !== 'boolean') throw new RioError('ERR_RIO_INVALID_OPTION', `setNoDelay: ${String(noDelay)} must be a boolean`);
    if (!this.#destroyed) this.#transport.setNoDelay?.(noDelay);
    return this;
  }

  /** SO_KEEPALIVE (and TCP_KEEPIDLE from initialDelay, in whole seconds), as net.Socket's, on both datapaths. Returns the connection. */
  setKeepAlive(enable = false, initialDelay = 0): this {
    if (typeof enable !== 'boolean') throw new RioError('ERR_RIO_INVALID_OPTION', `setKeepAlive: enable must be a boolean`);
    if (typeof initialDelay !== 'number' || !(initialDelay >= 0) || !Number.isFinite(initialDelay))
      throw new RioError('ERR_RIO_INVALID_OPTION', 'setKeepAlive: initialDelay must be a number of milliseconds >= 0');
    if (!this.#destroyed) this.#transport.setKeepAlive?.(enable, initialDelay);
    return this;
  }

  /**
   * Emits 'timeout' after `ms` milliseconds with no byte received or sent (0 turns it off), as
   * net.Socket's: the connection stays open; end or destroy it in the listener. `callback` is a
   * 'timeout' listener, added once. The timer does not keep the process alive.
   */
  setTimeout(ms: number, callback?: () => void): this {
    if (typeof ms !== 'number' || !(ms >= 0) || ms > 2 ** 31 - 1)
      throw new RioError('ERR_RIO_INVALID_OPTION', `setTimeout: ${String(ms)} must be a number of milliseconds from 0 to ${2 ** 31 - 1}`);
    if (callback !== undefined && typeof callback !== 'function')
      throw new RioError('ERR_RIO_INVALID_OPTION', 'setTimeout: callback must be a function');
    if (callback !== undefined) this.once('timeout', callback);
    this.#idleMs = Math.floor(ms);
    this.#active();
    return this;
  }

  /** A byte moved: the idle timer starts again. */
  #active(): void {
    if (this.#idleMs === 0 || this.#destroyed) {
      if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
      return;
    }
    if (this.#idleTimer !== undefined) {
      this.#idleTimer.refresh();
      return;
    }
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (!this.#destroyed) this.emit('timeout');
    }, this.#idleMs).unref();
  }

  static {
    newConnection = (transport, alloc, options, known) => new Connection(transport, alloc, options, known);
    connectionAllocator = (conn) => conn.#alloc;
    keepHalfOpen = (conn) => {
      conn.#allowHalfOpen = true;
    };
  }

  /**
   * Queues the first `length` bytes of a lease of this pool for sending, holding a reference on
   * it until they are sent. Returns false when more than the high-water mark is queued: wait for
   * 'drain' before writing more. A bad lease or length throws (and queues nothing); on a
   * connection that is ending, 'error' follows (ERR_RIO_CONNECTION_CLOSED) and it returns false.
   */
  write(data: Lease | Uint8Array | string, lengthOrEncoding?: number | BufferEncoding): boolean {
    if (typeof data === 'string' || (data instanceof Uint8Array && !isInstance(data, Lease)))
      return this.#writeCopy(data, lengthOrEncoding);
    return this.#writeLease(data, lengthOrEncoding as number | undefined);
  }

  /**
   * write(bytes) and write(string, encoding = 'utf8'): copied into leases of this connection's
   * pool (at most 64 KiB each), which are written as write(lease) writes them.
   */
  #writeCopy(data: Uint8Array | string, encoding: unknown): boolean {
    let bytes: Uint8Array;
    if (typeof data === 'string') {
      if (encoding !== undefined && (typeof encoding !== 'string' || !Buffer.isEncoding(encoding)))
        throw new RioError('ERR_RIO_INVALID_OPTION', `write: encoding ${String(encoding)} is not one Buffer knows`);
      bytes = Buffer.from(data, (encoding as BufferEncoding | undefined) ?? 'utf8');
    } else {
      if (encoding !== undefined)
        throw new RioError('ERR_RIO_INVALID_OPTION', 'write: bytes take no length or encoding (write a subarray)');
      bytes = data;
    }
    if (bytes.length === 0) return !this.#destroyed && this.#queued <= this.#highWaterMark;
    const step = Math.min(64 * 1024, this.#alloc.maxLength);
    let more = true;
    for (let at = 0; at < bytes.length; at += step) {
      const n = Math.min(step, bytes.length - at);
      const lease = this.#alloc.acquire(n);
      try {
        lease.bytes.set(bytes.subarray(at, at + n));
        more = this.#writeLease(lease, n);
      } finally {
        lease.release(); // the write holds its own reference
      }
    }
    return more;
  }

  #writeLease(lease: Lease, length?: number): boolean {
    const isLease = isInstance(lease, Lease);
    const slot = isLease ? leaseSlot(lease) : undefined;
    if (!isLease) throw new RioError('ERR_RIO_INVALID_BUFFER', 'write: not a lease of a riopool pool');
    if (slot === undefined) throw new RioError('ERR_RIO_RELEASED', 'write: the lease is already released');
    if (slot.slab.owner !== this.#alloc)
      throw new RioError(
        'ERR_RIO_INVALID_BUFFER',
        "write: the lease belongs to another pool, whose buffers this connection's ring cannot use",
      );
    const n = length === undefined ? lease.length : length; // null is no length (as net.Socket's)
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > lease.length) {
      throw new RioError('ERR_RIO_INVALID_LENGTH', `write: length must be an integer from 1 to ${lease.length}`);
    }
    if (this.#destroyed) return false;
    if (this.#ending) {
      const error = new RioError('ERR_RIO_CONNECTION_CLOSED', 'write: the connection is ending (end() was called)');
      process.nextTick(() => this.destroy(error));
      return false;
    }
    this.#queue.push({ lease: lease.retain(), start: 0, length: n });
    this.#queued += n;
    if (this.#inFlight === 0 && !this.#pumpScheduled) {
      this.#pumpScheduled = true;
      this.#transport.schedule(this.#scheduledPump);
    }
    if (this.#queued > this.#highWaterMark) {
      this.#needDrain = true;
      return false;
    }
    return true;
  }

  /** Sends what is queued, then shuts down the sending side. Idempotent. */
  end(): void {
    if (this.#ending || this.#destroyed) return;
    this.#ending = true;
    this.#pump();
  }

  /**
   * Stops receiving until resume(): no 'data' is emitted meanwhile. What was already on its way
   * (a receive in flight, the rest of a batch of completions) is held, in order, and emitted
   * first at resume().
   */
  pause(): void {
    if (this.#destroyed || this.#paused) return;
    this.#paused = true;
    this.#transport.pause();
  }

  resume(): void {
    if (this.#destroyed || !this.#paused) return;
    this.#paused = false;
    while (this.#held.length > 0 && !this.#paused && !this.#destroyed) this.#onData(this.#held.shift()!);
    if (this.#endHeld && !this.#paused && !this.#destroyed) {
      this.#endHeld = false;
      this.#onEnd();
    }
    if (!this.#paused && !this.#destroyed) this.#transport.resume();
  }

  /**
   * `for await (using lease of conn)`: each lease received, in order, with backpressure; the loop
   * owns each lease it is handed (connection-idioms.ts). Refused (ERR_RIO_INVALID_OPTION) when the
   * connection already has a 'data' listener.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<Lease> {
    return readLeases(this);
  }

  /** `await using conn = ...`: at the end of the scope, end() (queued writes go out), then close. */
  [Symbol.asyncDispose](): Promise<void> {
    return disposeConnection(this);
  }

  /**
   * Closes now: queued writes are dropped (their references released), operations in flight
   * are cancelled, and 'close' follows once their completions have arrived. With an error,
   * 'error' is emitted first.
   */
  destroy(error?: Error): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#active(); // the idle timer stops
    this.#dropQueue();
    if (error !== undefined) {
      this.#hadError = true;
      if (this.listenerCount('error') > 0) this.emit('error', error);
    }
    this.#transport.close(() => {
      this.#closed = true;
      this.emit('close', this.#hadError);
    });
  }

  #dropQueue(): void {
    for (const lease of this.#held.splice(0)) lease.release();
    // The writes of the send in flight stay: its completion releases them (#sent).
    for (const q of this.#queue.splice(this.#inFlight)) {
      this.#queued -= q.length;
      q.lease.release();
    }
  }

  #pump(): void {
    if (this.#inFlight !== 0 || this.#destroyed) return;
    if (this.#queue.length === 0) {
      if (this.#ending && !this.#shutdownSent) {
        this.#shutdownSent = true;
        this.#transport.shutdown();
        this.emit('finish');
        if (this.#readEnded) this.destroy();
      }
      return;
    }
    const chunks = this.#queue.length <= MAX_CHUNKS ? this.#queue : this.#queue.slice(0, MAX_CHUNKS);
    this.#inFlight = chunks.length;
    try {
      this.#transport.send(chunks, this.#onSent);
    } catch (e) {
      // The datapath could not send (a full ring queue is retried there, not thrown): the
      // connection fails, as for a send that completed with an error; nothing stays in flight.
      this.#inFlight = 0;
      this.destroy(isRioError(e) ? e : new RioError('ERR_RIO_BACKEND', `send: ${(e as Error)?.message ?? String(e)}`, { cause: e }));
    }
  }

  // Made once, so that a write and its send allocate no closure.
  readonly #scheduledPump = () => {
    this.#pumpScheduled = false;
    this.#pump();
  };
  readonly #onSent = (sent: number, error?: RioError) => this.#sent(sent, error);

  /** The send in flight completed: `sent` bytes from the head of the queue went out. */
  #sent(sent: number, error?: RioError): void {
    const carried = this.#inFlight;
    this.#inFlight = 0;
    if (error !== undefined) {
      for (const q of this.#queue.splice(0, carried)) {
        this.#queued -= q.length;
        q.lease.release();
      }
      this.destroy(error);
      return;
    }
    this.#queued -= sent;
    this.#active();
    let done = 0;
    while (sent > 0) {
      const head = this.#queue[done]!;
      const n = Math.min(sent, head.length);
      head.start += n;
      head.length -= n;
      sent -= n;
      if (head.length === 0) done++;
    }
    for (let i = 0; i < done; i++) this.#queue[i]!.lease.release();
    if (done === this.#queue.length) this.#queue.length = 0;
    else this.#queue.splice(0, done);
    if (this.#destroyed) {
      // What the send carried and did not send goes now; the rest went at destroy.
      for (const q of this.#queue.splice(0, carried - done)) {
        this.#queued -= q.length;
        q.lease.release();
      }
      return;
    }
    if (this.#needDrain && this.#queued <= this.#highWaterMark) {
      this.#needDrain = false;
      this.emit('drain');
    }
    this.#pump();
  }

  #onData(lease: Lease): void {
    if (this.#destroyed || this.listenerCount('data') === 0) {
      lease.release();
      return;
    }
    this.#active();
    if (this.#paused) {
      this.#held.push(lease);
      return;
    }
    this.emit('data', lease);
  }

  #onEnd(): void {
    if (this.#readEnded) return;
    if (this.#paused) {
      this.#endHeld = true; // after what is held
      return;
    }
    this.#readEnded = true;
    this.emit('end');
    if (!this.#allowHalfOpen) this.end();
    if (this.#shutdownSent) this.destroy();
  }
}
