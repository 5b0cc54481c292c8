/**
 * What to do about an addon error. The addon's messages state facts (what failed, the errno,
 * and for a refused lock or pin the limit's name and value: `error.limit`, `error.limitBytes`);
 * the advice is written here, in one place, and the pool appends it to the RioError's message.
 */
import type { NativeError } from './types';

/** How to raise a limit the addon named, or undefined when the error names none. */
export function limitAdvice(e: Pick<NativeError, 'limit' | 'limitBytes'>): string | undefined {
  if (e.limit === undefined) return undefined;
  const value = e.limitBytes === null || e.limitBytes === undefined ? 'unlimited' : `${Math.floor(e.limitBytes / 1024)} KiB`;
  if (e.limit === 'RLIMIT_MEMLOCK') {
    return (
      `locked and pinned memory is limited by RLIMIT_MEMLOCK (soft limit ${value}); io_uring counts every process of this user against it. Raise it with ` +
      '`ulimit -l <KiB>` (or `unlimited`) in the shell that starts node, LimitMEMLOCK= in a systemd unit, ' +
      'a memlock line in /etc/security/limits.conf, `--ulimit memlock=...` for a container, or grant CAP_IPC_LOCK; or make the pool smaller (maxBytes).'
    );
  }
  return `locked memory is limited by ${e.limit} (${value}). Raise it with SetProcessWorkingSetSize(Ex), or make the pool smaller (maxBytes).`;
}

/** What the call that failed was doing, for the advice that depends on it. */
export type NativeCall = 'open' | 'register' | 'deregister' | 'unmap' | 'other';

/** Advice for an addon error raised by `call`, or undefined when there is none to give. */
export function adviceFor(e: Pick<NativeError, 'code' | 'limit' | 'limitBytes'>, call: NativeCall = 'other'): string | undefined {
  const limit = limitAdvice(e);
  if (limit !== undefined) return limit;
  if (e.code === 'ENOSPC' && call === 'register') return 'group buffers into fewer, larger registrations (a larger slabBytes)';
  if (e.code === 'EPERM' && call === 'open') return 'io_uring may be disabled here: see the kernel.io_uring_disabled sysctl';
  if (e.code === 'EBUSY' && call === 'deregister') return 'deregister once the operations in flight on it have completed';
  if (e.code === 'EBUSY' && call === 'unmap') return 'deregister the mapping before unmapping it';
  return undefined;
}
