/**
 * ReceiveBuffer: the unconsumed bytes of a stream, contiguous, for a parser; with no copy while
 * messages arrive whole, and each byte copied at most once when they do not.
 *
 *   const pending = new ReceiveBuffer({ maxBytes: 64 << 20 });
 *   conn.on('data', (lease) => {
 *     const bytes = pending.append(lease); // every unconsumed byte, contiguous; it owns the lease
 *     const used = parse(bytes);           // the bytes the complete messages took
 *     pending.consume(used);               // what is left waits for the next append
 *   });
 *   conn.on('close', () => pending.release());
 *
 * While nothing is pending, append() returns the lease's own bytes (no copy), and a consume()
 * that takes them all releases the lease. What a consume() leaves (a message split across
 * receives) is copied once into a buffer of the ReceiveBuffer's own (plain memory: it pins and
 * registers nothing, and the lease goes back at once), and later appends copy into it: a buffer
 * that grows by doubling, or straight to reserve(n) when the parser knows how long the message
 * is. The pending bytes are never copied again per receive, so a message of any size costs one
 * copy, not one per receive (the quadratic case of reassembling by concatenation).
 */
import { Lease, RioError, is, isInstance, readOptions, shown } from '@riopool/core';

export interface ReceiveBufferOptions {
  /** Most unconsumed bytes; an append past it throws ERR_RIO_INVALID_LENGTH. Default 64 MiB. */
  maxBytes?: number;
}

/** The smallest buffer of its own a ReceiveBuffer makes. */
const MIN_OWN = 4096;
/** An empty buffer of its own larger than this is dropped, not kept for the next message. */
const KEEP_OWN = 64 * 1024;

export class ReceiveBuffer {
  readonly #maxBytes: number;
  /** The lease (or caller's bytes) appended while nothing was pending, and its unconsumed start. */
  #borrowed: Uint8Array | undefined;
  #lease: Lease | undefined;
  #borrowedAt = 0;
  /** The buffer of its own, and its unconsumed bytes [#start, #end). */
  #own: Buffer | undefined;
  #start = 0;
  #end = 0;
  /** The size the next copy into the buffer of its own should have room for (reserve). */
  #reserved = 0;
  #copied = 0;

  constructor(given: ReceiveBufferOptions = {}) {
    const options = readOptions<ReceiveBufferOptions>('ReceiveBuffer', given, { maxBytes: is.int(1, Number.MAX_SAFE_INTEGER) });
    const max = options.maxBytes ?? 64 * 1024 * 1024;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1) {
      throw new RioError('ERR_RIO_INVALID_OPTION', `ReceiveBuffer: maxBytes must be a positive integer, got ${shown(max)}`);
    }
    this.#maxBytes = max;
  }

  /** Bytes copied so far: into its buffer, and within it when it moved or grew (for tests and tuning). */
  get copiedBytes(): number {
    return this.#copied;
  }

  /** Unconsumed bytes. */
  get length(): number {
    return this.#borrowed !== undefined ? this.#borrowed.length - this.#borrowedAt : this.#end - this.#start;
  }

  /**
   * Adds a lease (which it then owns and releases) or bytes (which it copies only if it must
   * keep them past consume()); returns every unconsumed byte, contiguous, as a Buffer (a view:
   * no copy). The view is valid until the next call.
   */
  append(data: Lease | Uint8Array): Buffer {
    const lease = isInstance(data, Lease) ? data : undefined;
    let bytes: Uint8Array;
    try {
      bytes = lease !== undefined ? lease.bytes : (data as Uint8Array);
      if (!(bytes instanceof Uint8Array)) throw new RioError('ERR_RIO_INVALID_BUFFER', 'ReceiveBuffer.append: not a lease or a Uint8Array');
      if (this.length + bytes.length > this.#maxBytes) {
        throw new RioError('ERR_RIO_INVALID_LENGTH', `ReceiveBuffer.append: more than maxBytes (${this.#maxBytes}) unconsumed`);
      }
    } catch (e) {
      lease?.release();
      throw e;
    }
    if (this.#borrowed !== undefined) this.#keep(); // two appends with no consume between
    if (this.#end === this.#start) {
      this.#borrowed = bytes;
      this.#lease = lease;
      this.#borrowedAt = 0;
      return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    }
    this.#room(this.#end - this.#start + bytes.length);
    this.#own!.set(bytes, this.#end);
    this.#end += bytes.length;
    this.#copied += bytes.length;
    lease?.release();
    return this.#own!.subarray(this.#start, this.#end);
  }

  /** Drops the first `n` unconsumed bytes; keeps the rest (a copy of it, if it was a lease's). */
  consume(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > this.length) {
      throw new RioError('ERR_RIO_INVALID_LENGTH', `ReceiveBuffer.consume: ${shown(n)} is not 0 .. ${this.length}`);
    }
    if (this.#borrowed !== undefined) {
      this.#borrowedAt += n;
      this.#keep();
      if (this.#end === 0) this.#reserved = 0;
      return;
    }
    this.#start += n;
    if (this.#start === this.#end) {
      this.#start = this.#end = this.#reserved = 0;
      if (this.#own !== undefined && this.#own.length > KEEP_OWN) this.#own = undefined;
    }
  }

  /** Room for `n` unconsumed bytes at once (a message's known size), so that it grows once. */
  reserve(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > this.#maxBytes) {
      throw new RioError('ERR_RIO_INVALID_LENGTH', `ReceiveBuffer.reserve: ${shown(n)} is not 0 .. maxBytes (${this.#maxBytes})`);
    }
    this.#reserved = n;
    if (this.#borrowed === undefined && this.#end > this.#start) this.#room(n);
  }

  /** Drops everything, releasing a lease it holds. */
  release(): void {
    this.#lease?.release();
    this.#lease = undefined;
    this.#borrowed = undefined;
    this.#own = undefined;
    this.#start = this.#end = this.#reserved = 0;
  }

  /** The borrowed bytes' unconsumed rest goes into the buffer of its own; the lease goes back. */
  #keep(): void {
    const borrowed = this.#borrowed!;
    this.#borrowed = undefined;
    if (this.#borrowedAt < borrowed.length) {
      const rest = borrowed.subarray(this.#borrowedAt);
      this.#room(Math.max(rest.length, this.#reserved));
      this.#own!.set(rest, this.#end);
      this.#end += rest.length;
      this.#copied += rest.length;
    }
    this.#lease?.release();
    this.#lease = undefined;
  }

  /** Room for `need` unconsumed bytes in the buffer of its own: moved to its start, or doubled. */
  #room(need: number): void {
    const own = this.#own;
    const pending = this.#end - this.#start;
    if (own !== undefined && this.#start + need <= own.length) return;
    // Moving the pending bytes down costs less than what was consumed before them (amortized):
    // otherwise the buffer doubles.
    if (own !== undefined && need <= own.length && this.#start >= pending) {
      own.copyWithin(0, this.#start, this.#end);
    } else {
      const bigger = Buffer.allocUnsafe(Math.max(need, MIN_OWN, own === undefined ? 0 : own.length * 2));
      if (own !== undefined) own.copy(bigger, 0, this.#start, this.#end);
      this.#own = bigger;
    }
    this.#copied += pending;
    this.#start = 0;
    this.#end = pending;
  }
}
