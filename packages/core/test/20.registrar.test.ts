import { withCode as code } from '../../../test/support';
import { MemoryRegistrar, isRioError } from '@riopool/core';

describe('MemoryRegistrar enforces the native contract', () => {
  test('maps whole pages only', () => {
    const r = new MemoryRegistrar();
    expect(r.map(8192).byteLength).toBe(8192);
    expect(() => r.map(100)).toThrow(code('ERR_RIO_INVALID_LENGTH'));
    expect(() => r.map(0)).toThrow(code('ERR_RIO_INVALID_LENGTH'));
  });

  test('registers only its own live mappings and reuses ids', () => {
    const r = new MemoryRegistrar();
    const a = r.map(4096);
    expect(() => r.register(new ArrayBuffer(4096))).toThrow(code('ERR_RIO_INVALID_BUFFER'));
    const id = r.register(a);
    r.deregister(id);
    expect(r.register(a)).toBe(id);
  });

  test('refuses a double deregistration', () => {
    const r = new MemoryRegistrar();
    const id = r.register(r.map(4096));
    r.deregister(id);
    expect(() => r.deregister(id)).toThrow(code('ERR_RIO_INVALID_BUFFER'));
  });

  test('refuses to deregister a buffer the caller says has outstanding leases', () => {
    let out = 2;
    const r = new MemoryRegistrar({ outstanding: () => out });
    const id = r.register(r.map(4096));
    expect(() => r.deregister(id)).toThrow(/2 outstanding/);
    out = 0;
    r.deregister(id);
  });

  test('refuses to unmap while registered, and detaches on unmap', () => {
    const r = new MemoryRegistrar();
    const buf = r.map(4096);
    const view = new Uint8Array(buf);
    const id = r.register(buf);
    expect(() => r.unmap(buf)).toThrow(/still registered/);
    r.deregister(id);
    r.unmap(buf);
    expect(view.length).toBe(0);
    expect(() => r.unmap(buf)).toThrow(code('ERR_RIO_INVALID_BUFFER'));
  });

  test('a full table and a lock limit give the typed errors', () => {
    const r = new MemoryRegistrar({ capacity: 2, lockLimitBytes: 8192 });
    r.register(r.map(4096));
    r.register(r.map(4096));
    let err: unknown;
    try {
      r.register(r.map(4096));
    } catch (e) {
      err = e;
    }
    expect(isRioError(err)).toBe(true);
    expect(isRioError(err, 'ERR_RIO_MEMLOCK') || isRioError(err, 'ERR_RIO_TOO_MANY_REGISTRATIONS')).toBe(true);
  });
});
