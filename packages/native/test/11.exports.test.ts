/**
 * docs/native.md's export table is the addon's contract: every export and every member of the
 * Backend and Ring classes it names exists in the loaded addon, and the addon has nothing it
 * does not name.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { native } from './helpers';

const DOC = fs.readFileSync(path.join(__dirname, '../../../docs/native.md'), 'utf8');

/** The first column of the export table: every `name` and `owner.name` it mentions. */
function documented(): { exports: Set<string>; backend: Set<string>; ring: Set<string> } {
  const start = DOC.indexOf('| export ');
  const end = DOC.indexOf('\n\n', start);
  const rows = DOC.slice(start, end).split('\n').slice(2);
  const out = { exports: new Set<string>(), backend: new Set<string>(), ring: new Set<string>() };
  for (const row of rows) {
    // The call's name, not what it returns (`→ \`fd\``).
    const cell = (row.split('|')[1] ?? '').replace(/→ `[^`]*`/g, '');
    for (const m of cell.matchAll(/`(new )?(\w+)(\.\w+)?[^`]*`/g)) {
      const [, , owner, member] = m;
      if (owner === 'backend' && member) out.backend.add(member.slice(1));
      else if (owner === 'ring' && member) out.ring.add(member.slice(1));
      else out.exports.add(owner!);
    }
    // `.member` cells that continue an owner named earlier in the same cell
    const owner = /`(backend|ring)\./.exec(cell)?.[1] as 'backend' | 'ring' | undefined;
    if (owner !== undefined) for (const m of cell.matchAll(/`\.(\w+)`/g)) out[owner].add(m[1]!);
  }
  return out;
}

/** The own and prototype members of an addon object (the class's methods and accessors). */
function members(o: object): Set<string> {
  const proto = Object.getPrototypeOf(o) as object;
  return new Set([...Object.keys(o), ...Object.getOwnPropertyNames(proto)].filter((k) => k !== 'constructor'));
}

const doc = documented();

test('every export of the addon is in the table, and the table names nothing else', () => {
  expect([...doc.exports].sort()).toEqual(Object.keys(native).sort());
});

test("every Backend member is in the table, and the table's backend.* members exist", () => {
  const backend = new native.Backend('none');
  try {
    expect([...doc.backend].sort()).toEqual([...members(backend)].sort());
  } finally {
    backend.close();
  }
});

(process.platform === 'linux' ? test : test.skip)("every Ring member is in the table, and the table's ring.* members exist", () => {
  const backend = new native.Backend('uring', 8);
  try {
    const ring = backend.ring();
    expect(ring).not.toBeNull();
    expect(backend.ring()).toBe(ring);
    expect([...doc.ring].sort()).toEqual([...members(ring!)].sort());
  } finally {
    backend.close();
  }
});

test('a backend without a ring says so with null', () => {
  const backend = new native.Backend('lock');
  try {
    expect(backend.ring()).toBeNull();
  } finally {
    backend.close();
  }
});
