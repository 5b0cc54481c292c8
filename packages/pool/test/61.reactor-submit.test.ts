// The reactor when the kernel refuses a submit (EBUSY when its completion queue is full, EAGAIN,
// ENOMEM): nothing is thrown into the event loop, the operation stays queued and goes at the
// retry, and its lease stays held until its completion. On a ring in memory (fake-ring.ts),
// whose submit the test makes fail.
import type { MemoryRegistrar } from '@riopool/core';
import { createMemoryPool } from '@riopool/pool/testing';
import { Reactor } from '../src/io/reactor';
import { allocatorOf } from '../src/pool';
import { FakeRing } from './fake-ring';

class RefusingRing extends FakeRing {
  refusals = 0;
  override submit(): number {
    if (this.refusals > 0) {
      this.refusals--;
      throw Object.assign(new Error('io_uring_enter: Device or resource busy'), { code: 'EBUSY' });
    }
    return super.submit();
  }
}

test('a refused submit is retried, reported once, and throws nothing; the lease is held until its completion', async () => {
  const pool = createMemoryPool();
  const ring = new RefusingRing(allocatorOf(pool).registrar as MemoryRegistrar);
  const reactor = new Reactor(ring);
  const reported: unknown[] = [];
  reactor.onSubmitError = (e) => reported.push(e);
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  process.on('uncaughtException', onUncaught);
  try {
    ring.refusals = 3;
    const lease = pool.acquire(64);
    let result: number | undefined;
    reactor.send(5, lease, lease.buf.bufferId, lease.buf.offset, 64, (r) => (result = r));
    lease.release(); // the operation's own reference keeps the slot
    await new Promise<void>((resolve) => {
      const wait = () => (ring.inKernel.length > 0 ? resolve() : setTimeout(wait, 5));
      wait();
    });
    expect(ring.refusals).toBe(0);
    expect(reactor.submitRefusals).toBe(3);
    expect(reported).toHaveLength(1);
    expect(pool.stats().totals.leased).toBe(1);
    ring.completeBatch([0], 64); // the first operation in the kernel completes, 64 bytes sent
    expect(result).toBe(64);
    expect(pool.stats().totals.leased).toBe(0);
    expect(uncaught).toEqual([]);
  } finally {
    process.off('uncaughtException', onUncaught);
  }
  await pool.close();
});
