/**
 * Connection: one stream socket on a datapath, with leases in and leases out.
 *
 *   conn.on('data', (lease, length) => { ...; lease.release(); })   // the listener owns the lease
 *   conn.write(lease, length?)    // false above the high-water mark; 'drain' when below again
 *   conn.end()                    // after the queued writes, shut down the sending side ('finish')
 *   conn.destroy()                // cancel what is in flight; 'close' once it has completed
 *
 * A Transport moves the bytes (transport.ts; the uring datapath's ring or node:net); this file
 * is what every datapath shares: the write queue and its high-water mark, partial sends, the
 * order of 'end' and 'close', and errors as RioErrors with the socket's code (ECONNRESET, ...).
 *
 * References: write() retains the lease until its last byte is sent (the caller may release its
 * own at once); a receive's lease is the pool's until 'data' hands it to the listener. On
 * destroy, queued writes release their references at once; operations in flight release theirs
 * when their completions arrive (docs/design.md, rule 2), and only then is 'close' emitted.
 */
import { EventEmitter } from 'node:events';
import { Lease, RioError, leaseSlot, type SlabPool } from '@riopool/core';
import type { Transport } from './transport';

export interface ConnectionOptions {
  /** write() returns false while more than this many bytes are queued; default 64 KiB. */
  highWaterMark?: number;
  /** Keep the sending side open after the peer ends; default false (end() follows the peer's). */
  allowHalfOpen?: boolean;
}

/** For riopool's own modules (stream.ts): the allocator whose leases a connection sends. */
export let connectionAllocator: (conn: Connection) => SlabPool;
/**
 * For stream.ts: the connection no longer ends its side when the peer ends; the stream does,
 * once its reader has seen the end (as net.Socket does), so no unread data is lost to it.
 */
export let keepHalfOpen: (conn: Connection) => void;

interface Queued {
  lease: Lease;
  offset: number;
  remaining: number;
}

export class Connection extends EventEmitter {
  readonly #transport: Transport;
  readonly #alloc: SlabPool;
  readonly #highWaterMark: number;
  #allowHalfOpen: boolean;
  readonly #queue: Queued[] = [];
  #queued = 0;
  #sending = false;
  #needDrain = false;
  #ending = false;
  #shutdownSent = false;
  #readEnded = false;
  #destroyed = false;
  #closed = false;
  #hadError = false;

  constructor(transport: Transport, alloc: SlabPool, options: ConnectionOptions = {}) {
    super();
    this.#transport = transport;
    this.#alloc = alloc;
    this.#highWaterMark = options.highWaterMark ?? 64 * 1024;
    this.#allowHalfOpen = options.allowHalfOpen === true;
    transport.start({
      data: (lease, length) => this.#onData(lease, length),
      end: () => this.#onEnd(),
      error: (e) => this.destroy(e),
    });
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

  static {
    connectionAllocator = (conn) => conn.#alloc;
    keepHalfOpen = (conn) => {
      conn.#allowHalfOpen = true;
    };
  }

  /**
   * Queues the first `length` bytes of a lease of this pool for sending, holding a reference on
   * it until they are sent. Returns false when more than the high-water mark is queued: wait for
   * 'drain' before writing more.
   */
  write(lease: Lease, length?: number): boolean {
    const slot = lease instanceof Lease ? leaseSlot(lease) : undefined;
    if (!(lease instanceof Lease)) throw new RioError('ERR_RIO_INVALID_BUFFER', 'write: not a lease of a riopool pool');
    if (slot === undefined) throw new RioError('ERR_RIO_RELEASED', 'write: the lease is already released');
    if (slot.slab.owner !== this.#alloc)
      throw new RioError(
        'ERR_RIO_INVALID_BUFFER',
        "write: the lease belongs to another pool, whose buffers this connection's ring cannot use",
      );
    const n = length ?? lease.length;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > lease.length) {
      throw new RioError('ERR_RIO_INVALID_LENGTH', `write: length must be an integer from 1 to ${lease.length}`);
    }
    if (this.#ending || this.#destroyed) throw new RioError('ERR_RIO_CONNECTION_CLOSED', 'write: the connection is ending or closed');
    this.#queue.push({ lease: lease.retain(), offset: 0, remaining: n });
    this.#queued += n;
    this.#pump();
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

  /** Stops receiving until resume(); data in flight may still arrive. */
  pause(): void {
    if (!this.#destroyed) this.#transport.pause();
  }

  resume(): void {
    if (!this.#destroyed) this.#transport.resume();
  }

  /**
   * Closes now: queued writes are dropped (their references released), operations in flight
   * are cancelled, and 'close' follows once their completions have arrived. With an error,
   * 'error' is emitted first.
   */
  destroy(error?: RioError): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
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
    // The head is in flight while #sending: its send's completion releases it (#sent).
    const keep = this.#sending ? 1 : 0;
    for (const q of this.#queue.splice(keep)) {
      this.#queued -= q.remaining;
      q.lease.release();
    }
  }

  #pump(): void {
    if (this.#sending || this.#destroyed) return;
    const head = this.#queue[0];
    if (head === undefined) {
      if (this.#ending && !this.#shutdownSent) {
        this.#shutdownSent = true;
        this.#transport.shutdown();
        this.emit('finish');
        if (this.#readEnded) this.destroy();
      }
      return;
    }
    this.#sending = true;
    this.#transport.send(head.lease, head.offset, head.remaining, (sent, error) => this.#sent(head, sent, error));
  }

  #sent(head: Queued, sent: number, error?: RioError): void {
    this.#sending = false;
    if (error !== undefined) {
      this.#queue.shift();
      this.#queued -= head.remaining;
      head.lease.release();
      this.destroy(error);
      return;
    }
    head.offset += sent;
    head.remaining -= sent;
    this.#queued -= sent;
    if (head.remaining === 0) {
      this.#queue.shift();
      head.lease.release();
    }
    if (this.#destroyed) {
      if (head.remaining > 0) {
        this.#queue.shift();
        this.#queued -= head.remaining;
        head.lease.release();
      }
      return;
    }
    if (this.#needDrain && this.#queued <= this.#highWaterMark) {
      this.#needDrain = false;
      this.emit('drain');
    }
    this.#pump();
  }

  #onData(lease: Lease, length: number): void {
    if (this.#destroyed || this.listenerCount('data') === 0) {
      lease.release();
      return;
    }
    this.emit('data', lease, length);
  }

  #onEnd(): void {
    if (this.#readEnded) return;
    this.#readEnded = true;
    this.emit('end');
    if (!this.#allowHalfOpen) this.end();
    if (this.#shutdownSent) this.destroy();
  }
}
