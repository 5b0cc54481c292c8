/**
 * Advice for a refused lock or pin. The addon reports facts (which limit refused, its value:
 * `error.limit`, `error.limitBytes`); how to raise it is written here, in one place.
 */
import type { NativeError } from './index';

/** What to do about a limit the addon named, or undefined when the error names none. */
export function limitAdvice(e: Pick<NativeError, 'limit' | 'limitBytes'>): string | undefined {
  if (e.limit === undefined) return undefined;
  const value = e.limitBytes === null || e.limitBytes === undefined ? 'unlimited' : `${Math.floor(e.limitBytes / 1024)} KiB`;
  if (e.limit === 'RLIMIT_MEMLOCK') {
    return (
      `locked and pinned memory is limited by RLIMIT_MEMLOCK (soft limit ${value}). Raise it with ` +
      '`ulimit -l <KiB>` (or `unlimited`) in the shell that starts node, LimitMEMLOCK= in a systemd unit, ' +
      'a memlock line in /etc/security/limits.conf, or grant CAP_IPC_LOCK; or make the pool smaller (maxBytes).'
    );
  }
  return `locked memory is limited by ${e.limit} (${value}). Raise it with SetProcessWorkingSetSize(Ex), or make the pool smaller (maxBytes).`;
}
