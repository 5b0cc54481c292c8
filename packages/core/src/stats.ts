/**
 * Stats: a versioned plain object (printing is the CLI's business, not this file's).
 * Bump STATS_VERSION whenever a field changes meaning or goes away; adding a field is
 * backwards compatible and keeps the version.
 */
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

export interface PoolStats {
  version: typeof STATS_VERSION;
  backend: string;
  /** False for the `none` and `memory` backends: the memory is not locked and may be paged out. */
  locked: boolean;
  pageSize: number;
  /** Classes that have had a slab or a lease. */
  classes: ClassStats[];
  totals: {
    slabs: number;
    /** Live registrations: one per slab. */
    registrations: number;
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
    /** Mapped bytes that registration locked or pinned (0 for unlocked backends). */
    lockedBytes: number;
    /** Calls of trim(). */
    trims: number;
    /** Slabs kept alive by a few leases: occupancy above 0 and at most 1/8. */
    hostageSlabs: number;
    hostageBytes: number;
  };
}
