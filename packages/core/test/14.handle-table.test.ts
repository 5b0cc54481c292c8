/**
 * The handle table alone (handle-table.ts): a handle names its location until redeemed once;
 * stale, forged and foreign handles are refused with a typed error and change nothing.
 */
import fc from 'fast-check';
import { HandleTable, MAX_ENTRIES, TAG_MAX } from '@riopool/core';
import { propertyParams } from '../../../test/support';

/** The code redeem refused `h` with (it must refuse it). */
function refused(t: HandleTable, h: unknown): string {
  try {
    t.redeem(h as number);
  } catch (e) {
    return (e as { code: string }).code;
  }
  throw new Error(`redeem accepted ${String(h)}`);
}

function issue(t: HandleTable, location: number): number {
  if (t.freeHead < 0) t.reserve();
  return t.issue(location);
}

test('a handle redeems to its location once; a second redeem is refused as released', () => {
  const t = new HandleTable();
  const h = issue(t, 12345);
  expect(h).toBeGreaterThanOrEqual(MAX_ENTRIES); // the tag is never 0: no handle is below 2^20
  expect(h | 0).toBe(h);
  expect(t.redeem(h)).toBe(12345);
  expect(refused(t, h)).toBe('ERR_RIO_RELEASED');
  expect(t.wasIssued(h)).toBe(true);
  t.checkTable();
});

test('a stale handle misses after its entry is reused, until its tag comes round (TAG_MAX releases)', () => {
  const t = new HandleTable();
  const first = issue(t, 7);
  t.redeem(first);
  const second = issue(t, 8); // the same entry, the next tag
  expect(second & (MAX_ENTRIES - 1)).toBe(first & (MAX_ENTRIES - 1));
  expect(second).not.toBe(first);
  expect(refused(t, first)).toBe('ERR_RIO_RELEASED');
  expect(t.inUse).toBe(1);
  expect(t.redeem(second)).toBe(8);
  // Two releases so far; TAG_MAX - 2 more bring the entry's tag back to the first handle's.
  for (let i = 0; i < TAG_MAX - 2; i++) t.redeem(issue(t, 9));
  expect(issue(t, 10)).toBe(first); // wrapped: documented limit of an 11-bit tag
});

test('forged values are refused (ERR_RIO_INVALID_BUFFER) and change nothing', () => {
  const t = new HandleTable();
  const h = issue(t, 3);
  for (const bad of [-1, 0, 1, h + 0.5, NaN, Infinity, 2 ** 31, h ^ 1, h + MAX_ENTRIES * 5, '1', 1n, {}, null, undefined]) {
    expect(refused(t, bad)).toBe('ERR_RIO_INVALID_BUFFER');
  }
  expect(t.inUse).toBe(1);
  expect(t.redeem(h)).toBe(3);
  t.checkTable();
});

test("another table's handles miss (tags start elsewhere per table)", () => {
  const a = new HandleTable();
  const b = new HandleTable();
  const ha = issue(a, 1);
  issue(b, 2);
  expect(refused(b, ha)).toBe('ERR_RIO_INVALID_BUFFER');
  expect(a.redeem(ha)).toBe(1);
});

test('the table grows past its first capacity and keeps every live handle', () => {
  const t = new HandleTable();
  const live = Array.from({ length: 1000 }, (_, i) => issue(t, i * 3));
  t.checkTable();
  live.forEach((h, i) => expect(t.redeem(h)).toBe(i * 3));
  expect(t.inUse).toBe(0);
  t.checkTable();
});

test('any order of issues and redeems: live handles redeem to their own location, released ones are refused', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(), fc.nat({ max: 0x7fffffff })), { maxLength: 300 }), (steps) => {
      const t = new HandleTable();
      const live = new Map<number, number>();
      const dead: number[] = [];
      for (const [doIssue, pick, location] of steps) {
        if (doIssue || live.size === 0) {
          const h = issue(t, location);
          expect(live.has(h)).toBe(false); // no two live handles alike
          live.set(h, location);
        } else {
          const h = [...live.keys()][pick % live.size]!;
          expect(t.redeem(h)).toBe(live.get(h));
          live.delete(h);
          dead.push(h);
        }
        const d = dead[pick % Math.max(dead.length, 1)];
        if (d !== undefined && !live.has(d)) expect(refused(t, d)).toBe('ERR_RIO_RELEASED');
      }
      expect(t.inUse).toBe(live.size);
      t.checkTable();
    }),
    propertyParams('handle table', 200),
  );
});
