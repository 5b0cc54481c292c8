/**
 * toDuplex: a Connection as a node:stream Duplex, for code that wants streams (pipeline(),
 * libraries that take a socket-like stream).
 *
 *   const stream = toDuplex(conn);
 *   stream.on('data', (chunk: Buffer) => ...);   // chunks are copies: the stream's reader keeps them
 *   stream.write(buffer);                          // copied into leases, sent on the connection
 *
 * Streams hand their chunks to readers that may keep them for as long as they like, so the
 * adapter copies: each received lease is copied into a Buffer and released at once, and each
 * written chunk is copied into leases of at most `chunkBytes`, which the connection holds until
 * sent. That costs a copy each way; code that can work on leases directly (conn.on('data'),
 * conn.write) saves it. bench/server-throughput.ts measures both.
 *
 * Backpressure both ways: a full readable buffer pauses the connection's receives until the
 * reader asks for more; a write that puts the connection above its high-water mark holds the
 * stream's callback until 'drain'. end() waits for the connection's 'finish'; destroy() destroys
 * the connection and completes once it has closed (every lease it held is back).
 *
 * Ending: the stream, not the connection, decides when to end its side after the peer ended
 * (the connection is kept half open and the stream's own allowHalfOpen applies): like
 * net.Socket, it ends once its reader has seen 'end', so an echo sends everything back.
 */
import { Duplex } from 'node:stream';
import { RioError, is, isInstance, readOptions, type Lease, type Schema, type Allocator } from '@riopool/core';
import { Connection, connectionAllocator, keepHalfOpen } from './connection';

/** toDuplex's options (chunkBytes' upper bound, the pool's largest lease, is checked in toDuplex). */
const DUPLEX_SCHEMA: Schema = {
  chunkBytes: is.int(1, Number.MAX_SAFE_INTEGER),
  allowHalfOpen: is.bool,
  readableHighWaterMark: is.int(0, Number.MAX_SAFE_INTEGER),
};

export interface DuplexOptions {
  /** Most bytes per lease a write is copied into; default 64 KiB. */
  chunkBytes?: number;
  /**
   * Keep the writable side open after the readable side ends; default false, as net.Socket's
   * (the stream ends its side once its reader has seen the peer's end). The connection's own
   * allowHalfOpen no longer applies: the stream decides.
   */
  allowHalfOpen?: boolean;
  /** The readable side's buffer, in bytes, before receives pause; default 64 KiB. */
  readableHighWaterMark?: number;
}

class ConnectionStream extends Duplex {
  readonly #conn: Connection;
  /** The connection's pool, whose leases writes are copied into. */
  readonly #alloc: Allocator;
  readonly #chunkBytes: number;
  /** The callback of a write that is waiting for the connection's 'drain'. */
  #waitingForDrain: ((error?: Error | null) => void) | undefined;
  /** The connection's receives have ended (push(null) is done). */
  #readEnded = false;

