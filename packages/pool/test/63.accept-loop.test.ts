// The accept loop's states and transitions (packages/pool/src/io/accept-loop.ts) on a ring in
// memory (fake-ring.ts, AcceptRing), whose accepts complete with the results each test gives:
// a success re-arms, a failure of one connection re-arms, out of descriptors pauses with a
// backoff of probes, a failure of the listening socket breaks the loop, and stop() closes the
// listening socket once its accepts have completed. Timers are jest's fake ones, so each backoff
// is checked to the millisecond. The same paths against the kernel, out of descriptors in a child
// process: 96.out-of-descriptors.test.ts.
import * as os from 'node:os';
import type { MemoryRegistrar, RioError } from '@riopool/core';
import { createMemoryPool } from '@riopool/pool/testing';
import { ACCEPTS, AcceptLoop, FIRST_BACKOFF_MS, MAX_BACKOFF_MS } from '../src/io/accept-loop';
import { Reactor } from '../src/io/reactor';
import { allocatorOf } from '../src/pool';
import { AcceptRing } from './fake-ring';

const { EMFILE, ENFILE, ENOMEM, EBADF, ENOTSOCK, EINVAL, EFAULT, ECONNABORTED, EPROTO } = os.constants.errno;
const LISTENING = 77;

let pool: ReturnType<typeof createMemoryPool>;
beforeEach(() => {
  jest.useFakeTimers({ doNotFake: ['queueMicrotask', 'nextTick'] });
  pool = createMemoryPool();
});
afterEach(async () => {
  jest.useRealTimers();
  await pool.close();
});

/** A started loop on a fake ring, its accepts submitted; `onAccepted` runs for each socket handed on. */
function started(onAccepted: (fd: number) => void = () => {}) {
  const ring = new AcceptRing(allocatorOf(pool).registrar as MemoryRegistrar);
  const reactor = new Reactor(ring);
  const accepted: number[] = [];
  const failed: RioError[] = [];
  /** Accepts in flight when each socket was handed on. */
  const armedAtHandOver: number[] = [];
  const loop = new AcceptLoop(reactor, ring, LISTENING, {
    accepted: (fd) => {
      accepted.push(fd);
      armedAtHandOver.push(ring.accepts);
      onAccepted(fd);
    },
    failed: (e) => failed.push(e),
  });
  loop.start();
  reactor.flush();
  /** Lets `ms` pass, then submits what the timers queued. */
  const advance = (ms: number) => {
    jest.advanceTimersByTime(ms);
    reactor.flush();
  };
  /** Completes accepts with these results, then submits what the loop queued. */
  const complete = (...results: number[]) => {
    ring.completeAccepts(...results);
    reactor.flush();
  };
  return { ring, reactor, loop, accepted, failed, armedAtHandOver, advance, complete };
}

/** Fails every accept in flight with `errno` (out of descriptors: every connection waiting fails so). */
function failAll(t: ReturnType<typeof started>, errno: number): void {
  t.complete(...Array.from({ length: t.ring.accepts }, () => -errno));
}

test(`accepting: ${ACCEPTS} accepts wait at once; each success re-arms before the socket is handed on`, () => {
  const t = started();
  expect(t.loop.state).toBe('accepting');
  expect(t.ring.accepts).toBe(ACCEPTS);
  t.complete(10, 11, 12);
  expect(t.accepted).toEqual([10, 11, 12]);
  expect(t.armedAtHandOver.every((n) => n > ACCEPTS - 3)).toBe(true); // re-armed before each hand-over
  expect(t.ring.accepts).toBe(ACCEPTS);
  expect(t.failed).toEqual([]);
});

test.each([
  ['ECONNABORTED', ECONNABORTED],
  ['EPROTO', EPROTO],
])('accepting: a failure of one connection (%s) re-arms at once, reports nothing', (_, errno) => {
  const t = started();
  t.complete(-errno, -errno);
  expect(t.loop.state).toBe('accepting');
  expect(t.ring.accepts).toBe(ACCEPTS);
  expect(t.failed).toEqual([]);
  expect(t.accepted).toEqual([]);
});

