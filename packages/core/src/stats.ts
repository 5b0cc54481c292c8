/**
 * Stats: a versioned plain object, and how the allocator's counters become one (printing is the
 * CLI's business, not this file's).
 * Bump STATS_VERSION whenever a field changes meaning or goes away; adding a field is
 * backwards compatible and keeps the version.
 */
import type { Registrar } from './registrar';
import type { Slab, SlabClass } from './slab';

export const STATS_VERSION = 1;

export interface ClassStats {
  slotSize: number;
  slabBytes: number;
  slotsPerSlab: number;
  /** True for a dedicated class: requests above the largest class, one slot per slab. */
  dedicated: boolean;
  slabs: number;
  emptySlabs: number;
  leased: number;
  free: number;
  /** Most slots leased at once. */
  peak: number;
  totalAcquired: number;
  registrations: number;
  retirements: number;
  churn: number;
}

export interface AllocatorStats {
  version: typeof STATS_VERSION;
  backend: string;
  /** False for the `none` and `memory` backends: the memory is not locked and may be paged out. */
  locked: boolean;
  pageSize: number;
  /** Classes that have had a slab or a lease. */
  classes: ClassStats[];
  totals: {
    slabs: number;
    /** Live registrations: one per registered slab (overflow slabs have none). */
    registrations: number;
    /** Live overflow slabs: mapped, not registered (the registration budget was spent). */
    overflowSlabs: number;
    /** Registrations made since the pool was created. */
    totalRegistrations: number;
    retirements: number;
    /** Registrations that followed a retirement of the same class (register/deregister cycles). */
    churn: number;
    leased: number;
    /** Bytes asked for by live leases. */
    requestedBytes: number;
    /** Bytes of the slots live leases hold (after class rounding). */
    reservedBytes: number;
    mappedBytes: number;
    peakMappedBytes: number;
    /** Mapped bytes of registered slabs, and of overflow slabs. */
    registeredBytes: number;
    unregisteredBytes: number;
    /** The registration budget now (maxRegisteredBytes, or what the OS took before it refused); null: none. */
    registeredBudget: number | null;
    /** Mapped bytes that registration locked or pinned (0 for unlocked backends). */
    lockedBytes: number;
    /** Bytes of slabs with nothing leased (kept for reuse until the band, the bound or decay retire them). */
    emptyBytes: number;
    /** Slabs retired by decay (empty for a whole tick) and by the bound on empty bytes. */
    decayed: number;
    boundRetirements: number;
    /** Calls of trim(). */
    trims: number;
    /** Slabs kept alive by a few leases: occupancy above 0 and at most 1/8. */
    hostageSlabs: number;
    hostageBytes: number;
  };
}

function classStats(c: SlabClass): ClassStats {
  return {
    slotSize: c.slotSize,
    slabBytes: c.slabBytes,
    slotsPerSlab: c.slotsPerSlab,
    dedicated: c.dedicated,
    slabs: c.slabs,
    emptySlabs: c.emptySlabs,
    leased: c.leased,
    free: c.slabs * c.slotsPerSlab - c.leased,
    peak: c.peak,
    totalAcquired: c.totalAcquired,
    registrations: c.registrations,
    retirements: c.retirements,
    churn: c.churn,
  };
}

/** What the stats are made from: the allocator's counters (allocator.ts), read only. */
export interface StatsSource {
  readonly registrar: Pick<Registrar, 'backend' | 'pinning' | 'pageSize'>;
  readonly slabs: readonly (Slab | undefined)[];
  readonly liveSlabs: number;
  readonly registeredSlabs: number;
  readonly registeredBytes: number;
  readonly registeredBudget: number;
  readonly emptyBytes: number;
  readonly decayed: number;
  readonly boundRetirements: number;
  readonly totalRegistrations: number;
  readonly retirements: number;
  readonly leased: number;
  readonly mappedBytes: number;
  readonly peakMappedBytes: number;
  readonly trims: number;
  allClasses(): Iterable<SlabClass>;
}

/** The stats of an allocator now. Walks every class and live slab: not for the hot path. */
export function allocatorStats(pool: StatsSource): AllocatorStats {
  const classes: ClassStats[] = [];
  let reservedBytes = 0;
  let churn = 0;
  for (const c of pool.allClasses()) {
    reservedBytes += c.leased * c.slotSize;
    churn += c.churn;
    if (c.slabs > 0 || c.totalAcquired > 0) classes.push(classStats(c));
  }
  let requestedBytes = 0;
  let hostageSlabs = 0;
  let hostageBytes = 0;
  for (const slab of pool.slabs) {
    if (slab === undefined || slab.leased === 0) continue;
    for (const entry of slab.slots) if (entry > 0) requestedBytes += entry;
    if (slab.leased * 8 <= slab.cls.slotsPerSlab) {
      hostageSlabs++;
      hostageBytes += slab.cls.slabBytes;
    }
  }
  const locked = pool.registrar.pinning !== 'none';
  return {
    version: STATS_VERSION,
    backend: pool.registrar.backend,
    locked,
    pageSize: pool.registrar.pageSize,
    classes,
    totals: {
      slabs: pool.liveSlabs,
      registrations: pool.registeredSlabs,
      overflowSlabs: pool.liveSlabs - pool.registeredSlabs,
      totalRegistrations: pool.totalRegistrations,
      retirements: pool.retirements,
      churn,
      leased: pool.leased,
      requestedBytes,
      reservedBytes,
      mappedBytes: pool.mappedBytes,
      peakMappedBytes: pool.peakMappedBytes,
      registeredBytes: pool.registeredBytes,
      unregisteredBytes: pool.mappedBytes - pool.registeredBytes,
      registeredBudget: Number.isFinite(pool.registeredBudget) ? pool.registeredBudget : null,
      lockedBytes: locked ? pool.registeredBytes : 0,
      emptyBytes: pool.emptyBytes,
      decayed: pool.decayed,
      boundRetirements: pool.boundRetirements,
      trims: pool.trims,
      hostageSlabs,
      hostageBytes,
    },
  };
}