  constructor(conn: Connection, alloc: Allocator, chunkBytes: number, options: DuplexOptions) {
    super({
      allowHalfOpen: options.allowHalfOpen === true,
      readableHighWaterMark: options.readableHighWaterMark ?? 64 * 1024,
      // The connection has its own high-water mark: the stream passes writes straight on.
      writableHighWaterMark: 0,
      decodeStrings: true,
    });
    this.#conn = conn;
    this.#alloc = alloc;
    this.#chunkBytes = chunkBytes;
    conn.on('data', (lease: Lease) => {
      let chunk: Buffer;
      try {
        chunk = Buffer.from(lease.bytes); // a copy: the reader may keep it
      } finally {
        lease.release();
      }
      if (!this.push(chunk)) conn.pause();
    });
    conn.on('end', () => {
      this.#readEnded = true;
      this.push(null);
    });
    conn.on('drain', () => {
      const done = this.#waitingForDrain;
      this.#waitingForDrain = undefined;
      done?.();
    });
    conn.on('error', (e: Error) => this.destroy(e));
    conn.on('close', () => {
      // A close after both sides ended in order leaves the stream to finish on its own (its
      // reader may still have data to read; autoDestroy closes it then). Any other close is
      // abrupt: the stream goes too.
      if (this.destroyed || (this.#readEnded && this.writableFinished)) return;
      this.destroy();
    });
  }

  /** The connection underneath. */
  get connection(): Connection {
    return this.#conn;
  }

  override _read(): void {
    this.#conn.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this._writev([{ chunk }], callback);
  }

  /** Copies the chunks into as few leases as fit, and writes them in order. */
  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    let total = 0;
    for (const { chunk } of chunks) total += chunk.length;
    if (total === 0) {
      callback();
      return;
    }
    const alloc = this.#alloc;
    let more = true;
    let lease: Lease | undefined;
    try {
      let bytes: Uint8Array | undefined;
      let filled = 0;
      for (const { chunk } of chunks) {
        for (let at = 0; at < chunk.length; ) {
          if (lease === undefined) {
            lease = alloc.acquire(Math.min(this.#chunkBytes, total));
            bytes = lease.bytes;
            filled = 0;
          }
          const n = Math.min(chunk.length - at, bytes!.length - filled);
          bytes!.set(chunk.subarray(at, at + n), filled);
          at += n;
          filled += n;
          total -= n;
          if (filled === bytes!.length) {
            more = this.#conn.write(lease, filled);
            lease.release(); // the connection holds its own reference until sent
            lease = undefined;
          }
        }
      }
    } catch (e) {
      lease?.release();
      callback(e as Error);
      return;
    }
    if (more || this.#conn.closed) callback();
    else this.#waitingForDrain = callback;
  }

  override _final(callback: (error?: Error | null) => void): void {
    const conn = this.#conn;
    if (conn.finished) {
      callback();
      return;
    }
    // 'finish' once the writes are sent and the shutdown queued; a connection destroyed first
    // never finishes: its 'close' ends the wait with an error.
    const finished = () => {
      conn.off('close', closed);
      callback();
    };
    const closed = () => {
      conn.off('finish', finished);
      callback(new RioError('ERR_RIO_CONNECTION_CLOSED', 'end: the connection closed before its writes were sent'));
    };
    conn.once('finish', finished);
    conn.once('close', closed);
    conn.end();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // A write waiting for 'drain' never gets it now: its callback must still run, or the stream
    // would wait for it for ever (and skip every later write's callback).
    const waiting = this.#waitingForDrain;
    this.#waitingForDrain = undefined;
    waiting?.(error ?? new RioError('ERR_RIO_CONNECTION_CLOSED', 'write: the stream was destroyed before the connection drained'));
    if (this.#conn.closed) {
      callback(error);
      return;
    }
    this.#conn.once('close', () => callback(error));
    this.#conn.destroy();
  }
}

/**
 * A Duplex over `conn`: readable chunks are copies of what it receives, writes are copied into
 * leases of its pool. Attach it before the connection's first 'data' (in the connection handler,
 * or right after connect() resolves): data with no listener is released unread.
 */
export function toDuplex(conn: Connection, options: DuplexOptions = {}): Duplex & { readonly connection: Connection } {
  if (!isInstance(conn, Connection)) throw new RioError('ERR_RIO_INVALID_OPTION', 'toDuplex: not a riopool Connection');
  options = readOptions<DuplexOptions>('toDuplex', options, DUPLEX_SCHEMA);
  const chunkBytes = options.chunkBytes ?? 64 * 1024;
  const alloc = connectionAllocator(conn);
  const maxLength = alloc.maxLength;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > maxLength) {
    throw new RioError(
      'ERR_RIO_INVALID_OPTION',
      `toDuplex: chunkBytes must be an integer from 1 to ${maxLength} (the pool's largest lease)`,
    );
  }
  const hwm = options.readableHighWaterMark;
  if (hwm !== undefined && (!Number.isInteger(hwm) || hwm < 0)) {
    throw new RioError('ERR_RIO_INVALID_OPTION', 'toDuplex: readableHighWaterMark must be a non-negative integer');
  }
  if (conn.closed || conn.listenerCount('data') > 0) {
    throw new RioError('ERR_RIO_INVALID_OPTION', 'toDuplex: the connection is closed or already has a data listener');
  }
  keepHalfOpen(conn);
  return new ConnectionStream(conn, alloc, chunkBytes, options);
}