test('a listener that throws: the next accept is armed already, and accepting goes on', () => {
  const t = started((fd) => {
    throw new Error(`listener bug ${fd}`);
  });
  // The reactor dispatches the whole batch, then rethrows the first exception (as uncaught).
  expect(() => t.ring.completeAccepts(30, 31)).toThrow('listener bug 30');
  t.reactor.flush();
  expect(t.accepted).toEqual([30, 31]);
  expect(t.loop.state).toBe('accepting');
  expect(t.ring.accepts).toBe(ACCEPTS);
});

describe.each([
  ['EMFILE', EMFILE, 'EMFILE'],
  ['ENFILE', ENFILE, 'ENFILE'],
  ['ENOMEM', ENOMEM, 'EIO'],
  ['an errno not known here', 4095, 'EIO'],
])('out of descriptors or memory (%s)', (_, errno, code) => {
  test('pauses: reported once, nothing re-armed, the reactor held; probes back off 10, 20, 40 ... 1000 ms', () => {
    const t = started();
    t.complete(-errno);
    expect(t.loop.state).toBe('paused');
    expect(t.failed).toHaveLength(1);
    expect(t.failed[0]!.message).toContain('accepting pauses until one succeeds');
    expect(t.failed[0]!.code).toBe(code);
    expect(t.ring.accepts).toBe(ACCEPTS - 1); // not re-armed
    // The others fail as well while paused: not reported, not re-armed.
    failAll(t, errno);
    expect(t.failed).toHaveLength(1);
    expect(t.ring.accepts).toBe(0);
    expect(t.reactor.pending).toBe(1); // the pause's hold keeps the ring open
    // Each probe is one accept, after the backoff; each failed probe doubles it, up to 1 s.
    const waits = [10, 20, 40, 80, 160, 320, 640, 1000, 1000];
    expect(waits[0]).toBe(FIRST_BACKOFF_MS);
    for (const wait of waits) {
      t.advance(wait - 1);
      expect(t.ring.accepts).toBe(0);
      t.advance(1);
      expect(t.ring.accepts).toBe(1);
      t.complete(-errno);
      expect(t.loop.state).toBe('paused');
    }
    expect(waits.at(-1)).toBe(MAX_BACKOFF_MS);
    expect(t.failed).toHaveLength(1);
    // A probe that succeeds resumes: every accept re-armed, the socket handed on, the hold let go.
    t.advance(MAX_BACKOFF_MS);
    t.complete(40);
    expect(t.loop.state).toBe('accepting');
    expect(t.accepted).toEqual([40]);
    expect(t.ring.accepts).toBe(ACCEPTS);
    expect(t.reactor.pending).toBe(ACCEPTS);
    // Accepting again, the next pause starts over at 10 ms, and is reported again.
    t.complete(-errno);
    expect(t.failed).toHaveLength(2);
    failAll(t, errno);
    t.advance(FIRST_BACKOFF_MS);
    expect(t.ring.accepts).toBe(1);
  });

  test('an accept armed before the pause that succeeds while a probe is due resumes at once; the probe is dropped', () => {
    const t = started();
    t.complete(-errno);
    t.complete(50);
    expect(t.loop.state).toBe('accepting');
    expect(t.accepted).toEqual([50]);
    expect(t.ring.accepts).toBe(ACCEPTS);
    expect(t.reactor.pending).toBe(ACCEPTS); // the hold is let go
    t.advance(10 * MAX_BACKOFF_MS);
    expect(t.ring.accepts).toBe(ACCEPTS); // no probe
  });

  test('a failure of one connection while paused resumes too (as a success does)', () => {
    const t = started();
    t.complete(-errno);
    t.complete(-ECONNABORTED);
    expect(t.loop.state).toBe('accepting');
    expect(t.ring.accepts).toBe(ACCEPTS);
  });
});

