/**
 * Lease: the caller's handle on one slot, or on a slice of one: its RioBuf, its bytes, its
 * reference count.
 *
 * A lease starts with one reference. retain() adds one (an outstanding send or receive holds
 * one); release() drops one, and at zero the slot goes back to its slab. Every lease object is
 * used once: after its last release it stays released, so a stale lease can never release (or
 * read, or write) a slot that now belongs to someone else; it throws ERR_RIO_RELEASED instead.
 *
 * A slice (lease.slice(start, end)) is a lease over bytes [start, end) of another lease, its
 * parent: it holds one reference on the parent from its making until its own last release, so
 * the parent's slot stays leased while any slice of it lives. What a receive hands the user is a
 * slice: exactly the bytes received, of a buffer the receive ring (or the connection) leased.
 *
 * Its state is in ES private fields: nothing outside this class can change a lease's slab, slot
 * or references (docs/design.md, rule 3). riopool's own packages read slab, slot and start
 * through `leaseSlot`, which this module exports for them and which no public entry point
 * re-exports. The constructor is private (the allocator makes leases through `LeaseOfSlot`, and a
 * tracked pool's through `TrackedLeaseOfSlot`), so the published declarations show no parameters
 * for it and TypeScript refuses `new Lease(...)`.
 *
 * Idioms of current Node: `using lease = pool.acquire(n)` releases at the end of the scope
 * (Symbol.dispose: release(), unless the lease is already released); `lease.bytes` is a Buffer
 * (view.ts); console.log(lease) prints its RioBuf and whether it is released.
 */
import { inspectCustom } from './dispose';
import { RioError } from './errors';
import { shown } from './schema';
import type { Slab } from './slab';

/**
 * Watches leases as they are handed out and given back (the pool package's leak detection and
 * checked mode). Called after the slot is taken and before it is freed. A hook, not an
 * allocator subclass: every pool has one allocator class, and only a tracked pool's own functions
 * (acquireTracked, TrackedLease's release, releaseTracked) call it.
 */
export interface LeaseTracker {
  acquired(lease: Lease, slab: Slab, slot: number): void;
  released(lease: object, slab: Slab, slot: number): void;
  /** A slice was made of a lease of `slab` (it holds its parent until released). */
  sliced(slice: Lease, slab: Slab, slot: number): void;
  slicedReleased(slice: object): void;
}

/** The RIO_BUF triple: what registered I/O uses. `length` is the requested length. */
export interface RioBuf {
  readonly bufferId: number;
  readonly offset: number;
  readonly length: number;
}

export function releasedError(what: string): RioError {
  return new RioError('ERR_RIO_RELEASED', `${what}: the lease is already released`);
}

/** Where a live lease's bytes are: its slab, its slot, and where in the slot they start. */
export interface LeaseSlot {
  slab: Slab;
  slot: number;
  /** Bytes from the slot's start to the lease's (0 but for a slice). */
  start: number;
  /** A slice's parent; undefined for a lease of a whole slot. */
  parent: Lease | undefined;
}

/**
 * For riopool's own packages: the slab, slot and start of a live lease, or undefined for a
 * released one. Throws a TypeError for an object that is not a Lease (the private-field brand
 * check).
 */
export let leaseSlot: (lease: Lease) => LeaseSlot | undefined;

/**
 * For the allocator: `new TrackedLeaseOfSlot(slab, slot, length)` is a new lease of a tracked
 * pool: a Lease whose last release goes through the owner's releaseTracked (the static block
 * defines it).
 */
export let TrackedLeaseOfSlot: new (slab: Slab, slot: number, length: number) => Lease;

/** `lease.buf`'s DeprecationWarning is emitted once per process. */
let bufDeprecationShown = false;

/** lease.rioBuf and lease.buf: the frozen RioBuf, made on first use (the static block defines it). */
let rioBufOf: (lease: Lease, what: string) => RioBuf;

export class Lease {
  readonly #slab: Slab;
  readonly #slot: number;
  readonly #length: number;
  /** Where this lease's bytes start in its slot: 0, or a slice's offset (set once, by newSlice). */
  #start = 0;
  /** A slice's parent, on which it holds one reference; undefined for a lease of a whole slot (set once, by newSlice). */
  #parent: Lease | undefined = undefined;
  /** References held; 0 once released. */
  #refs = 1;
  #buf: RioBuf | undefined = undefined;

  // Three parameters, not five: a slice's start and parent are set by newSlice, so that the
  // constructor every acquire runs stays small (the hot path is inlined whole, docs/performance.md).
  private constructor(slab: Slab, slot: number, length: number) {
    this.#slab = slab;
    this.#slot = slot;
    this.#length = length;
  }

  /** The requested length (a slice's: its own). */
  get length(): number {
    return this.#length;
  }

  get released(): boolean {
    return this.#refs === 0;
  }

  /**
   * True when the lease's memory is registered (its RioBuf names a registration); false for a
   * lease of an overflow slab, which the pool hands out when registration is refused (the OS's
   * lock limit, or the pool's maxRegisteredBytes). Registered I/O moves either kind.
   */
  get registered(): boolean {
    return this.#slab.bufferId >= 0;
  }

  /**
   * The RIO_BUF triple `{ bufferId, offset, length }` that registered I/O names the bytes by
   * (frozen; a negative bufferId: an overflow slab, not registered).
   */
  get rioBuf(): RioBuf {
    return rioBufOf(this, 'lease.rioBuf');
  }

