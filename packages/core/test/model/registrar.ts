/**
 * ModelRegistrar: the registrar of the allocator's model-based test (commands.ts). It wraps a real
 * registrar (core's MemoryRegistrar, or the native addon's in the pool package's tests) and:
 *
 *   - keeps its own book of what is mapped and registered, which the test compares with the
 *     allocator's stats() and with the model (check.ts): an account independent of the allocator's;
 *   - refuses to register past a byte limit (`limit`, ERR_RIO_MEMLOCK, as an OS lock limit does) or
 *     past `maxRegistrations` registrations (ERR_RIO_TOO_MANY_REGISTRATIONS, a full table); the
 *     test changes the limit as it runs;
 *   - refuses a deregistration while the model says something holds the buffer id, and an unmap
 *     while the model says something holds the mapping (docs/design.md, rules 1 and 2), so a
 *     retirement the allocator should not make fails there, whatever the allocator's own
 *     accounting says.
 */
import { RioError, type Registrar } from '@riopool/core';

/** What the registrar asks the model (model.ts: outstandingIn, heldIn). */
export interface RegistrarChecks {
  outstanding(bufferId: number): number;
  held(buffer: ArrayBuffer): boolean;
}

export class ModelRegistrar implements Registrar {
  readonly pageSize: number;
  readonly backend: string;
  readonly pinning: Registrar['pinning'];
  readonly capacity: number;
  readonly maxRegistrationBytes: number;
  /** Most bytes registered at once; past it register() throws ERR_RIO_MEMLOCK. */
  limit = Infinity;
  /** Most registrations at once; past it register() throws ERR_RIO_TOO_MANY_REGISTRATIONS. */
  maxRegistrations = Infinity;
  /** Live mappings with their sizes, and live registrations. */
  readonly mapped = new Map<ArrayBuffer, number>();
  readonly registered = new Map<number, ArrayBuffer>();
  registeredBytes = 0;
  mappedBytes = 0;
  refusals = 0;

  constructor(
    readonly inner: Registrar,
    private readonly checks: RegistrarChecks,
  ) {
    this.pageSize = inner.pageSize;
    this.backend = inner.backend;
    this.pinning = inner.pinning;
    this.capacity = inner.capacity;
    this.maxRegistrationBytes = inner.maxRegistrationBytes;
  }

  map(bytes: number): ArrayBuffer {
    const buffer = this.inner.map(bytes);
    this.mapped.set(buffer, bytes);
    this.mappedBytes += bytes;
    return buffer;
  }

  register(buffer: ArrayBuffer): number {
    const bytes = this.mapped.get(buffer);
    if (bytes === undefined) throw new Error('ModelRegistrar: register of a buffer that is not mapped');
    if (this.registeredBytes + bytes > this.limit) {
      this.refusals++;
      throw new RioError('ERR_RIO_MEMLOCK', `register: the test's limit of ${this.limit} bytes is reached`);
    }
    if (this.registered.size >= this.maxRegistrations) {
      this.refusals++;
      throw new RioError('ERR_RIO_TOO_MANY_REGISTRATIONS', `register: the test's ${this.maxRegistrations} registrations are in use`);
    }
    const id = this.inner.register(buffer);
    if (this.registered.has(id)) throw new Error(`ModelRegistrar: buffer id ${id} given twice`);
    this.registered.set(id, buffer);
    this.registeredBytes += bytes;
    return id;
  }

  deregister(bufferId: number): void {
    const buffer = this.registered.get(bufferId);
    if (buffer === undefined) throw new Error(`ModelRegistrar: deregister of buffer id ${bufferId}, which is not registered`);
    const out = this.checks.outstanding(bufferId);
    if (out !== 0) throw new Error(`ModelRegistrar: deregister of buffer id ${bufferId} while the model holds ${out} thing(s) on it`);
    this.inner.deregister(bufferId);
    this.registered.delete(bufferId);
    this.registeredBytes -= this.mapped.get(buffer)!;
  }

  unmap(buffer: ArrayBuffer): void {
    const bytes = this.mapped.get(buffer);
    if (bytes === undefined) throw new Error('ModelRegistrar: unmap of a buffer that is not mapped');
    for (const b of this.registered.values()) if (b === buffer) throw new Error('ModelRegistrar: unmap of a registered buffer');
    if (this.checks.held(buffer)) throw new Error('ModelRegistrar: unmap of a slab the model says is held');
    this.inner.unmap(buffer);
    this.mapped.delete(buffer);
    this.mappedBytes -= bytes;
  }

  close(): void {
    this.inner.close?.();
  }
}
