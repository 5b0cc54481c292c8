/**
 * Slab life: a slab's making and its retirement, the only places the allocator calls the
 * registrar (native calls), off the hot path.
 *
 * grow(cls)     within maxBytes and the slab table: map -> register within the registration
 *               budget (registerOrOverflow), or, past it or refused by the OS, an overflow slab
 *               (mapped, not registered; buffer id -1 - slab id) -> push it on the class's stack
 * retire(slab)  only with no slot leased (docs/design.md, rule 2): deregister (a registered
 *               slab) -> unmap, which detaches every view (rule 1) -> free its id
 *
 * A refusal by the OS lowers the budget to what is registered now, so later slabs do not ask
 * again until some go; the first overflow slab tells the pool once (onOverflow).
 */
import { RioError, isRioError } from './errors';
import { MAX_SLABS } from './handle';
import type { Registrar } from './registrar';
import { Slab, type SlabClass, type SlabOwner } from './slab';

/** What growing and retiring slabs read and change: the allocator's slab table and counters. */
export interface SlabLifeState extends SlabOwner {
  readonly registrar: Registrar;
  readonly maxBytes: number;
  readonly overflow: boolean;
  /** Where the budget comes from and how to raise it (the ERR_RIO_MEMLOCK of `overflow: false`). */
  readonly budgetAdvice: string;
  readonly slabs: (Slab | undefined)[];
  readonly byBufferId: (Slab | undefined)[];
  readonly freeSlabIds: number[];
  readonly ticks: number;
  readonly onOverflow: ((event: OverflowEvent) => void) | undefined;
  mappedBytes: number;
  peakMappedBytes: number;
  registeredSlabs: number;
  registeredBytes: number;
  registeredBudget: number;
  totalRegistrations: number;
  liveSlabs: number;
  retirements: number;
  overflowed: boolean;
  generationKey: number;
}

/** Why the registration budget was spent, for the pool to say so once (onOverflow). */
export interface OverflowEvent {
  /** Bytes registered when the first overflow slab was made. */
  registeredBytes: number;
  /** The budget (maxRegisteredBytes, or what the OS took before it refused). */
  budget: number;
  /** The OS's refusal, when it refused (ERR_RIO_MEMLOCK, ERR_RIO_TOO_MANY_REGISTRATIONS). */
  cause: RioError | undefined;
}

export function grow(a: SlabLifeState, cls: SlabClass): Slab {
  if (a.mappedBytes + cls.slabBytes > a.maxBytes) {
    throw new RioError(
      'ERR_RIO_POOL_EXHAUSTED',
      `a new ${cls.slabBytes}-byte slab would pass maxBytes (${a.maxBytes}); ${a.mappedBytes} bytes are mapped`,
    );
  }
  const id = a.freeSlabIds.length > 0 ? a.freeSlabIds.pop()! : a.slabs.length;
  if (id >= MAX_SLABS) {
    throw new RioError('ERR_RIO_POOL_EXHAUSTED', `the pool holds ${MAX_SLABS} slabs, its most`);
  }
  let buffer: ArrayBuffer | undefined;
  let bufferId: number;
  try {
    buffer = a.registrar.map(cls.slabBytes);
    bufferId = registerOrOverflow(a, buffer, id);
  } catch (e) {
    if (buffer !== undefined) a.registrar.unmap(buffer);
    if (id < a.slabs.length) a.freeSlabIds.push(id);
    throw e;
  }
  const slab = new Slab(a, id, cls, buffer, bufferId, nextGenerationBase(a));
  a.slabs[id] = slab;
  if (bufferId >= 0) {
    a.byBufferId[bufferId] = slab;
    a.registeredSlabs++;
    a.registeredBytes += cls.slabBytes;
    a.totalRegistrations++;
    cls.registrations++;
  }
  cls.pushAvailable(slab);
  cls.slabs++;
  cls.emptySlabs++;
  slab.emptySince = a.ticks;
  if (cls.lastEventWasRetire) {
    cls.churn++;
    cls.lastEventWasRetire = false;
  }
  a.liveSlabs++;
  a.mappedBytes += cls.slabBytes;
  if (a.mappedBytes > a.peakMappedBytes) a.peakMappedBytes = a.mappedBytes;
  return slab;
}

/**
 * Registers a new slab's buffer within the budget; returns its buffer id, or (past the budget,
 * or refused by the OS, with overflow allowed) the overflow id of slab `id`. A refusal lowers
 * the budget to what is registered now, so later slabs do not ask again until some go.
 */
export function registerOrOverflow(a: SlabLifeState, buffer: ArrayBuffer, id: number): number {
  const bytes = buffer.byteLength;
  let cause: RioError | undefined;
  if (a.registeredBytes + bytes <= a.registeredBudget) {
    try {
      return a.registrar.register(buffer);
    } catch (e) {
      if (!a.overflow || !(isRioError(e, 'ERR_RIO_MEMLOCK') || isRioError(e, 'ERR_RIO_TOO_MANY_REGISTRATIONS'))) throw e;
      cause = e as RioError;
      a.registeredBudget = a.registeredBytes;
    }
  } else if (!a.overflow) {
    throw new RioError(
      'ERR_RIO_MEMLOCK',
      `a new ${bytes}-byte slab would pass the registration budget, maxRegisteredBytes (${a.registeredBudget} bytes); ` +
        `${a.registeredBytes} bytes are registered${a.budgetAdvice === '' ? '' : `. ${a.budgetAdvice}`}`,
    );
  }
  if (!a.overflowed) {
    a.overflowed = true;
    a.onOverflow?.({ registeredBytes: a.registeredBytes, budget: a.registeredBudget, cause });
  }
  return overflowId(id);
}

export function retire(a: SlabLifeState, slab: Slab): void {
  // docs/design.md, rule 2: never deregister with anything outstanding.
  if (slab.leased !== 0) {
    throw new Error(`riopool internal error: retire of slab ${slab.id} with ${slab.leased} outstanding`);
  }
  const cls = slab.cls;
  cls.removeAvailable(slab);
  slab.state = 'retiring';
  const registered = slab.bufferId >= 0;
  if (registered) {
    try {
      a.registrar.deregister(slab.bufferId);
    } catch (e) {
      slab.state = 'active';
      cls.pushAvailable(slab);
      throw e;
    }
    a.byBufferId[slab.bufferId] = undefined;
    a.registeredSlabs--;
    a.registeredBytes -= cls.slabBytes;
  }
  slab.state = 'deregistered';
  a.registrar.unmap(slab.buffer); // detaches: every view over the slab reads as length 0
  slab.state = 'unmapped';
  a.slabs[slab.id] = undefined;
  a.freeSlabIds.push(slab.id);
  cls.slabs--;
  cls.emptySlabs--;
  cls.retirements++;
  cls.lastEventWasRetire = true;
  a.liveSlabs--;
  a.retirements++;
  a.mappedBytes -= cls.slabBytes;
}

/** The buffer id of an overflow slab: negative, so that no registered I/O can take it for one. */
function overflowId(slabId: number): number {
  return -1 - slabId;
}

/**
 * Where a new slab's generations start: the pool's key (random per pool, so another pool's
 * handles miss) moved on per slab made (so a handle of a slab retired since misses the new slab
 * under the same id). Not a secret: a check against mistakes, not an adversary with the pool's
 * memory.
 */
function nextGenerationBase(a: SlabLifeState): number {
  a.generationKey = (Math.imul(a.generationKey ^ (a.generationKey >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
  return a.generationKey;
}
