/**
 * The accept loop of one listening socket on the ring (the uring datapath's listen,
 * datapath-uring.ts): the accepts it keeps waiting, its state by name, and the transitions
 * between the states as methods. The socket is made and bound by the caller; the loop closes it
 * when it stops.
 *
 *   accepting  ACCEPTS accepts wait at once (as libuv accepts every pending connection per
 *              wake-up: one at a time, a burst of clients overflows the listen backlog while the
 *              server is busy); each completion arms the next, then hands its socket on
 *   paused     out of descriptors or kernel memory (EMFILE, ENFILE, ENOMEM, or an errno not known
 *              here), an accept fails at once and the connection stays in the backlog: re-armed
 *              at once, it would fail again in a busy loop. So none is re-armed (nginx does the
 *              same): one accept, a probe, is tried after 10 ms, then after twice as long each
 *              time it fails (at most 1 s); the first accept that succeeds re-arms them all. The
 *              pause is reported once; while it lasts the loop holds the reactor, so the ring
 *              stays open (pool.close() leaves it to server.close())
 *   broken     the listening socket itself failed (EBADF, ENOTSOCK, EINVAL, EFAULT): reported
 *              once, nothing re-armed
 *   stopping   stop() cancels the accepts in flight and a pause; the listening socket closes once
 *              every accept has completed (a socket accepted meanwhile is closed)
 *
 * A failure that concerns one connection (Linux passes on network errors of the new socket:
 * accept(2), "Error handling"; ECANCELED: a cancelled accept) changes nothing: the next accept
 * goes at once, as after a success. Tested on the ring in memory:
 * packages/pool/test/63.accept-loop.test.ts.
 */
import type { RioError } from '@riopool/core';
import type { Reactor } from './reactor';
import { errnoName, netError, resultError } from './transport';

/** Accepts a listening socket keeps waiting at once. */
export const ACCEPTS = 16;
/** The first wait before a probe, and the longest, in ms. */
export const FIRST_BACKOFF_MS = 10;
export const MAX_BACKOFF_MS = 1000;

/** Failures that concern one connection: the next accept goes at once. */
const ACCEPT_AGAIN = new Set(
  'ECONNABORTED EINTR EAGAIN EPROTO EPERM ENETDOWN ENOPROTOOPT EHOSTDOWN ENONET EHOSTUNREACH ENETUNREACH ECANCELED'.split(' '),
);
/** Failures of the listening socket itself: accepting stops. Any other failure pauses it. */
const ACCEPT_BROKEN = new Set('EBADF ENOTSOCK EINVAL EFAULT'.split(' '));

export type AcceptState = 'accepting' | 'paused' | 'broken' | 'stopping';

/** Where the loop's results go. */
export interface AcceptHandlers {
  /** Each accepted socket. May throw (an application's listener): the loop has re-armed first. */
  accepted(fd: number): void;
  /** An error of the listening socket: once when accepting pauses, once when it breaks. */
  failed(error: RioError): void;
}

export class AcceptLoop {
  #state: AcceptState = 'accepting';
  /** The accepts in flight, by op id. */
  readonly #accepts = new Set<number>();
  /** While paused: the wait before the next probe, in ms; 0 otherwise. */
  #backoff = 0;
  /** While paused with a probe due: its timer, and the reactor's hold that keeps the ring open. */
  #probe: { timer: ReturnType<typeof setTimeout>; release: () => void } | undefined;
  /** stop()'s promise (a second stop() returns it), and what resolves it. */
  #stopping: Promise<void> | undefined;
  #stopped: (() => void) | undefined;

  constructor(
    private readonly reactor: Reactor,
    /** The ring (only its plain socket call): closes a socket accepted while stopping, and the listening one. */
    private readonly ring: { closeSocket(fd: number): void },
    /** The listening socket. */
    readonly fd: number,
    private readonly handlers: AcceptHandlers,
  ) {}

  get state(): AcceptState {
    return this.#state;
  }

