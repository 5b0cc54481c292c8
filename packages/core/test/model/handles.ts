/**
 * The model-based test's commands on the low-level path (allocator.ts: acquireInto writes a
 * slot's RioBuf into the caller's object and returns a handle; releaseHandle gives it back). A
 * handle released already, or forged from a live one, is refused with a typed error and changes
 * nothing.
 */
import type fc from 'fast-check';
import { checkAll, expectCode, type Real } from './check';
import { classOf, dropRef, nextFill, place, predict, verifyBytes, type Model } from './model';

type Cmd = fc.Command<Model, Real>;

export class AcquireIntoCommand implements Cmd {
  constructor(readonly length: number) {}
  check(m: Readonly<Model>): boolean {
    return !m.closing;
  }
  run(m: Model, r: Real): void {
    const c = classOf(r.alloc, this.length);
    const p = predict(m, c);
    const out = { bufferId: -7, offset: -7, length: -7 };
    if (p.kind === 'refused') {
      expectCode(() => r.pool.acquireInto(this.length, out), p.code);
      if (out.bufferId !== -7) throw new Error('a refused acquireInto wrote into out');
      checkAll(m, r);
      return;
    }
    const handle = r.pool.acquireInto(this.length, out);
    if (!Number.isInteger(handle) || handle < 2 ** 20 || handle >= 2 ** 31) throw new Error(`handle ${handle} is not an int32 from 2^20`);
    if (m.held.some((h) => h.kind === 'handle' && h.handle === handle)) throw new Error(`handle ${handle} given twice`);
    if (out.length !== this.length) throw new Error(`out.length ${out.length} != ${this.length}`);
    if (out.offset % c.slotSize !== 0) throw new Error(`out.offset ${out.offset} is not a ${c.slotSize}-byte slot's`);
    const view = r.pool.view(out.bufferId);
    const slab = place(m, p, c, view.buffer as ArrayBuffer, out.bufferId);
    const fill = nextFill(m);
    view.subarray(out.offset, out.offset + this.length).fill(fill);
    m.held.push({
      kind: 'handle',
      lease: undefined,
      handle,
      slab,
      bufferId: out.bufferId,
      offset: out.offset,
      length: this.length,
      slotOffset: out.offset,
      slotSize: c.slotSize,
      userRefs: 1,
      slices: 0,
      parent: undefined,
      fill,
    });
    checkAll(m, r);
  }
  toString(): string {
    return `acquireInto(${this.length})`;
  }
}

export class ReleaseHandleCommand implements Cmd {
  constructor(readonly pick: number) {}
  check(m: Readonly<Model>): boolean {
    return m.held.some((h) => h.kind === 'handle');
  }
  run(m: Model, r: Real): void {
    const list = m.held.filter((h) => h.kind === 'handle');
    const h = list[this.pick % list.length]!;
    const view = (id: number) => r.pool.view(id);
    verifyBytes(h, view);
    const bytes = view(h.bufferId).subarray(h.offset, h.offset + h.length);
    dropRef(m, h); // the model first: the registrar's checks read it
    r.pool.releaseHandle(h.handle);
    m.staleHandles.push({ handle: h.handle, bytes });
    checkAll(m, r);
  }
  toString(): string {
    return `releaseHandle(#${this.pick})`;
  }
}

/**
 * releaseHandle of a released handle (ERR_RIO_RELEASED), or of one forged from a live handle by
 * changing its tag (refused: ERR_RIO_RELEASED or ERR_RIO_INVALID_BUFFER, whichever the tag
 * looks like). Either way nothing changes: stats() are the same and checkAll holds.
 */
export class BadHandleCommand implements Cmd {
  constructor(
    readonly pick: number,
    readonly forge: number,
  ) {}
  check(m: Readonly<Model>): boolean {
    return m.staleHandles.length > 0 || m.held.some((h) => h.kind === 'handle');
  }
  run(m: Model, r: Real): void {
    const live = m.held.filter((h) => h.kind === 'handle');
    const before = JSON.stringify(r.pool.stats().totals);
    if (m.staleHandles.length > 0 && (live.length === 0 || this.forge === 0)) {
      const stale = m.staleHandles[this.pick % m.staleHandles.length]!.handle;
      expectCode(() => r.pool.releaseHandle(stale), 'ERR_RIO_RELEASED');
    } else {
      const h = live[this.pick % live.length]!;
      const forged = h.handle ^ ((this.forge || 1) << 20); // another tag of the same entry (bits 20 .. 30)
      expectCode(() => r.pool.releaseHandle(forged), 'ERR_RIO_RELEASED', 'ERR_RIO_INVALID_BUFFER');
    }
    if (JSON.stringify(r.pool.stats().totals) !== before) throw new Error('a refused releaseHandle changed the stats');
    checkAll(m, r);
  }
  toString(): string {
    return `badHandle(#${this.pick}, ${this.forge === 0 ? 'stale' : `tag ^ ${this.forge}`})`;
  }
}
