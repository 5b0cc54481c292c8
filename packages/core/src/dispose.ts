/**
 * Symbol.dispose and Symbol.asyncDispose, for `using` / `await using` (TypeScript 5.2+, and
 * JavaScript on Node 24+). Node defines both from 20.4 (and 18.18) on, before JavaScript had
 * them, as Symbol.for('nodejs.dispose') and Symbol.for('nodejs.asyncDispose'); Node 24's V8 has
 * its own. A Node 20 older than 20.4 has neither: this module defines them as Node does, so the
 * methods riopool's classes declare with these keys are the ones every later Node and
 * TypeScript's `using` helpers call. Import it before declaring such a method.
 */
const S = Symbol as unknown as Record<'dispose' | 'asyncDispose', symbol | undefined>;
if (typeof S.dispose !== 'symbol') Object.defineProperty(Symbol, 'dispose', { value: Symbol.for('nodejs.dispose') });
if (typeof S.asyncDispose !== 'symbol') Object.defineProperty(Symbol, 'asyncDispose', { value: Symbol.for('nodejs.asyncDispose') });

/** util.inspect's hook, without importing node:util (Node defines it as this registered symbol). */
export const inspectCustom = Symbol.for('nodejs.util.inspect.custom');
