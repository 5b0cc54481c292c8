/**
 * The one error class of riopool, with a stable `code` per failure (docs/design.md, "Errors").
 * The codes make the error table of Windows' RIORegisterBuffer explicit:
 *
 *   ERR_RIO_INVALID_LENGTH          zero, negative, non-integer or too large length (WSAEINVAL)
 *   ERR_RIO_INVALID_BUFFER          a buffer, lease or handle that is not the pool's (WSAEFAULT)
 *   ERR_RIO_RELEASED                release or use of a lease that is already released
 *   ERR_RIO_POOL_CLOSED             the pool is closed or closing
 *   ERR_RIO_POOL_EXHAUSTED          maxBytes reached
 *   ERR_RIO_MEMLOCK                 the OS refused to lock or pin; the message names the limit
 *   ERR_RIO_TOO_MANY_REGISTRATIONS  the backend's registration table is full
 *   ERR_RIO_INVALID_OPTION          a pool option that makes no sense
 *   ERR_RIO_BACKEND                 any other failure of the OS below (the cause is attached)
 *   ERR_RIO_CONNECTION_CLOSED       write or end on a connection that is closed or closing
 *   ERR_RIO_DATAPATH                the datapath asked for cannot run here (the message says why)
 *   ERR_RIO_NO_ADDON                no native addon fits this platform, or the one found does not load
 *   ERR_RIO_OUTSTANDING             a bounded pool.close() stopped waiting: leases or connections are still out
 *
 * Connections fail with the socket's own error name as the code (ECONNRESET, EPIPE, ...), as
 * node:net does; NetErrorCodes lists them, and EIO stands for any other.
 */
export const ErrorCodes = [
  'ERR_RIO_INVALID_LENGTH',
  'ERR_RIO_INVALID_BUFFER',
  'ERR_RIO_RELEASED',
  'ERR_RIO_POOL_CLOSED',
  'ERR_RIO_POOL_EXHAUSTED',
  'ERR_RIO_MEMLOCK',
  'ERR_RIO_TOO_MANY_REGISTRATIONS',
  'ERR_RIO_INVALID_OPTION',
  'ERR_RIO_BACKEND',
  'ERR_RIO_CONNECTION_CLOSED',
  'ERR_RIO_DATAPATH',
  'ERR_RIO_NO_ADDON',
  'ERR_RIO_OUTSTANDING',
] as const;

/** Socket errors a connection or server reports, by their errno names. */
export const NetErrorCodes = [
  'ECONNRESET',
  'EPIPE',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRINUSE',
  'EADDRNOTAVAIL',
  'EACCES',
  'EMFILE',
  'ENFILE',
  'ENOTFOUND',
  'EIO',
] as const;

export type NetErrorCode = (typeof NetErrorCodes)[number];
export type RioErrorCode = (typeof ErrorCodes)[number] | NetErrorCode;

export class RioError extends Error {
  readonly code: RioErrorCode;

  constructor(code: RioErrorCode, message: string, options?: { cause?: unknown }) {
    // Never throws while being made: a message or options that cannot be read are shown as such.
    let text: string;
    try {
      text = String(message);
    } catch {
      text = '(a message that could not be converted to a string)';
    }
    let cause: { cause?: unknown } | undefined;
    try {
      cause = typeof options === 'object' && options !== null && 'cause' in options ? { cause: options.cause } : undefined;
    } catch {
      cause = undefined;
    }
    super(text, cause);
    this.name = 'RioError';
    this.code = code;
  }
}

/** True for a RioError from any copy of this module (or any realm). */
export function isRioError(e: unknown, code?: RioErrorCode): e is RioError {
  if (typeof e !== 'object' || e === null) return false;
  try {
    const c = (e as { code?: unknown }).code;
    return (e as Error).name === 'RioError' && typeof c === 'string' && (code === undefined || c === code);
  } catch {
    return false; // a revoked proxy, a getter that throws: not a RioError
  }
}

// The allocator's errors (allocator.ts). Its hot functions throw what these make: a cold path in a
// function of its own keeps the hot ones small enough to inline.
export function invalidLength(length: unknown, max: number): RioError {
  const got = typeof length === 'number' ? length : typeof length;
  return new RioError('ERR_RIO_INVALID_LENGTH', `length must be an integer from 1 to ${max}, got ${got}`);
}
export function poolClosed(): RioError {
  return new RioError('ERR_RIO_POOL_CLOSED', 'the pool is closed');
}
export function notAnOut(): RioError {
  return new RioError('ERR_RIO_INVALID_BUFFER', 'acquireInto: out must be an object to write the RioBuf into');
}
export function outNotWritable(cause: unknown): RioError {
  return new RioError(
    'ERR_RIO_INVALID_BUFFER',
    'acquireInto: out must take bufferId, offset and length (a plain object; not frozen, sealed, a Lease or a typed array)',
    { cause },
  );
}
export function notAHandle(what: string, handle: unknown): RioError {
  const shown =
    typeof handle === 'number' || typeof handle === 'bigint' ? `${String(handle)}${typeof handle === 'bigint' ? 'n' : ''}` : typeof handle;
  return new RioError('ERR_RIO_INVALID_BUFFER', `${what}: ${shown} is not a handle of this pool`);
}
