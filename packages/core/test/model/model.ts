/**
 * The model of the allocator's model-based test (commands.ts): what the test holds and which slabs
 * exist, kept by the commands independently of the allocator's own accounting.
 *
 *   held     every live thing the test holds: a lease of a whole slot, a slice of a lease (it
 *            holds one reference on its parent) or a low-level handle (acquireInto); with the
 *            references the test holds on it and the byte its owner filled its memory with
 *   slabs    every slab the allocator mapped, identified by its ArrayBuffer: its class, whether it
 *            is registered (buffer id >= 0) or an overflow slab, how many slots are held, and the
 *            decay tick at which it last became empty
 *   budget   the registration budget the model predicts (maxRegisteredBytes, lowered to what is
 *            registered when the registrar refuses); limit / maxRegistrations: what the test's
 *            registrar (registrar.ts) lets through
 *
 * The model predicts, for each acquire, whether the allocator must make a new slab (no slab of the
 * class has a free slot) and whether that slab is registered, an overflow slab, or refused
 * (predict); place() then checks what the allocator did against the prediction.
 */
import type { Allocator, Lease } from '@riopool/core';

export interface ModelSlab {
  readonly buffer: ArrayBuffer;
  readonly bytes: number;
  readonly slotSize: number;
  readonly slotsPerSlab: number;
  /** The registration's buffer id, or negative for an overflow slab. */
  readonly bufferId: number;
  /** Slots held now: live leases of whole slots and live handles (a slice holds its parent's). */
  holders: number;
  /** The model's decay tick at which holders last fell to 0. */
  emptySince: number;
}

export interface Held {
  kind: 'lease' | 'slice' | 'handle';
  /** The lease or slice (undefined for a handle). */
  lease: Lease | undefined;
  /** The low-level handle (0 for a lease or slice). */
  handle: number;
  slab: ModelSlab;
  bufferId: number;
  /** The bytes held: [offset, offset + length) of the slab. */
  offset: number;
  length: number;
  /** The whole slot of the lease or handle at the root: [slotOffset, slotOffset + slotSize). */
  slotOffset: number;
  slotSize: number;
  /** References the test holds (a handle: 1); a live slice holds one more on its parent. */
  userRefs: number;
  slices: number;
  parent: Held | undefined;
  fill: number;
}

export interface Model {
  held: Held[];
  /** Leases and slices released (their bytes read as they were at release). */
  released: { lease: Lease; bytes: Uint8Array }[];
  /** Handles released, and a view of their bytes taken while they were live. */
  staleHandles: { handle: number; bytes: Uint8Array }[];
  slabs: ModelSlab[];
  closing: boolean;
  nextFill: number;
  /** Decay ticks so far (the allocator's clock: allocator.ts, decay). */
  ticks: number;
  budget: number;
  limit: number;
  maxRegistrations: number;
  overflow: boolean;
  emptyBytesMax: number;
}

export interface ModelOptions {
  maxRegisteredBytes: number;
  limit: number;
  maxRegistrations: number;
  overflow: boolean;
  emptyBytesMax: number;
}

export function newModel(o: Partial<ModelOptions> = {}): Model {
  const budget = o.maxRegisteredBytes ?? Infinity;
  return {
    held: [],
    released: [],
    staleHandles: [],
    slabs: [],
    closing: false,
    nextFill: 1,
    ticks: 0,
    budget,
    limit: o.limit ?? Infinity,
    maxRegistrations: o.maxRegistrations ?? Infinity,
    overflow: o.overflow ?? true,
    // allocator options.ts's default
    emptyBytesMax: o.emptyBytesMax ?? Math.min(4 * 1024 * 1024, Math.floor(budget / 4)),
  };
}

/** The next fill byte (1 .. 255). */
export function nextFill(m: Model): number {
  const fill = m.nextFill;
  m.nextFill = (m.nextFill % 255) + 1;
  return fill;
}

/** The registrar's outstanding check, answered by the model: what holds the buffer id. */
export function outstandingIn(m: Model): (bufferId: number) => number {
  return (id) => m.held.filter((h) => h.bufferId === id).length;
}

/** The registrar's unmap check, answered by the model: does anything hold this mapping? */
export function heldIn(m: Model): (buffer: ArrayBuffer) => boolean {
  return (buffer) => m.held.some((h) => h.slab.buffer === buffer);
}

export function registeredBytes(m: Model): number {
  return sum(m.slabs.filter((s) => s.bufferId >= 0).map((s) => s.bytes));
}

export function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** What a length is served by: its class (slot size, slab size, slots per slab). */
export interface ClassShape {
  slotSize: number;
  slabBytes: number;
  slotsPerSlab: number;
}

export function classOf(alloc: Allocator, length: number): ClassShape {
  const table = alloc.table;
  if (length <= table.largestClass) {
    const c = table.classFor(length);
    return { slotSize: c.slotSize, slabBytes: c.slabBytes, slotsPerSlab: c.slotsPerSlab };
  }
  const bytes = table.dedicatedBytes(length);
  return { slotSize: bytes, slabBytes: bytes, slotsPerSlab: 1 };
}

