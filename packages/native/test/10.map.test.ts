// Mapping and unmapping: page alignment, detaching, idempotence, finalizers.
import { native, PAGE, KiB, pinned, isLinux, runChild, requireNative, aTypeError, withCode } from './helpers';

describe('map', () => {
  test('page size is a power of two of at least 4 KiB', () => {
    expect(PAGE).toBeGreaterThanOrEqual(4096);
    expect(PAGE & (PAGE - 1)).toBe(0);
  });

  test('256 KiB maps as whole, zeroed, writable pages', () => {
    const ab = native.map(256 * KiB);
    expect(ab.byteLength).toBe(256 * KiB);
    const view = new Uint8Array(ab);
    expect(view.every((b) => b === 0)).toBe(true);
    view[0] = 1;
    view[view.length - 1] = 2;
    expect(view[0] + view[view.length - 1]).toBe(3);
    native.unmap(ab);
  });

  test('a length that is not a page multiple is refused (EINVAL), not rounded', () => {
    const before = native.info().liveMappings;
    for (const bad of [1, PAGE - 1, PAGE + 1, 3 * PAGE + 7]) expect(() => native.map(bad)).toThrow(withCode('EINVAL'));
    expect(native.info().liveMappings).toBe(before);
    const ab = native.map(2 * PAGE);
    expect(ab.byteLength).toBe(2 * PAGE);
    native.unmap(ab);
  });

  (isLinux ? test : test.skip)('memory is page aligned: mincore accepts it and counts touched pages', () => {
    const ab = native.map(16 * PAGE);
    expect(native.residency(ab)).toBe(0);
    const view = new Uint8Array(ab);
    view[0] = 1;
    view[5 * PAGE] = 1;
    view[15 * PAGE + 7] = 1;
    expect(native.residency(ab)).toBe(3);
    native.unmap(ab);
  });

  (isLinux ? test : test.skip)('memory is page aligned: registering 256 KiB pins exactly 64 pages', () => {
    const r = new native.Backend('uring');
    const ab = native.map(256 * KiB);
    const before = pinned();
    const id = r.register(ab);
    // An unaligned 256 KiB range would span 65 pages.
    expect(pinned() - before).toBe(256 * KiB);
    r.deregister(id);
    r.close();
    native.unmap(ab);
  });
});

describe('unmap', () => {
  test('detaches first: every view over the memory reads as length 0', () => {
    const ab = native.map(4 * PAGE);
    const whole = new Uint8Array(ab);
    const part = new Uint8Array(ab, PAGE, 16);
    const buf = Buffer.from(ab, 8, 8);
    const dv = new DataView(ab);
    expect(native.unmap(ab)).toBe(true);
    expect(ab.byteLength).toBe(0);
    expect(whole.length).toBe(0);
    expect(part.length).toBe(0);
    expect(buf.length).toBe(0);
    expect(whole[0]).toBeUndefined();
    expect(() => dv.getUint8(0)).toThrow(TypeError); // this realm's DataView
  });

  test('a second unmap is harmless and says so', () => {
    const ab = native.map(PAGE);
    expect(native.unmap(ab)).toBe(true);
    expect(native.unmap(ab)).toBe(false);
    expect(native.unmap(ab)).toBe(false);
  });

  test('counts: each explicit unmap happens once, live mappings return to where they were', () => {
    const start = native.info();
    const abs = Array.from({ length: 10 }, () => native.map(PAGE));
    expect(native.info().liveMappings).toBe(start.liveMappings + 10);
    for (const ab of abs) native.unmap(ab);
    for (const ab of abs) native.unmap(ab);
    const end = native.info();
    expect(end.liveMappings).toBe(start.liveMappings);
    expect(end.explicitUnmaps - start.explicitUnmaps).toBe(10);
  });

  test('an ArrayBuffer collected by GC frees its mapping exactly once; after unmap its finalizer does nothing', () => {
    const { json, status, stderr } = runChild(
      `${requireNative}
      const start = native.info();
      // 50 dropped without unmap, 50 unmapped explicitly and then dropped.
      for (let i = 0; i < 50; i++) native.map(65536);
      for (let i = 0; i < 50; i++) native.unmap(native.map(65536));
      const settle = () => new Promise((r) => setImmediate(r));
      (async () => {
        for (let i = 0; i < 10; i++) { global.gc(); await settle(); }
        const end = native.info();
        console.log(JSON.stringify({
          live: end.liveMappings - start.liveMappings,
          finalizerUnmaps: end.finalizerUnmaps - start.finalizerUnmaps,
          finalizerSkips: end.finalizerSkips - start.finalizerSkips,
          explicitUnmaps: end.explicitUnmaps - start.explicitUnmaps,
        }));
      })();`,
      { nodeArgs: ['--expose-gc'] },
    );
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(json).toEqual({ live: 0, finalizerUnmaps: 50, finalizerSkips: 50, explicitUnmaps: 50 });
  });
});

describe('bad input', () => {
  test.each([
    ['zero', 0],
    ['negative', -4096],
    ['fractional', 4096.5],
    ['NaN', NaN],
    ['infinite', Infinity],
    ['over 1 GiB', 2 ** 31],
  ])('map(%s) throws EINVAL', (_name, bytes) => {
    expect(() => native.map(bytes)).toThrow(withCode('EINVAL'));
  });

  test.each([
    ['a string', '4096'],
    ['undefined', undefined],
    ['an object', {}],
  ])('map(%s) throws TypeError', (_name, bytes) => {
    expect(() => native.map(bytes as any)).toThrow(aTypeError);
  });

  test('unmap and residency of a buffer that is not ours: TypeError or EFAULT', () => {
    expect(() => native.unmap({} as any)).toThrow(aTypeError);
    expect(() => native.unmap(new Uint8Array(8) as any)).toThrow(aTypeError);
    expect(() => native.unmap(new ArrayBuffer(4096))).toThrow(withCode('EFAULT'));
    expect(() => native.residency(new ArrayBuffer(4096))).toThrow(withCode('EFAULT'));
  });
});
