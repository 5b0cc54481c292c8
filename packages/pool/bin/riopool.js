#!/usr/bin/env node
// The `riopool` command. package.json's bin names this committed file rather than the build
// output it loads: pnpm links the bins of workspace packages at install time, before anything is
// built, and warned "Failed to create bin ... ENOENT ... dist/cli/main.js" for every link to a
// file that did not exist yet. In the published package dist/ is always there.
const fs = require('node:fs');
const path = require('node:path');

if (!fs.existsSync(path.join(__dirname, '..', 'dist', 'cli', 'main.js'))) {
  process.stderr.write('riopool: the command is not built yet (no dist/cli/main.js): run `pnpm build` in the repository\n');
  process.exit(1);
}
require('../dist/cli/main.js');
