/**
 * Slot handles: one leased slot and its generation, which tells the lease that holds the slot
 * now from one that held it before (for a pool with a tracker: the generation moves on at each
 * tracked release). Leak detection and close()'s report name a lease's slot by
 * one; the low-level path's handles are another thing (handle-table.ts: small
 * integers, so that V8 never boxes them).
 *
 *   slot handle = generation * 2^31 + (slab id << SLOT_BITS | slot)        a safe integer < 2^53
 *
 * The low 31 bits locate the slot (slab ids stay below MAX_SLABS, 1 << 15); the high 22 bits are
 * the slot's generation. Each slab keeps one generation per slot (Slab.gens); releasing a tracked
 * lease's slot moves it on, so a slot handle names a lease only while its slot is leased under the generation
 * it was made with (a slot released and leased again is not the same lease). Generations are
 * never 0 and start from a key of the pool's, spread per slab and per slot.
 *
 * Encoding and decoding live here and nowhere else.
 */
/** Bits of a handle's low part that hold the slot index; a slab holds at most 1 << SLOT_BITS slots. */
export const SLOT_BITS = 16;
/** Slots per slab at most: a handle keeps the slot index in 16 bits. */
export const MAX_SLOTS_PER_SLAB = 65536; // 1 << 16
/** At most this many slabs at once: a handle keeps the slab id in 15 bits. */
export const MAX_SLABS = 32768; // 1 << 15
/** The largest generation (22 bits); generations run 1 .. MAX_GENERATION, then wrap to 1. */
export const MAX_GENERATION = 0x3fffff; // (1 << 22) - 1
/** What the generation is multiplied by: the low part is 31 bits. */
export const GENERATION_UNIT = 2147483648; // 2 ** 31

const SLOT_MASK = MAX_SLOTS_PER_SLAB - 1;
const LOW_MASK = 0x7fffffff;

/** The handle of a slot leased under `generation` (1 .. MAX_GENERATION). */
export function handleOf(slabId: number, slot: number, generation: number): number {
  return generation * GENERATION_UNIT + ((slabId << SLOT_BITS) | slot);
}

/**
 * The low 31 bits of a number (slab id and slot). Pre: typeof handle === 'number'. For a value
 * that is no handle (negative, fractional, NaN) the result is some slot, whose generation check
 * then fails: generationOf(handle, lowOf(handle)) is a generation only for a true handle.
 */
export function lowOf(handle: number): number {
  return handle & LOW_MASK;
}

/** The generation part of a handle whose low part is `low`; not an integer 1 .. MAX_GENERATION for a non-handle. */
export function generationOf(handle: number, low: number): number {
  return (handle - low) / GENERATION_UNIT;
}

/** The slab id in a low part. */
export function slabIdOf(low: number): number {
  return low >>> SLOT_BITS;
}

/** The slot in a low part. */
export function slotOf(low: number): number {
  return low & SLOT_MASK;
}

/** The slot key of checked mode's bookkeeping: slab id and slot, without the generation. */
export function slotKey(slabId: number, slot: number): number {
  return (slabId << SLOT_BITS) | slot;
}

/**
 * Generations for a new slab: slot i starts at `base` spread by an odd step (Weyl sequence), so
 * neighbouring slots differ and a handle with its slot bits changed does not name a live lease.
 */
export function firstGenerations(gens: Int32Array, base: number): void {
  for (let i = 0; i < gens.length; i++) gens[i] = firstGeneration(base, i);
}

/** The generation slot `slot` of a slab whose generations start from `base` had first. */
export function firstGeneration(base: number, slot: number): number {
  return (((base + Math.imul(slot, 0x9e3779b1)) >>> 0) % MAX_GENERATION) + 1;
}

/** The low-level path writes a slot's RioBuf into an object the caller reuses. */
export interface RioBufOut {
  bufferId: number;
  offset: number;
  length: number;
}
