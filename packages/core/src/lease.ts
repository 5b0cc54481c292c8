/**
 * Lease: the caller's handle on one slot: its RioBuf, its bytes, its reference count.
 *
 * A lease starts with one reference. retain() adds one (an outstanding send or receive holds
 * one); release() drops one, and at zero the slot goes back to its slab. Every lease object is
 * used once: after its last release it stays released, so a stale lease can never release (or
 * read, or write) a slot that now belongs to someone else; it throws ERR_RIO_RELEASED instead.
 *
 * Its state is in ES private fields: nothing outside this class can change a lease's slab, slot
 * or references (docs/design.md, rule 3). riopool's own packages read slab and slot through
 * `leaseSlot`, which this module exports for them and which no public entry point re-exports.
 */
import { RioError } from './errors';
import type { Slab } from './slab';

/** The RIO_BUF triple: what registered I/O uses. `length` is the requested length. */
export interface RioBuf {
  readonly bufferId: number;
  readonly offset: number;
  readonly length: number;
}

export function releasedError(what: string): RioError {
  return new RioError('ERR_RIO_RELEASED', `${what}: the lease is already released`);
}

/**
 * For riopool's own packages: the slab and slot of a live lease, or undefined for a released
 * one. Throws a TypeError for an object that is not a Lease (the private-field brand check).
 */
export let leaseSlot: (lease: Lease) => { slab: Slab; slot: number } | undefined;

export class Lease {
  readonly #slab: Slab;
  readonly #slot: number;
  readonly #length: number;
  /** References held; 0 once released. */
  #refs = 1;
  #buf: RioBuf | undefined = undefined;

  constructor(slab: Slab, slot: number, length: number) {
    this.#slab = slab;
    this.#slot = slot;
    this.#length = length;
  }

  /** The requested length. */
  get length(): number {
    return this.#length;
  }

  get released(): boolean {
    return this.#refs === 0;
  }

  /** The RIO_BUF slice: `{ bufferId, offset, length }`. */
  get buf(): RioBuf {
    if (this.#refs === 0) throw releasedError('lease.buf');
    if (this.#buf === undefined) {
      this.#buf = Object.freeze({ bufferId: this.#slab.bufferId, offset: this.#slab.cls.offsetOf(this.#slot), length: this.#length });
    }
    return this.#buf;
  }

  /** Exactly `length` bytes of registered memory. */
  get bytes(): Uint8Array {
    if (this.#refs === 0) throw releasedError('lease.bytes');
    return this.#slab.bytesOf(this.#slot, this.#length);
  }

  retain(): this {
    if (this.#refs === 0) throw releasedError('lease.retain()');
    this.#refs++;
    return this;
  }

  release(): void {
    if (this.#refs === 0) throw releasedError('lease.release()');
    if (--this.#refs === 0) this.#slab.owner.releaseLease(this, this.#slab, this.#slot);
  }

  static {
    leaseSlot = (lease) => (lease.#refs === 0 ? undefined : { slab: lease.#slab, slot: lease.#slot });
  }
}