describe.each([
  ['EBADF', EBADF],
  ['ENOTSOCK', ENOTSOCK],
  ['EINVAL', EINVAL],
  ['EFAULT', EFAULT],
])('the listening socket fails (%s)', (name, errno) => {
  test('broken: reported once, nothing re-armed, nothing probed', () => {
    const t = started();
    t.complete(-errno);
    expect(t.loop.state).toBe('broken');
    expect(t.failed.map((e) => e.code)).toEqual(['EIO']);
    expect(t.failed[0]!.message).toBe(`accept: ${name} (errno ${errno})`);
    expect(t.ring.accepts).toBe(ACCEPTS - 1);
    // An out-of-descriptors failure after it does not pause a broken loop, nor a success re-arm it.
    t.complete(-EMFILE, 90);
    expect(t.loop.state).toBe('broken');
    expect(t.accepted).toEqual([90]); // the connection is handed on all the same
    expect(t.reactor.pending).toBe(ACCEPTS - 3); // no hold
    failAll(t, errno); // every armed accept fails the same way
    expect(t.failed).toHaveLength(1);
    expect(t.ring.accepts).toBe(0);
    t.advance(10 * MAX_BACKOFF_MS);
    expect(t.ring.accepts).toBe(0);
    expect(t.reactor.pending).toBe(0);
  });

  test('while paused with a probe due: broken, the probe dropped and the hold let go', () => {
    const t = started();
    t.complete(-EMFILE); // paused, a probe due in 10 ms; the other accepts still armed
    t.complete(-errno); // one of them finds the socket broken
    expect(t.loop.state).toBe('broken');
    expect(t.failed).toHaveLength(2);
    expect(t.reactor.pending).toBe(ACCEPTS - 2); // no hold
    t.advance(10 * MAX_BACKOFF_MS);
    expect(t.ring.accepts).toBe(ACCEPTS - 2); // no probe
  });

  test('a probe that finds the socket broken: broken, no further probe', () => {
    const t = started();
    t.complete(-EMFILE);
    failAll(t, EMFILE);
    t.advance(FIRST_BACKOFF_MS);
    t.complete(-errno); // the probe finds the socket broken
    expect(t.loop.state).toBe('broken');
    expect(t.failed).toHaveLength(2);
    expect(t.reactor.pending).toBe(0);
    t.advance(10 * MAX_BACKOFF_MS);
    expect(t.ring.accepts).toBe(0);
  });
});

test('paused -> broken when the ring refuses the probe: reported with the ring error, the hold let go', () => {
  const t = started();
  t.complete(-EMFILE);
  failAll(t, EMFILE);
  t.ring.refuseAccept = Object.assign(new Error('the backend is closed'), { code: 'EBADF' });
  t.advance(FIRST_BACKOFF_MS);
  expect(t.loop.state).toBe('broken');
  expect(t.failed.map((e) => e.code)).toEqual(['EMFILE', 'EIO']);
  expect(t.failed[1]!.message).toBe('accept: the backend is closed');
  expect(t.reactor.pending).toBe(0);
});

describe('stop()', () => {
  test('accepting -> stopping: the accepts are cancelled, the listening socket closes once they have completed', async () => {
    const t = started();
    const stopped = t.loop.stop();
    expect(t.loop.stop()).toBe(stopped); // a second stop returns the first one's promise
    expect(t.loop.state).toBe('stopping');
    t.reactor.flush();
    // One accept completes with a socket before its cancel: that socket is closed, not handed on.
    t.complete(60);
    expect(t.accepted).toEqual([]);
    expect(t.ring.closedSockets).toEqual([60]);
    t.ring.completeCancels();
    expect(t.ring.closedSockets).toEqual([60, LISTENING]);
    await expect(stopped).resolves.toBeUndefined();
    expect(t.ring.accepts).toBe(0);
    expect(t.reactor.pending).toBe(0);
  });

  test('paused -> stopping with no accept in flight: the probe dropped, the hold let go, the socket closed at once', async () => {
    const t = started();
    t.complete(-EMFILE);
    failAll(t, EMFILE);
    expect(t.reactor.pending).toBe(1);
    await t.loop.stop();
    expect(t.ring.closedSockets).toEqual([LISTENING]);
    expect(t.reactor.pending).toBe(0);
    t.advance(10 * MAX_BACKOFF_MS);
    expect(t.ring.accepts).toBe(0);
  });

  test('paused with a probe in flight -> stopping: the socket closes once the probe has completed', async () => {
    const t = started();
    t.complete(-EMFILE);
    failAll(t, EMFILE);
    t.advance(FIRST_BACKOFF_MS);
    const stopped = t.loop.stop();
    t.reactor.flush();
    expect(t.ring.closedSockets).toEqual([]);
    t.ring.completeCancels();
    expect(t.ring.closedSockets).toEqual([LISTENING]);
    await stopped;
  });

  test('broken -> stopping', async () => {
    const t = started();
    t.complete(-EBADF);
    failAll(t, EBADF);
    await t.loop.stop();
    expect(t.loop.state).toBe('stopping');
    expect(t.ring.closedSockets).toEqual([LISTENING]);
  });
});