  /** Arms the first ACCEPTS accepts. Throws what the ring throws (the socket stays open). */
  start(): void {
    for (let i = 0; i < ACCEPTS; i++) this.#arm();
  }

  /** Any state -> stopping. Resolves once the listening socket is closed. */
  stop(): Promise<void> {
    this.#stopping ??= new Promise((resolve) => {
      this.#state = 'stopping';
      this.#stopped = resolve;
      this.#cancelProbe();
      for (const op of this.#accepts) this.reactor.cancel(op);
      this.#closeWhenIdle();
    });
    return this.#stopping;
  }

  #arm(): void {
    const op = this.reactor.accept(this.fd, (result) => {
      this.#accepts.delete(op);
      this.#completed(result);
    });
    this.#accepts.add(op);
  }

  /** One accept's completion: a new socket, or -errno. */
  #completed(result: number): void {
    if (this.#state === 'stopping') {
      if (result >= 0) this.ring.closeSocket(result);
      this.#closeWhenIdle();
      return;
    }
    const name = result < 0 ? (errnoName(-result) ?? '') : '';
    if (result >= 0 || ACCEPT_AGAIN.has(name)) {
      // The next accepts go first, so that a listener that throws (reported as an uncaught
      // exception) does not stop accepting.
      if (this.#state === 'paused') this.#resume();
      else if (this.#state === 'accepting') this.#arm();
      if (result >= 0) this.handlers.accepted(result);
    } else if (ACCEPT_BROKEN.has(name)) {
      // Every armed accept fails the same way: reported once.
      if (this.#state !== 'broken') this.#break(resultError(result, 'accept'));
    } else if (this.#state === 'accepting') {
      this.#pause(result);
    } else if (this.#state === 'paused' && this.#probe === undefined) {
      this.#backOff(); // the probe failed (or an accept armed before the pause)
    } // else: paused with a probe due (another accept failed first), or broken
  }

  /** accepting -> paused: nothing re-armed, a probe after FIRST_BACKOFF_MS, reported once. */
  #pause(result: number): void {
    this.#state = 'paused';
    this.#backoff = FIRST_BACKOFF_MS;
    this.#scheduleProbe();
    this.handlers.failed(resultError(result, 'accept (accepting pauses until one succeeds)'));
  }

  /** paused: the probe failed too; the next one after twice as long (at most MAX_BACKOFF_MS). */
  #backOff(): void {
    this.#backoff = Math.min(MAX_BACKOFF_MS, this.#backoff * 2);
    this.#scheduleProbe();
  }

  /** paused -> accepting: an accept succeeded; every accept re-armed. */
  #resume(): void {
    this.#state = 'accepting';
    this.#backoff = 0;
    this.#cancelProbe(); // one succeeded while a probe was due: no probe needed
    while (this.#accepts.size < ACCEPTS) this.#arm();
  }

  /** accepting or paused -> broken: reported, nothing re-armed. */
  #break(error: RioError): void {
    this.#state = 'broken';
    this.#backoff = 0;
    this.#cancelProbe();
    this.handlers.failed(error);
  }

  #scheduleProbe(): void {
    const release = this.reactor.hold();
    const timer = setTimeout(() => {
      this.#probe = undefined;
      try {
        this.#arm();
      } catch (e) {
        // The ring is gone (it is kept open while paused: not expected).
        const err = e as { code?: string; message: string };
        this.#break(netError(err.code, `accept: ${err.message}`, e));
      } finally {
        release();
      }
    }, this.#backoff);
    this.#probe = { timer, release };
  }

  #cancelProbe(): void {
    if (this.#probe === undefined) return;
    clearTimeout(this.#probe.timer);
    this.#probe.release();
    this.#probe = undefined;
  }

  /** stopping: the listening socket closes once no accept is in flight. */
  #closeWhenIdle(): void {
    if (this.#accepts.size > 0) return;
    this.ring.closeSocket(this.fd);
    this.#stopped!();
  }
}
