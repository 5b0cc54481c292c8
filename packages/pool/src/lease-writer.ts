/**
 * LeaseWriter: builds a message in pool memory, piece by piece, when its size is not known up
 * front (a server's replies to a batch of requests), and hands it over as one lease of exactly
 * the bytes written, ready for conn.write.
 *
 *   const w = new LeaseWriter(pool);
 *   w.write('+OK\r\n');           // strings (latin1 by default) or bytes
 *   w.write(value);
 *   const reply = w.take();       // a lease of w.length bytes; the writer starts over, empty
 *   if (reply) conn.write(reply), reply.release();
 *
 * The bytes go into one lease that doubles when full (the bytes so far are copied into the
 * bigger one: each byte is copied at most a couple of times, however many writes); take() hands
 * out a slice of it, so nothing is copied there. A message starts at the size the last one
 * reached, rounded up to a power of two (at least initialBytes; at most 64 KiB remembered), so a
 * server whose replies are alike grows no lease per message.
 */
import { RioError, type Lease, is, readOptions } from '@riopool/core';
import { allocatorOf, type Pool } from './pool';

const EMPTY = Buffer.alloc(0);
/** A message's size is remembered for the next one up to this (one huge reply does not make every later one huge). */
const NEXT_MAX = 64 * 1024;

/** The least power of two >= n (n >= 1), at most NEXT_MAX: in integer steps (Math.log2 and ** took more than the rest of take()). */
const nextSize = (n: number): number => (n >= NEXT_MAX ? NEXT_MAX : 1 << (32 - Math.clz32(n - 1)));

export interface LeaseWriterOptions {
  /** The smallest first lease of a message; default 4 KiB. */
  initialBytes?: number;
}

export class LeaseWriter {
  readonly #acquire: (n: number) => Lease;
  readonly #initial: number;
  /** The longest lease the pool lends. */
  readonly #max: number;
  #lease: Lease | undefined;
  #bytes: Buffer = EMPTY;
  #length = 0;
  /** The size the next message's first lease has: the last message's size, or initialBytes. */
  #next: number;

  constructor(pool: Pool, given: LeaseWriterOptions = {}) {
    const alloc = allocatorOf(pool);
    const options = readOptions<LeaseWriterOptions>('LeaseWriter', given, { initialBytes: is.int(1, Number.MAX_SAFE_INTEGER) });
    const initial = options.initialBytes ?? 4096;
    if (typeof initial !== 'number' || !Number.isInteger(initial) || initial < 1 || initial > alloc.maxLength) {
      throw new RioError('ERR_RIO_INVALID_OPTION', `LeaseWriter: initialBytes must be an integer from 1 to ${alloc.maxLength}`);
    }
    this.#acquire = (n) => alloc.acquire(n);
    this.#initial = initial;
    this.#next = initial;
    this.#max = alloc.maxLength;
  }

  /** Bytes written since the last take(). */
  get length(): number {
    return this.#length;
  }

  /** Appends bytes, or a string in `encoding` (default latin1: one byte per character). */
  write(data: Uint8Array | string, encoding: 'latin1' | 'utf8' = 'latin1'): void {
    const text = typeof data === 'string';
    if (!text && !(data instanceof Uint8Array))
      throw new RioError('ERR_RIO_INVALID_BUFFER', 'LeaseWriter.write: not a string or a Uint8Array');
    const n = text ? Buffer.byteLength(data, encoding) : data.length;
    if (this.#length + n > this.#bytes.length) this.#grow(this.#length + n);
    if (text) this.#bytes.write(data, this.#length, encoding);
    else this.#bytes.set(data, this.#length);
    this.#length += n;
  }

  /** What was written, as a lease of exactly `length` bytes (the caller owns it); undefined if nothing was. */
  take(): Lease | undefined {
    const lease = this.#lease;
    if (lease === undefined || this.#length === 0) return undefined;
    const message = lease.slice(0, this.#length);
    this.#next = Math.max(this.#initial, nextSize(this.#length));
    this.#drop();
    return message;
  }

  /** Drops what was written (its lease goes back). */
  release(): void {
    this.#drop();
  }

  #grow(need: number): void {
    // Doubling stops at the longest lease the pool lends; past `need` even that, the pool's error.
    const bigger = this.#acquire(Math.max(need, Math.min(this.#max, Math.max(this.#next, 2 * this.#bytes.length))));
    const bytes = bigger.bytes;
    if (this.#length > 0) this.#bytes.copy(bytes, 0, 0, this.#length);
    this.#lease?.release();
    this.#lease = bigger;
    this.#bytes = bytes;
  }

  #drop(): void {
    this.#lease?.release();
    this.#lease = undefined;
    this.#bytes = EMPTY;
    this.#length = 0;
  }
}
