/**
 * Closing an allocator: refuse new acquires at once, retire every empty slab now and each other
 * slab with its last lease (rules 1 and 2 of docs/design.md), then close the registrar and
 * settle the close promise. abandonOutstanding settles it without waiting for the leases.
 *
 * While closing, every class's emptyLimit is -1, so each release that empties a slab reaches
 * the allocator's tooManyEmpty, which hands it to closingRelease.
 */
import type { Slab, SlabClass } from './slab';
import { retire, type SlabLifeState } from './slab-life';

/** What closing reads and changes of the allocator. */
export interface CloseState extends SlabLifeState {
  closing: boolean;
  closed: boolean;
  openMaxLength: number;
  closePromise: Promise<void> | undefined;
  settleClose: ((error?: unknown) => void) | undefined;
  readonly leased: number;
  allClasses(): Iterable<SlabClass>;
  trimClass(cls: SlabClass): number;
}

/**
 * Refuses new acquires at once; resolves when every lease is released and every slab is
 * deregistered and unmapped. Views handed out read as length 0 afterwards.
 */
export function close(a: CloseState): Promise<void> {
  if (a.closePromise === undefined) {
    a.closing = true;
    a.openMaxLength = 0;
    // Every release that empties a slab now goes to tooManyEmpty, which retires it (or finishes the close).
    for (const cls of a.allClasses()) cls.emptyLimit = -1;
    a.closePromise = new Promise<void>((resolve, reject) => {
      a.settleClose = (error?: unknown) => (error === undefined ? resolve() : reject(error));
    });
    // Slabs with no lease go now; the others as their last lease comes back (closingRelease).
    if (a.leased === 0) finishClose(a);
    else for (const cls of a.allClasses()) a.trimClass(cls);
  }
  return a.closePromise;
}

/**
 * Closes without waiting for the leases still out: the close promise resolves now. Memory a
 * lease still uses is neither deregistered nor unmapped (docs/design.md, rules 1 and 2): each
 * such slab stays until its last lease is released, then goes as in a close, and the
 * registrar closes after the last one. Leases never released keep their slabs (and the
 * registrar) until the process ends. Call it after close(); the caller (the pool) has made
 * sure no operation of its own is in flight.
 */
export function abandonOutstanding(a: CloseState): void {
  if (a.closePromise === undefined) void close(a);
  if (!a.closed) a.settleClose!();
}

/** A release while closing: the last lease finishes the close; a slab that emptied goes at once. */
export function closingRelease(a: CloseState, slab: Slab): void {
  if (a.leased === 0) finishClose(a);
  else if (slab.leased === 0 && slab.state === 'active') retire(a, slab);
}

function finishClose(a: CloseState): void {
  if (a.closed) return;
  a.closed = true;
  try {
    for (const slab of a.slabs) if (slab !== undefined) retire(a, slab);
    a.registrar.close?.();
    a.settleClose!();
  } catch (e) {
    a.settleClose!(e);
  }
}
