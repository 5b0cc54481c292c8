/**
 * Typed event emitters: node:events' EventEmitter, with the event names and listener arguments
 * of one emitter written down, so TypeScript rejects `conn.on('dta', ...)` (TS2345: '"dta"' is
 * not assignable to the emitter's event names) and a listener of the wrong shape.
 *
 *   interface ConnectionEvents { data: [lease: Lease]; close: [hadError: boolean]; ... }
 *   class Connection extends TypedEmitter<ConnectionEvents> { ... }
 *
 * At run time TypedEmitter *is* EventEmitter (the same constructor, cast): nothing is added to
 * an emit, and `instanceof EventEmitter`, `events.once(conn, 'close')` and `events.on(...)` work
 * as on any emitter. Only the declarations differ: every method that takes an event name takes
 * one of the map's keys, and every listener has that event's arguments. The declarations do not
 * depend on @types/node's own (generic since 20.11) EventEmitter typings, so a consumer on an
 * older @types/node gets the same checks.
 */
import { EventEmitter } from 'node:events';

/** Event name -> the listener's arguments, as a labelled tuple. */
export type EventMap<E> = { [K in keyof E]: unknown[] };

/** The event names of `E` (its string and symbol keys: the names node:events takes). */
export type EventName<E> = keyof E & (string | symbol);

type Listener<E extends EventMap<E>, K extends keyof E> = (...args: E[K]) => void;

/** EventEmitter whose events are the keys of `E` (see the file's comment). */
export interface TypedEmitter<E extends EventMap<E>> extends EventEmitter {
  on<K extends EventName<E>>(event: K, listener: Listener<E, K>): this;
  addListener<K extends EventName<E>>(event: K, listener: Listener<E, K>): this;
  prependListener<K extends EventName<E>>(event: K, listener: Listener<E, K>): this;
  once<K extends EventName<E>>(event: K, listener: Listener<E, K>): this;
  prependOnceListener<K extends EventName<E>>(event: K, listener: Listener<E, K>): this;
  off<K extends EventName<E>>(event: K, listener: Listener<E, K>): this;
  removeListener<K extends EventName<E>>(event: K, listener: Listener<E, K>): this;
  removeAllListeners(event?: EventName<E>): this;
  emit<K extends EventName<E>>(event: K, ...args: E[K]): boolean;
  listenerCount<K extends EventName<E>>(event: K, listener?: Listener<E, K>): number;
  listeners<K extends EventName<E>>(event: K): Listener<E, K>[];
  rawListeners<K extends EventName<E>>(event: K): Listener<E, K>[];
  eventNames(): EventName<E>[];
}

/** The constructor: EventEmitter itself, typed for the event map `E`. */
export const TypedEmitter: new <E extends EventMap<E>>() => TypedEmitter<E> = EventEmitter as never;
