/**
 * Comments that can be checked: every file path a source comment names exists. A path is taken
 * as written from the repository's root, from its own package, from its own folder, or from its
 * package's src/; a `.js` path may name the compiled output of a `.ts` file beside it.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
/** A path-like word: a known top folder, then a file with one of the repository's endings. */
const PATH = /(?<![\w@/.-])((?:packages|docs|bench|examples|test|scripts|src|io)\/[\w./-]*\.(?:json|ts|cc|h|md|js|sh|cjs))(?![\w])/g;
/** A line that is (or ends in) a comment, in the languages checked here. */
const COMMENT = /\/\/|\/\*|^\s*\*|^\s*#/;

function sourceFiles(): string[] {
  return execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' })
    .split('\n')
    .filter((f) => /\.(ts|cc|h|js|cjs|sh)$/.test(f) && !f.startsWith('docs/'));
}

function exists(from: string, ref: string): boolean {
  const pkg = from.split('/').slice(0, 2).join('/');
  const bases = [ROOT, path.join(ROOT, pkg), path.join(ROOT, path.dirname(from)), path.join(ROOT, pkg, 'src')];
  const names = ref.endsWith('.js') ? [ref, `${ref.slice(0, -3)}.ts`] : [ref];
  return bases.some((b) => names.some((n) => fs.existsSync(path.join(b, n))));
}

test('every file a source comment names exists', () => {
  const files = sourceFiles();
  expect(files.length).toBeGreaterThan(50);
  const missing: string[] = [];
  let named = 0;
  for (const file of files) {
    const lines = fs.readFileSync(path.join(ROOT, file), 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (!COMMENT.test(line)) return;
      for (const m of line.matchAll(PATH)) {
        named++;
        if (!exists(file, m[1]!)) missing.push(`${file}:${i + 1}: ${m[1]}`);
      }
    });
  }
  expect(named).toBeGreaterThan(50); // the scan finds the repository's many references
  expect(missing).toEqual([]);
});