  /**
   * @deprecated The same as `rioBuf` (it is a RIO_BUF triple, not a Buffer: `bytes` is the
   * Buffer). Kept for one release: use `lease.rioBuf`.
   */
  get buf(): RioBuf {
    if (!bufDeprecationShown) {
      bufDeprecationShown = true;
      process.emitWarning('lease.buf is deprecated: it is the RIO_BUF triple, now named lease.rioBuf (lease.bytes is the Buffer)', {
        type: 'DeprecationWarning',
        code: 'RIOPOOL_DEP_LEASE_BUF',
      });
    }
    return rioBufOf(this, 'lease.buf');
  }

  /**
   * Exactly `length` bytes of the pool's memory, as a Buffer (view.ts): no copy, and one view per
   * slot reused while the requested length repeats.
   */
  get bytes(): Buffer {
    if (this.#refs === 0) throw releasedError('lease.bytes');
    if (this.#parent === undefined) return this.#slab.bytesOf(this.#slot, this.#length);
    return this.#slab.sliceOf(this.#slot, this.#start, this.#length);
  }

  /**
   * A lease over bytes [start, end) of this one (defaults: all of it), holding one reference on
   * this lease until its own last release. Throws ERR_RIO_INVALID_LENGTH for a range outside
   * the lease or an empty one, ERR_RIO_RELEASED for a released lease.
   */
  slice(start = 0, end: number = this.#length): Lease {
    if (this.#refs === 0) throw releasedError('lease.slice()');
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > this.#length || start >= end) {
      throw new RioError(
        'ERR_RIO_INVALID_LENGTH',
        `lease.slice(${shown(start)}, ${shown(end)}): a slice is 0 <= start < end <= ${this.#length}, in whole bytes`,
      );
    }
    this.#refs++;
    // A tracked pool's slice is tracked too: its release tells the tracker (releaseSlice).
    const slab = this.#slab;
    const slot = this.#slot;
    const slice = this instanceof TrackedLeaseOfSlot ? new TrackedLeaseOfSlot(slab, slot, end - start) : new Lease(slab, slot, end - start);
    slice.#start = this.#start + start;
    slice.#parent = this;
    slab.owner.sliced(slice, slab, slot);
    return slice;
  }

  retain(): this {
    if (this.#refs === 0) throw releasedError('lease.retain()');
    this.#refs++;
    return this;
  }

  release(): void {
    // The last reference is the common case: one comparison, then the slot goes back. No branch
    // hands `this` to a call: V8's escape analysis then takes apart a lease that does not leave
    // the caller's loop (no allocation), even though those calls are never made
    // (docs/performance.md, 1c).
    if (this.#refs !== 1) {
      if (this.#refs === 0) throw releasedError('lease.release()');
      this.#refs--;
      return;
    }
    this.#refs = 0;
    const slab = this.#slab;
    if (this.#parent === undefined) slab.owner.releaseSlot(slab, this.#slot);
    else this.#parent.release();
  }

  /**
   * `using lease = pool.acquire(n)`: at the end of the scope, release() (the reference the scope
   * holds), unless the lease is released already. A lease declared with `using` is released by
   * the scope: do not also release() it, since a second release would drop a reference someone
   * else (a write in flight) holds.
   */
  [Symbol.dispose](): void {
    if (this.#refs !== 0) this.release();
  }

  // What runs rarely is in functions of the static block below rather than private methods: a
  // class with a private method stamps a brand on every instance, which the constructor pays for.
  static {
    rioBufOf = (lease, what) => {
      if (lease.#refs === 0) throw releasedError(what);
      if (lease.#buf === undefined) {
        const offset = lease.#slab.cls.offsetOf(lease.#slot) + lease.#start;
        lease.#buf = Object.freeze({ bufferId: lease.#slab.bufferId, offset, length: lease.#length });
      }
      return lease.#buf;
    };
    // console.log(lease): `Lease { bufferId: 3, offset: 1024, length: 512, references: 1, released: false }`.
    Object.defineProperty(Lease.prototype, inspectCustom, {
      value(this: Lease, _depth: number, options: object, inspect: (value: unknown, options: object) => string): string {
        const shown =
          this.#refs === 0
            ? { length: this.#length, released: true }
            : { ...this.rioBuf, references: this.#refs, registered: this.registered, released: false };
        return `Lease ${inspect(shown, options)}`;
      },
    });
    leaseSlot = (lease) =>
      lease.#refs === 0 ? undefined : { slab: lease.#slab, slot: lease.#slot, start: lease.#start, parent: lease.#parent };
    // A lease of a tracked pool (leak detection, checked mode): its own class, so that its
    // release, which tells the tracker, is a function of its own. Lease.release() never sees a
    // tracked lease, and stays small and free of the tracker's code in every caller's type
    // feedback (docs/performance.md, 1c). Nested here to reach the private fields.
    TrackedLeaseOfSlot = class TrackedLease extends Lease {
      override release(): void {
        if (this.#refs !== 1) {
          if (this.#refs === 0) throw releasedError('lease.release()');
          this.#refs--;
          return;
        }
        this.#refs = 0;
        const slab = this.#slab;
        if (this.#parent === undefined) slab.owner.releaseTracked(slab, this.#slot, this);
        else slab.owner.releaseSlice(this, this.#parent);
      }
    } as unknown as typeof TrackedLeaseOfSlot;
  }
}

/**
 * For the allocator: `new LeaseOfSlot(slab, slot, length)` is a new lease of a whole slot
 * (`length` requested bytes) with one reference. The constructor itself, under a type that
 * allows the call (Lease's is private in the published types): a wrapper function would add its
 * bytecode to every acquire's inlined code.
 */
export const LeaseOfSlot = Lease as unknown as new (slab: Slab, slot: number, length: number) => Lease;
