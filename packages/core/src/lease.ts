/**
 * Lease: the caller's handle on one slot: its RioBuf, its bytes, its reference count.
 *
 * A lease starts with one reference. retain() adds one (an outstanding send or receive holds
 * one); release() drops one, and at zero the slot goes back to its slab. Every lease object is
 * used once: after its last release it stays released, so a stale lease can never release (or
 * read, or write) a slot that now belongs to someone else; it throws ERR_RIO_RELEASED instead.
 *
 * `buf` and `bytes` are made on first use and kept, so an acquire/release pair that never looks
 * at them allocates only the lease itself.
 */
import { RioError } from './errors';
import { handleOf, type Slab } from './slab';

/** The RIO_BUF triple: what registered I/O uses. `length` is the requested length. */
export interface RioBuf {
  readonly bufferId: number;
  readonly offset: number;
  readonly length: number;
}

/** What a lease needs from its pool. */
export interface LeaseOwner {
  releaseLease(lease: Lease): void;
}

export function releasedError(what: string): RioError {
  return new RioError('ERR_RIO_RELEASED', `${what}: the lease is already released`);
}

export class Lease {
  /** References held; 0 once released. */
  refs = 1;
  private bufCache: RioBuf | undefined = undefined;
  private bytesCache: Uint8Array | undefined = undefined;

  constructor(
    /** The slab and slot this lease holds; for the pool, not for callers. */
    readonly slab: Slab,
    readonly slot: number,
    /** The requested length. */
    readonly length: number,
  ) {}

  /** The handle of this lease's slot (as acquireInto would return it). */
  get handle(): number {
    return handleOf(this.slab.id, this.slot);
  }

  get released(): boolean {
    return this.refs === 0;
  }

  /** The RIO_BUF slice: `{ bufferId, offset, length }`. */
  get buf(): RioBuf {
    if (this.refs === 0) throw releasedError('lease.buf');
    return (this.bufCache ??= Object.freeze({
      bufferId: this.slab.bufferId,
      offset: this.slot * this.slab.cls.slotSize,
      length: this.length,
    }));
  }

  /** Exactly `length` bytes of registered memory. */
  get bytes(): Uint8Array {
    if (this.refs === 0) throw releasedError('lease.bytes');
    return (this.bytesCache ??= new Uint8Array(
      this.slab.buffer,
      this.slot * this.slab.cls.slotSize,
      this.length,
    ));
  }

  retain(): this {
    if (this.refs === 0) throw releasedError('lease.retain()');
    this.refs++;
    return this;
  }

  release(): void {
    if (this.refs === 0) throw releasedError('lease.release()');
    if (--this.refs === 0) this.slab.owner.releaseLease(this);
  }
}
