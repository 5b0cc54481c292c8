/**
 * ReceiveRing: one pool's shared receive buffers, lent to the kernel's buffer ring, so that an
 * idle connection holds no receive memory (docs/design.md, "Memory that follows traffic").
 *
 *   lend       acquire a lease of BUFFER_BYTES from the pool (a registered slab) and lend its
 *              range to the kernel as buffer `bid`; the ring holds the lease's first reference
 *   receive    every connection's multishot receive takes bytes from the head buffer; with
 *              incremental consumption one buffer serves many small receives, of many
 *              connections, one after another
 *   take       a completion names (bid, bytes); the slice handed to the connection is exactly
 *              those bytes, at the buffer's running offset, and holds a reference on the buffer
 *   done       a completion without BUF_MORE: the kernel has moved past the buffer, so the ring
 *              drops its own reference (the slot goes back to the pool once every slice of it
 *              is released) and lends a fresh buffer in its place
 *   shortage   a receive that found no buffer (ENOBUFS) ends; the ring lends more (doubling its
 *              target, up to MAX_BUFFERS) and the connection re-arms. Each decay tick halves the
 *              target back toward BASE_BUFFERS: what a server with connections keeps lent is at
 *              most MAX_BUFFERS x BUFFER_BYTES (1 MiB), and BASE_BUFFERS x BUFFER_BYTES (256 KiB)
 *              once traffic has moved its buffers along
 *   park       at a decay tick with no receive armed since the last one, the ring is unregistered
 *              and every buffer's lease released: a pool with no connections lends nothing. The
 *              next receive sets it up again.
 *
 * Rule 2: a lent buffer's lease is held until the kernel is done with it, and the native ring
 * counts it as in flight on its registration (deregister refuses meanwhile).
 */
import type { Lease, Allocator } from '@riopool/core';
import type { Ring } from '@riopool/native';
import { CQE_BUFFER_MORE, CQE_BUFFER_SHIFT } from './reactor';

/** Bytes per buffer: with incremental consumption, one buffer serves many receives. */
export const BUFFER_BYTES = 64 * 1024;
/** Buffers lent while traffic is ordinary, and at most after shortages. */
export const BASE_BUFFERS = 4;
export const MAX_BUFFERS = 16;
/** Slots of the kernel's buffer ring (a power of two, at least MAX_BUFFERS). */
const RING_SLOTS = 64;

export interface ReceiveRingStats {
  /** Bytes per buffer. */
  bufferBytes: number;
  /** Buffers lent to the kernel now, and how many the ring aims to keep lent. */
  lent: number;
  target: number;
  /** Multishot receives armed now (connections receiving from the ring). */
  armed: number;
  /** Receives that found no buffer (ENOBUFS) and re-armed. */
  shortages: number;
  /** Buffers lent so far. */
  lends: number;
}

export class ReceiveRing {
  readonly #ring: Ring;
  readonly #alloc: Allocator;
  /** The lease of each lent buffer by bid, and how far the kernel has filled it. */
  readonly #buffers: (Lease | undefined)[] = new Array(RING_SLOTS).fill(undefined);
  readonly #filled = new Int32Array(RING_SLOTS);
  readonly #freeBids: number[] = [];
  #lent = 0;
  #target = BASE_BUFFERS;
  #shortages = 0;
  #lends = 0;
  /** Multishot receives armed now, and whether any was armed since the last decay tick. */
  #armed = 0;
  #armedSinceTick = false;
  /** Unregistered at a quiet tick (park) or at the pool's close; set up again by arm(), unless closed. */
  #parked = false;
  #closed = false;

  private constructor(ring: Ring, alloc: Allocator) {
    this.#ring = ring;
    this.#alloc = alloc;
    for (let bid = RING_SLOTS - 1; bid >= 0; bid--) this.#freeBids.push(bid);
  }

  /** The pool's receive ring on `ring`, or why there is none (an older kernel: 6.12+ has it). */
  static open(ring: Ring, alloc: Allocator): ReceiveRing | string {
    if (!ring.features().bufferRing) return 'this kernel has no incremental buffer ring (Linux 6.12+)';
    try {
      ring.setupBufferRing(RING_SLOTS);
    } catch (e) {
      return `the buffer ring could not be registered: ${e instanceof Error ? e.message : String(e)}`;
    }
    return new ReceiveRing(ring, alloc); // lends its buffers when the first receive is armed
  }

