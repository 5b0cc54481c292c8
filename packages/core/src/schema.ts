/**
 * Options schemas: one per public function, checked up front, before anything is taken.
 *
 *   const o = readOptions('createPool', options, { checked: bool, onReport: fn, ... });
 *
 * readOptions reads every key of `options` once (a getter runs once; a revoked proxy or a getter
 * that throws is an ERR_RIO_INVALID_OPTION, not a TypeError), refuses a key the schema does not
 * name (a typo such as `maxbytes`), and checks each value against its rule. `undefined` means
 * "the default"; `null` is refused for every key, before its rule runs (a rule that leaves the
 * value to a later check must not let `null` reach a `??` that takes it as the default). The result is a
 * plain copy the caller uses from then on, so the checked values are the used ones.
 *
 * A rule returns undefined for a good value, else what the value must be ("must be a boolean").
 * The error message names the function, the key and the value: `createPool: onReport: 42 must be
 * a function`.
 */
import { RioError } from './errors';

export type Rule = (value: unknown) => string | undefined;
export type Schema = Readonly<Record<string, Rule>>;

/** A value as an error message shows it; never throws (a revoked proxy, a symbol, a BigInt). */
export function shown(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
    case 'bigint':
      return `${value}n`;
    case 'number':
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    default:
      if (value === null) return 'null';
      try {
        return Array.isArray(value) ? 'an array' : 'an object';
      } catch {
        return 'a revoked proxy';
      }
  }
}

export function invalidOption(fn: string, key: string, value: unknown, rule: string): RioError {
  return new RioError('ERR_RIO_INVALID_OPTION', `${fn}: ${key}: ${shown(value)} ${rule}`);
}

/** Checks one value against its rule: an ERR_RIO_INVALID_OPTION naming the function, the key and the value. */
export function checkValue(fn: string, key: string, value: unknown, rule: Rule): void {
  const broken = rule(value);
  if (broken !== undefined) throw invalidOption(fn, key, value, broken);
}

/** Checks `options` against `schema` and returns a plain copy of its keys; see the file's comment. */
export function readOptions<T extends object>(fn: string, options: unknown, schema: Schema): Partial<T> {
  if (options === undefined) return {};
  let isArray: boolean;
  try {
    isArray = Array.isArray(options); // throws for a revoked proxy
  } catch (cause) {
    throw new RioError('ERR_RIO_INVALID_OPTION', `${fn}: options could not be read`, { cause });
  }
  if (options === null || typeof options !== 'object' || isArray) {
    throw new RioError('ERR_RIO_INVALID_OPTION', `${fn}: options: ${shown(options)} must be an object`);
  }
  const copy: Record<string, unknown> = {};
  let keys: string[];
  try {
    keys = Object.keys(options);
  } catch (cause) {
    throw new RioError('ERR_RIO_INVALID_OPTION', `${fn}: options could not be read`, { cause });
  }
  for (const key of keys) {
    if (!Object.hasOwn(schema, key)) {
      throw new RioError('ERR_RIO_INVALID_OPTION', `${fn}: ${key}: unknown option (known: ${Object.keys(schema).join(', ')})`);
    }
    let value: unknown;
    try {
      value = (options as Record<string, unknown>)[key];
    } catch (cause) {
      throw new RioError('ERR_RIO_INVALID_OPTION', `${fn}: ${key}: could not be read`, { cause });
    }
    if (value === undefined) continue;
    if (value === null) throw invalidOption(fn, key, value, 'is not a value: leave the key out (or undefined) for the default');
    checkValue(fn, key, value, schema[key]!);
    copy[key] = value;
  }
  return copy as Partial<T>;
}

/** Rules. */
export const is = {
  bool: ((v) => (typeof v === 'boolean' ? undefined : 'must be a boolean')) as Rule,
  fn: ((v) => (typeof v === 'function' ? undefined : 'must be a function')) as Rule,
  string: ((v) => (typeof v === 'string' ? undefined : 'must be a string')) as Rule,
  /** An integer from min to max (Infinity allowed where max is Infinity: "of at least min"). */
  int(min: number, max: number): Rule {
    const rule = max === Infinity ? `must be an integer of at least ${min}` : `must be an integer from ${min} to ${max}`;
    return (v) =>
      typeof v === 'number' && (Number.isInteger(v) || (v === Infinity && max === Infinity)) && v >= min && v <= max ? undefined : rule;
  },
  /** A number (not NaN) of at least min. */
  atLeast(min: number): Rule {
    return (v) => (typeof v === 'number' && v >= min ? undefined : `must be a number >= ${min}`);
  },
  oneOf(...values: readonly unknown[]): Rule {
    return (v) => (values.includes(v) ? undefined : `must be one of ${values.map(shown).join(', ')}`);
  },
  /** Any value: another check (resolveOptions, openBackend) owns it; the schema only names the key. */
  checkedElsewhere: (() => undefined) as Rule,
};

/** `value instanceof Ctor`, false instead of a TypeError for a revoked proxy. */
export function isInstance<T>(value: unknown, Ctor: { prototype: T }): value is T {
  try {
    return value instanceof (Ctor as unknown as abstract new () => T); // a class, private constructor or not
  } catch {
    return false;
  }
}
