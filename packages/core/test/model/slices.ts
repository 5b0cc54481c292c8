/**
 * The model-based test's commands on slices (lease.ts: lease.slice(start, end) holds one
 * reference on its parent until its own last release, so the parent's slot, and its slab, stay
 * held while any slice lives). A slice is released with ReleaseCommand (leases.ts) like a lease;
 * its last release drops its parent's reference (model.ts, dropRef).
 */
import fc from 'fast-check';
import { leaseSlot } from '@riopool/core';
import { checkAll, expectCode, type Real } from './check';
import type { Model } from './model';
import { heldLeases } from './leases';

type Cmd = fc.Command<Model, Real>;

/** Slices a lease or slice the test holds: [start, end) drawn as fractions of its length. */
export class SliceCommand implements Cmd {
  constructor(
    readonly pick: number,
    readonly from: number,
    readonly to: number,
  ) {}
  check(m: Readonly<Model>): boolean {
    return heldLeases(m).length > 0;
  }
  run(m: Model, r: Real): void {
    const list = heldLeases(m);
    const parent = list[this.pick % list.length]!;
    const start = Math.floor(this.from * parent.length);
    const end = start + 1 + Math.floor(this.to * (parent.length - start - 1));
    const slice = parent.lease!.slice(start, end);
    parent.slices++;
    m.held.push({
      ...parent,
      kind: 'slice',
      lease: slice,
      offset: parent.offset + start,
      length: end - start,
      userRefs: 1,
      slices: 0,
      parent,
    });
    if (slice.length !== end - start || slice.bytes.length !== end - start) throw new Error('wrong slice length');
    if (leaseSlot(slice)!.parent !== parent.lease) throw new Error("a slice's parent is not the lease it was cut from");
    if (slice.bytes[0] !== parent.fill) throw new Error("a slice does not read its parent's bytes");
    checkAll(m, r);
  }
  toString(): string {
    return `slice(#${this.pick}, ${this.from.toFixed(3)}, ${this.to.toFixed(3)})`;
  }
}

/** A range that is no slice: ERR_RIO_INVALID_LENGTH, and no reference taken (checkAll, and the final close, see it). */
export class BadSliceCommand implements Cmd {
  constructor(
    readonly pick: number,
    readonly range: (length: number) => [number, number],
    readonly shown: string,
  ) {}
  check(m: Readonly<Model>): boolean {
    return heldLeases(m).length > 0;
  }
  run(m: Model, r: Real): void {
    const list = heldLeases(m);
    const h = list[this.pick % list.length]!;
    const [start, end] = this.range(h.length);
    expectCode(() => h.lease!.slice(start, end), 'ERR_RIO_INVALID_LENGTH');
    checkAll(m, r);
  }
  toString(): string {
    return `badSlice(#${this.pick}, ${this.shown})`;
  }
}

/** Ranges outside a lease of `n` bytes, or empty, or not in whole bytes. */
export const badRangeArb: fc.Arbitrary<{ range: (n: number) => [number, number]; shown: string }> = fc.constantFrom(
  { range: (n: number): [number, number] => [0, n + 1], shown: '0, n + 1' },
  { range: (): [number, number] => [-1, 1], shown: '-1, 1' },
  { range: (n: number): [number, number] => [n, n], shown: 'n, n' },
  { range: (n: number): [number, number] => [Math.floor(n / 2), Math.floor(n / 2)], shown: 'n/2, n/2' },
  { range: (n: number): [number, number] => [n, n + 1], shown: 'n, n + 1' },
  { range: (n: number): [number, number] => [0.5, n], shown: '0.5, n' },
  { range: (): [number, number] => [0, NaN], shown: '0, NaN' },
);