export type Prediction =
  | { kind: 'reuse' }
  | { kind: 'new'; registered: boolean; lowersBudget: boolean }
  | { kind: 'refused'; code: 'ERR_RIO_MEMLOCK' | 'ERR_RIO_TOO_MANY_REGISTRATIONS' };

/**
 * What an acquire of class `c` must do: reuse a slab with a free slot, or make a new one (slab-life.ts,
 * registerOrOverflow): registered within the budget unless the registrar refuses; past the
 * budget or refused, an overflow slab (a refusal lowers the budget to what is registered), or,
 * with overflow off, the error.
 */
export function predict(m: Model, c: ClassShape): Prediction {
  if (m.slabs.some((s) => s.slotSize === c.slotSize && s.holders < s.slotsPerSlab)) return { kind: 'reuse' };
  const reg = registeredBytes(m);
  if (reg + c.slabBytes > m.budget) {
    return m.overflow ? { kind: 'new', registered: false, lowersBudget: false } : { kind: 'refused', code: 'ERR_RIO_MEMLOCK' };
  }
  const refusal =
    reg + c.slabBytes > m.limit
      ? 'ERR_RIO_MEMLOCK'
      : m.slabs.filter((s) => s.bufferId >= 0).length >= m.maxRegistrations
        ? 'ERR_RIO_TOO_MANY_REGISTRATIONS'
        : undefined;
  if (refusal === undefined) return { kind: 'new', registered: true, lowersBudget: false };
  return m.overflow ? { kind: 'new', registered: false, lowersBudget: true } : { kind: 'refused', code: refusal };
}

/**
 * Records a slot the allocator handed out in `buffer` (buffer id `bufferId`) against the
 * prediction, and returns its slab; throws when the allocator did other than predicted.
 */
export function place(m: Model, p: Prediction, c: ClassShape, buffer: ArrayBuffer, bufferId: number): ModelSlab {
  let slab = m.slabs.find((s) => s.buffer === buffer);
  if (p.kind === 'refused') throw new Error('place() after a refusal');
  if (p.kind === 'new') {
    if (slab !== undefined) throw new Error(`model: expected a new slab (every ${c.slotSize}-byte slab full), got slab ${bufferId} again`);
    if (bufferId >= 0 !== p.registered) {
      throw new Error(
        `model: the new ${c.slabBytes}-byte slab is ${bufferId >= 0 ? 'registered' : 'an overflow slab'}, expected the other`,
      );
    }
    if (p.lowersBudget) m.budget = registeredBytes(m);
    slab = { buffer, bytes: c.slabBytes, slotSize: c.slotSize, slotsPerSlab: c.slotsPerSlab, bufferId, holders: 0, emptySince: m.ticks };
    m.slabs.push(slab);
  } else {
    if (slab === undefined) throw new Error(`model: a new slab (${bufferId}) while a ${c.slotSize}-byte slab had a free slot`);
    if (slab.slotSize !== c.slotSize) throw new Error(`model: a ${c.slotSize}-byte request served from a ${slab.slotSize}-byte slab`);
    if (slab.holders >= slab.slotsPerSlab) throw new Error(`model: a slot of full slab ${bufferId} handed out`);
  }
  if (slab.bufferId !== bufferId) throw new Error(`model: slab ${slab.bufferId} now says buffer id ${bufferId}`);
  slab.holders++;
  return slab;
}

/**
 * Drops one reference the test holds on `h`, in the model only (call it before the real
 * release: the registrar's checks read the model). Returns what went with it: `h` and, through
 * slices, its parents, each whose last reference it was. Each lease or slice that goes has its
 * bytes verified first.
 */
export function dropRef(m: Model, h: Held): Held[] {
  if (h.userRefs <= 0) throw new Error('model: release of a reference the test does not hold');
  h.userRefs--;
  const gone: Held[] = [];
  for (let x: Held | undefined = h; x !== undefined && x.userRefs + x.slices === 0; x = x.parent) {
    verifyBytes(x);
    m.held.splice(m.held.indexOf(x), 1);
    gone.push(x);
    if (x.lease !== undefined) m.released.push({ lease: x.lease, bytes: x.lease.bytes });
    if (x.parent !== undefined) {
      x.parent.slices--;
    } else {
      x.slab.holders--;
      if (x.slab.holders === 0) x.slab.emptySince = m.ticks;
    }
  }
  return gone;
}

/** The bytes a held thing shows now: through its lease, or (a handle) through the pool's view. */
export function bytesOf(h: Held, view: ((bufferId: number) => Uint8Array) | undefined): Uint8Array {
  if (h.lease !== undefined) return h.lease.bytes;
  if (view === undefined) throw new Error("model: a handle's bytes need the pool's view");
  return view(h.bufferId).subarray(h.offset, h.offset + h.length);
}

/** Every byte still holds what its owner wrote (a slice reads its parent's fill). */
export function verifyBytes(h: Held, view?: (bufferId: number) => Uint8Array): void {
  if (h.kind === 'handle' && view === undefined) return; // verified by the handle's release command
  const bytes = bytesOf(h, view);
  if (bytes.length !== h.length) throw new Error(`${h.kind} bytes length ${bytes.length} != ${h.length}`);
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== h.fill) throw new Error(`${h.kind} at ${h.bufferId}+${h.offset}: byte ${i} overwritten`);
  }
}
