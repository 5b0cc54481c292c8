/**
 * riopool's process warnings, typed. A pool has no emitter of its own for what it wants the
 * operator to see: it uses Node's (process.emitWarning), as every library does, with the type
 * 'RiopoolWarning' and one code per kind. `isRiopoolWarning` narrows what `process.on('warning')`
 * hands a listener:
 *
 *   process.on('warning', (w) => { if (isRiopoolWarning(w, 'RIOPOOL_OVERFLOW')) alert(w.message); });
 */

/** What each warning code means (docs/api.md, "Warnings"). */
export const RiopoolWarningCodes = [
  /** The chosen backend failed and the pool stepped down to a weaker one, as `fallback` allowed. */
  'RIOPOOL_FALLBACK',
  /** The registration budget is spent: new slabs are overflow slabs (mapped, not registered). */
  'RIOPOOL_OVERFLOW',
  /** A lease was collected without its last release (leak detection; the slot was reclaimed). */
  'RIOPOOL_LEAK',
  /** A released slot was written (checked mode). */
  'RIOPOOL_WRITE_AFTER_RELEASE',
  /** pool.close() still waits (for leases, for connections) and the process has nothing else to run. */
  'RIOPOOL_CLOSE_PENDING',
  /** The io_uring refused a submit (a full completion queue, EAGAIN, ENOMEM): what was queued is retried. */
  'RIOPOOL_SUBMIT',
  /** A server could not accept (EMFILE: out of descriptors, ...) and has no 'error' listener: accepting pauses, then goes on. */
  'RIOPOOL_ACCEPT',
  /** A leak report from a finalizer reached an onReport that threw (what it threw is the message). */
  'RIOPOOL_ON_REPORT_THREW',
] as const;

export type RiopoolWarningCode = (typeof RiopoolWarningCodes)[number];

/** A warning riopool emitted: `name` is 'RiopoolWarning', `code` says which. */
export interface RiopoolWarning extends Error {
  readonly name: 'RiopoolWarning';
  readonly code: RiopoolWarningCode;
}

/** True for a warning riopool emitted (with `code`: of that code). Works across realms: it checks name and code. */
export function isRiopoolWarning(warning: unknown, code?: RiopoolWarningCode): warning is RiopoolWarning {
  if (typeof warning !== 'object' || warning === null) return false;
  try {
    const w = warning as { name?: unknown; code?: unknown };
    if (w.name !== 'RiopoolWarning' || !(RiopoolWarningCodes as readonly unknown[]).includes(w.code)) return false;
    return code === undefined || w.code === code;
  } catch {
    return false; // a revoked proxy, a getter that throws: not a warning of riopool's
  }
}

/** Emits one of riopool's warnings (for riopool's own modules). */
export function emitRiopoolWarning(code: RiopoolWarningCode, message: string): void {
  process.emitWarning(message, { type: 'RiopoolWarning', code });
}