  /**
   * A connection arms a multishot receive: true when the kernel has buffers to receive into
   * (the ring is set up again first if it was parked); false when it has none to lend (the pool
   * is past its budget or maxBytes), and the connection should receive into a lease instead.
   */
  arm(): boolean {
    if (this.#closed) return false;
    if (this.#parked) this.#unpark();
    if (this.#lent === 0) this.refill();
    if (this.#lent === 0) return false;
    this.#armed++;
    this.#armedSinceTick = true;
    return true;
  }

  /** A multishot receive armed with arm() has ended. */
  disarmed(): void {
    this.#armed--;
  }

  stats(): ReceiveRingStats {
    return {
      bufferBytes: BUFFER_BYTES,
      lent: this.#lent,
      target: this.#target,
      armed: this.#armed,
      shortages: this.#shortages,
      lends: this.#lends,
    };
  }

  /**
   * A receive's completion that names a buffer: the slice of the `bytes` it received (the
   * caller owns it), or undefined once the ring is closed (the pool is closing). Pre: `flags`
   * has CQE_BUFFER; bytes > 0.
   */
  take(bytes: number, flags: number): Lease | undefined {
    const bid = flags >>> CQE_BUFFER_SHIFT;
    const buffer = this.#buffers[bid];
    if (buffer === undefined) return undefined;
    const at = this.#filled[bid]!;
    const slice = buffer.slice(at, at + bytes);
    this.#filled[bid] = at + bytes;
    if ((flags & CQE_BUFFER_MORE) === 0) this.#done(bid);
    return slice;
  }

  /** A receive found no buffer: lend more (up to MAX_BUFFERS). */
  shortage(): void {
    this.#shortages++;
    this.#target = Math.min(MAX_BUFFERS, this.#target * 2);
    this.refill();
  }

  /** Lends buffers up to the target; stops at a buffer the pool could not give registered. */
  refill(): void {
    while (!this.#parked && this.#lent < this.#target && this.#freeBids.length > 0) {
      let lease: Lease;
      try {
        lease = this.#alloc.acquire(BUFFER_BYTES);
      } catch {
        return; // maxBytes reached, or the pool is closing: connections receive into leases meanwhile
      }
      if (!lease.registered) {
        lease.release(); // the buffer ring takes registered memory only: past the budget, it stays smaller
        return;
      }
      const bid = this.#freeBids.pop()!;
      const { bufferId, offset } = lease.rioBuf;
      try {
        this.#ring.provide(bid, bufferId, offset, BUFFER_BYTES);
      } catch {
        this.#freeBids.push(bid);
        lease.release();
        return;
      }
      this.#buffers[bid] = lease;
      this.#filled[bid] = 0;
      this.#lent++;
      this.#lends++;
    }
  }

  /** A decay tick: the target halves back toward BASE_BUFFERS; a ring nobody armed since the last tick parks. */
  decay(): void {
    this.#target = Math.max(BASE_BUFFERS, this.#target >> 1);
    if (this.#armed === 0 && !this.#armedSinceTick && !this.#parked) this.#park();
    this.#armedSinceTick = false;
  }

  /** The pool is closing: the kernel lets go of every buffer, and the ring of every lease, for good. */
  close(): void {
    this.#closed = true;
    if (!this.#parked) this.#park();
  }

  /** Unregisters the ring (the kernel lets go of every lent buffer) and releases every buffer. */
  #park(): void {
    this.#parked = true;
    this.#ring.closeBufferRing();
    for (let bid = 0; bid < RING_SLOTS; bid++) {
      const lease = this.#buffers[bid];
      if (lease === undefined) continue;
      this.#buffers[bid] = undefined;
      this.#freeBids.push(bid);
      this.#lent--;
      lease.release();
    }
  }

  #unpark(): void {
    try {
      this.#ring.setupBufferRing(RING_SLOTS);
    } catch {
      return; // stays parked: connections receive into leases
    }
    this.#parked = false;
    this.#target = BASE_BUFFERS;
  }

  /** The kernel has moved past buffer `bid`: the ring's reference goes, a fresh buffer comes. */
  #done(bid: number): void {
    const lease = this.#buffers[bid]!;
    this.#buffers[bid] = undefined;
    this.#freeBids.push(bid);
    this.#lent--;
    lease.release();
    if (this.#lent < this.#target) this.refill();
  }
}
