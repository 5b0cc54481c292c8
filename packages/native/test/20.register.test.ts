// Registration against the real kernel: VmPin for io_uring, VmLck for mlock.
import { native, PAGE, KiB, pinned, locked, isLinux, aTypeError, withCode } from './helpers';

const linux = isLinux ? describe : describe.skip;

linux('uring backend', () => {
  test('registering 256 KiB raises VmPin by 256 kB; deregistering brings it back', () => {
    const r = new native.Backend('uring');
    expect(r.kind).toBe('uring');
    expect(r.locks).toBe(true);
    expect(r.capacity).toBe(16384);
    const ab = native.map(256 * KiB);
    const before = pinned();
    const id = r.register(ab);
    expect(pinned() - before).toBe(256 * KiB);
    expect(r.size).toBe(1);
    r.deregister(id);
    expect(pinned()).toBe(before);
    expect(r.size).toBe(0);
    r.close();
    native.unmap(ab);
  });

  test("RIORegisterBuffer's warning: 1,000 × 512 B registered one by one pin ~4,000 kB; one slab pins 512 kB", () => {
    const r = new native.Backend('uring');
    // The 1,000 buffers packed 8 to a page, as a malloc would place them.
    const region = native.map(512 * KiB);
    const before = pinned();
    const ids: number[] = [];
    for (let i = 0; i < 1000; i++) ids.push(r.register(region, i * 512, 512));
    const perBuffer = pinned() - before;
    for (const id of ids) r.deregister(id);
    expect(pinned()).toBe(before);

    const slab = r.register(region);
    const oneSlab = pinned() - before;
    r.deregister(slab);

    expect(perBuffer).toBe(1000 * PAGE); // one page per registration: 4,000 kB with 4 KiB pages
    expect(oneSlab).toBe(512 * KiB);
    expect(perBuffer / oneSlab).toBeGreaterThanOrEqual(7.8);
    r.close();
    native.unmap(region);
  });

  test('ids are table indexes, reused after deregistration', () => {
    const r = new native.Backend('uring', 8);
    const ab = native.map(8 * PAGE);
    const a = r.register(ab, 0, PAGE);
    const b = r.register(ab, PAGE, PAGE);
    expect(a).toBeGreaterThanOrEqual(0);
    expect(a).toBeLessThan(8);
    expect(b).not.toBe(a);
    r.deregister(a);
    expect(r.register(ab, 2 * PAGE, PAGE)).toBe(a);
    r.close();
    native.unmap(ab);
  });

  test('a full table (16,384 entries) fails with ENOSPC and a clear message; the backend goes on', () => {
    const r = new native.Backend('uring');
    const ab = native.map(16384 * PAGE);
    for (let i = 0; i < 16384; i++) r.register(ab, i * PAGE, PAGE);
    let err: any;
    try {
      r.register(ab, 0, PAGE);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'ENOSPC' });
    expect(err.message).toMatch(/16384 registrations/);
    r.deregister(77);
    expect(r.register(ab, 77 * PAGE, PAGE)).toBe(77);
    r.close();
    expect(pinned()).toBe(0);
    native.unmap(ab);
  });

  test('close() deregisters everything at once', () => {
    const r = new native.Backend('uring');
    const ab = native.map(64 * PAGE);
    const before = pinned();
    for (let i = 0; i < 64; i++) r.register(ab, i * PAGE, PAGE);
    expect(pinned() - before).toBe(64 * PAGE);
    r.close();
    expect(pinned()).toBe(before);
    expect(r.kind).toBe('closed');
    expect(() => r.register(ab)).toThrow(withCode('EBADF'));
    r.close(); // idempotent
    native.unmap(ab);
  });
});

linux('lock backend', () => {
  test('registering 256 KiB raises VmLck by 256 kB; deregistering brings it back', () => {
    const r = new native.Backend('lock');
    expect(r.locks).toBe(true);
    const ab = native.map(256 * KiB);
    const before = locked();
    const id = r.register(ab);
    expect(locked() - before).toBe(256 * KiB);
    r.deregister(id);
    expect(locked()).toBe(before);
    r.close();
    native.unmap(ab);
  });

  test('ranges that share a page keep it locked until the last one is deregistered', () => {
    const r = new native.Backend('lock');
    const ab = native.map(2 * PAGE);
    const before = locked();
    const a = r.register(ab, 0, 512);
    const b = r.register(ab, 512, 512);
    expect(locked() - before).toBe(PAGE);
    r.deregister(a);
    expect(locked() - before).toBe(PAGE);
    r.deregister(b);
    expect(locked()).toBe(before);
    r.close();
    native.unmap(ab);
  });
});

describe('none backend', () => {
  test('hands out ids and locks nothing', () => {
    const r = new native.Backend('none');
    expect(r.locks).toBe(false);
    const ab = native.map(4 * PAGE);
    const before = native.memoryStatus();
    const id = r.register(ab);
    expect(native.memoryStatus().locked).toBe(before.locked);
    expect(native.memoryStatus().pinned).toBe(before.pinned);
    r.deregister(id);
    r.close();
    native.unmap(ab);
  });
});

describe('registration errors', () => {
  const kind = isLinux ? 'uring' : 'lock';

  test('a buffer that is not a mapping of ours: EFAULT (WSAEFAULT)', () => {
    const r = new native.Backend(kind);
    expect(() => r.register(new ArrayBuffer(PAGE))).toThrow(withCode('EFAULT'));
    const gone = native.map(PAGE);
    native.unmap(gone);
    expect(() => r.register(gone)).toThrow(withCode('EFAULT'));
    r.close();
  });

  test('a zero length: EINVAL (WSAEINVAL); out of range: EINVAL', () => {
    const r = new native.Backend(kind);
    const ab = native.map(PAGE);
    expect(() => r.register(ab, 0, 0)).toThrow(withCode('EINVAL'));
    expect(() => r.register(ab, PAGE, undefined)).toThrow(withCode('EINVAL'));
    expect(() => r.register(ab, 1, PAGE)).toThrow(withCode('EINVAL'));
    expect(() => r.register(ab, -1, 8)).toThrow(withCode('EINVAL'));
    expect(() => r.deregister(12345)).toThrow(withCode('EINVAL'));
    expect(r.size).toBe(0);
    r.close();
    native.unmap(ab);
  });

  test('wrong types: TypeError, never a crash', () => {
    const r = new native.Backend(kind);
    const ab = native.map(PAGE);
    expect(() => r.register('x' as any)).toThrow(aTypeError);
    expect(() => r.register(ab, '0' as any)).toThrow(aTypeError);
    expect(() => r.deregister('0' as any)).toThrow(aTypeError);
    expect(() => (r.register as any).call({}, ab)).toThrow(aTypeError);
    expect(() => new (native.Backend as any)(42)).toThrow(aTypeError);
    expect(() => new native.Backend('bogus' as any)).toThrow(withCode('EINVAL'));
    r.close();
    native.unmap(ab);
  });

  test('unmap is refused while the mapping is registered (EBUSY); allowed after', () => {
    const r = new native.Backend(kind);
    const ab = native.map(PAGE);
    const id = r.register(ab);
    expect(() => native.unmap(ab)).toThrow(withCode('EBUSY'));
    expect(ab.byteLength).toBe(PAGE);
    r.deregister(id);
    expect(native.unmap(ab)).toBe(true);
    r.close();
  });
});
