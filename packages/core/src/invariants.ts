/**
 * The memory-safety rules of docs/design.md as a check that tests run after every step.
 *
 * Written as equations (n_c = slots per slab, s_c = slot size, b_c = slab bytes of class c):
 *   per slab   free-list slots + leased slots = n_c, each slot once; leased = entries >= 1;
 *              every leased length <= s_c; n_c * s_c <= b_c (slices lie inside the slab's
 *              registration, so two slots never overlap: rule 3); the slab's buffer is whole
 *              (not detached) and found by its buffer id
 *   per class  leased = sum of its slabs' leased; emptySlabs = its slabs with none leased;
 *              `available` = exactly the slabs with a free slot, `top` its top
 *   pool       registrations = registered slabs (rule 4); mapped bytes = sum of b_c <= maxBytes;
 *              registered bytes = sum of b_c over registered slabs; empty bytes = sum of b_c
 *              over slabs with nothing leased; every live slab is active; a closed pool holds
 *              no slab
 */
import type { Allocator } from './allocator';
import type { Slab, SlabClass } from './slab';

function fail(rule: string): never {
  throw new Error(`riopool invariant broken: ${rule}`);
}

function checkSlab(pool: Allocator, slab: Slab): void {
  const c = slab.cls;
  if (slab.state !== 'active') fail(`live slab ${slab.id} is ${slab.state}`);
  if (slab.buffer.byteLength !== c.slabBytes) fail(`slab ${slab.id} is detached or resized`);
  if (slab.bufferId >= 0 ? pool.byBufferId[slab.bufferId] !== slab : slab.bufferId !== -1 - slab.id) {
    fail(`slab ${slab.id} is not found by its buffer id`);
  }
  if (c.slotsPerSlab * c.slotSize > c.slabBytes) fail(`class ${c.slotSize}: slots overrun the slab`);
  if (slab.slots.length !== c.slotsPerSlab) fail(`slab ${slab.id}: ${slab.slots.length} slot entries`);
  let held = 0;
  for (let s = 0; s < c.slotsPerSlab; s++) {
    const entry = slab.slots[s]!;
    if (entry > 0) {
      held++;
      if (entry > c.slotSize) fail(`slab ${slab.id} slot ${s}: length above slot size`);
    }
  }
  if (held !== slab.leased) fail(`slab ${slab.id}: ${held} leased entries for ${slab.leased} leased`);
  const seen = new Set<number>();
  for (let s = slab.freeHead; s !== -1; s = ~slab.slots[s]!) {
    if (s < 0 || s >= c.slotsPerSlab || seen.has(s) || slab.slots[s]! > 0) fail(`slab ${slab.id}: bad free slot ${s}`);
    seen.add(s);
  }
  if (seen.size + slab.leased !== c.slotsPerSlab) fail(`slab ${slab.id}: free + leased != capacity`);
  const inAvailable = slab.availIndex >= 0 && c.available[slab.availIndex] === slab;
  if (inAvailable !== slab.freeHead >= 0) fail(`slab ${slab.id}: available stack disagrees with free slots`);
}

/** Throws an Error naming the first broken invariant; returns nothing when all hold. */
export function checkInvariants(pool: Allocator): void {
  let slabs = 0;
  let mapped = 0;
  let registered = 0;
  let registeredBytes = 0;
  let emptyBytes = 0;
  const perClass = new Map<SlabClass, { leased: number; empty: number; slabs: number }>();
  for (const slab of pool.slabs) {
    if (slab === undefined) continue;
    checkSlab(pool, slab);
    slabs++;
    mapped += slab.cls.slabBytes;
    if (slab.bufferId >= 0) {
      registered++;
      registeredBytes += slab.cls.slabBytes;
    }
    if (slab.leased === 0) emptyBytes += slab.cls.slabBytes;
    const pc = perClass.get(slab.cls) ?? { leased: 0, empty: 0, slabs: 0 };
    pc.leased += slab.leased;
    pc.slabs++;
    if (slab.leased === 0) pc.empty++;
    perClass.set(slab.cls, pc);
  }
  for (const c of pool.allClasses()) {
    const pc = perClass.get(c) ?? { leased: 0, empty: 0, slabs: 0 };
    if (pc.leased !== c.leased) fail(`class ${c.slotSize}: leased ${c.leased} != ${pc.leased}`);
    if (pc.empty !== c.emptySlabs) fail(`class ${c.slotSize}: emptySlabs ${c.emptySlabs} != ${pc.empty}`);
    if (pc.slabs !== c.slabs) fail(`class ${c.slotSize}: slabs ${c.slabs} != ${pc.slabs}`);
    for (const s of c.available) if (pool.slabs[s.id] !== s) fail(`class ${c.slotSize}: retired slab in available`);
    if (c.top !== c.available[c.available.length - 1]) fail(`class ${c.slotSize}: top is not the top of available`);
  }
  if (slabs !== pool.liveSlabs) fail(`live slabs ${pool.liveSlabs} != ${slabs}`);
  if (registered !== pool.registeredSlabs) fail(`registrations ${pool.registeredSlabs} != registered slabs ${registered}`);
  if (mapped !== pool.mappedBytes) fail(`mapped bytes ${pool.mappedBytes} != ${mapped}`);
  if (registeredBytes !== pool.registeredBytes) fail(`registered bytes ${pool.registeredBytes} != ${registeredBytes}`);
  if (emptyBytes !== pool.emptyBytes) fail(`empty bytes ${pool.emptyBytes} != ${emptyBytes}`);
  if (pool.mappedBytes > pool.maxBytes) fail('mapped bytes above maxBytes');
  if (pool.closed && slabs !== 0) fail('a closed pool still holds slabs');
}
