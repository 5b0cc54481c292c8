#!/usr/bin/env node
/**
 * riopool: the command line.
 *
 *   riopool report [--buffers N] [--size 512|64-4096|mixed] [--seed S] [--backend uring|rio|lock|none]
 *                  [--json] [--sweep [N,N,...]] [--svg FILE] [--html FILE]
 *   riopool help [COMMAND]      riopool COMMAND --help (-h)      riopool --help      riopool --version (-v)
 *
 * Conventions (node:util.parseArgs): help and the version go to stdout and exit 0; what a
 * command produces goes to stdout alone (`--json` is one JSON document), progress to stderr and
 * only on a terminal; bad usage (an unknown command or option, a bad value, a stray argument)
 * goes to stderr with the usage and exits 2.
 *
 * Exit codes: 0 success (a strategy that stopped at a known limit, the memlock limit or the
 * registration table, is a result, not a failure), 1 the run failed (a strategy could not run:
 * its backend did not open, or an error that names no limit; the report is still printed, the
 * reason goes to stderr) or an output file could not be written, 2 bad usage. Byte figures are
 * printed in KiB (1,024 bytes), as the kernel's VmPin and VmLck are.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { runReport, heldBytes, type Report, type Stop, type StrategyResult } from './report';
import { sweepHtml, sweepSvg } from './chart';
import type { BackendKind } from '../backend';

const USAGE = `usage: riopool <command> [options]

commands:
  report          register request buffers one by one and in riopool's slabs, and measure
                  what the kernel pins for each (riopool report --help)
  help [command]  this text, or the command's

options:
  -h, --help      print this help and exit
  -v, --version   print riopool's version and exit
`;

const REPORT_USAGE = `usage: riopool report [options]

Registers a workload of request buffers two ways, in the same run, and measures both:
per-buffer (each buffer registered on its own) and slab (riopool).

  --buffers N        how many buffers (default 10000)
  --size S           a length (512), a range (64-4096) or 'mixed' (default 512)
  --seed S           seed for ranges and 'mixed' (default 1)
  --backend B        uring, rio, lock or none (default: the platform's best, or RIOPOOL_BACKEND)
  --json             print the versioned JSON report (schema riopool-report/2), alone on stdout;
                     from the repository: pnpm -s report --json (-s: no pnpm banner)
  --sweep [N,N,...]  repeat over buffer counts (default 1000,2500,5000,10000,15000,20000)
  --svg FILE         with --sweep: write the chart of bytes pinned against buffers
  --html FILE        with --sweep: write an HTML page with the chart and a table
  -h, --help         print this help and exit
`;

const DEFAULT_SWEEP = [1000, 2500, 5000, 10000, 15000, 20000];

/** Bad usage: the message and the usage on stderr, exit 2. */
function fail(message: string, usage = REPORT_USAGE): never {
  process.stderr.write(`riopool: ${message}\n\n${usage}`);
  process.exit(2);
}

/**
 * parseArgs' errors in the CLI's own words (its own text is worded for a program's author and
 * adds advice about '--' and '=' that rarely applies here). Every error parseArgs throws is one
 * of these codes; anything else is said as `bad usage` with the option it names.
 */
function usageError(e: unknown, command: string): string {
  const err = e as { code?: string; message: string };
  const arg = /'([^']*)'/.exec(err.message)?.[1]?.replace(/ <value>$/, '');
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option '${arg}' for ${command} (${command} --help lists them)`;
  if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument '${arg}' for ${command}`;
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (/does not take an argument/.test(err.message)) return `${arg} takes no value`;
    return `${arg} needs a value (${command} --help says which)`;
  }
  return `bad usage${arg === undefined ? '' : ` of '${arg}'`} for ${command}`;
}

/**
 * A value that starts with a dash (`--buffers -5`, `--seed -3`) joined to its option
 * (`--buffers=-5`), so that it reaches the option's own check ("an integer from 1 ...") instead
 * of parseArgs' "argument is ambiguous". Only for the options that take a value.
 */
function joinDashValues(args: string[], valued: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return out.concat(args.slice(i));
    const next = args[i + 1];
    if (valued.includes(a) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** The version in @riopool/pool's package.json (dist/cli/main.js -> ../../package.json). */
function version(): string {
  return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const KiB = (n: number | null) => (n === null ? 'n/a' : `${fmt(n / 1024)} KiB`);

/** A progress bar on stderr, only when stderr is a terminal. */
function progressBar(label: string): ((fraction: number) => void) & { done(): void } {
  const tty = process.stderr.isTTY === true;
  let last = -1;
  const update = ((fraction: number) => {
    if (!tty) return;
    const pct = Math.floor(fraction * 100);
    if (pct === last) return;
    last = pct;
    const width = 30;
    const filled = Math.round((pct / 100) * width);
    process.stderr.write(`\r${label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${pct}%`);
  }) as ((fraction: number) => void) & { done(): void };
  update.done = () => {
    if (tty) process.stderr.write(`\r${' '.repeat(label.length + 40)}\r`);
  };
  return update;
}

function table(r: Report): string {
  const { perBuffer: a, slab: b } = r.strategies;
  const rows: [string, (s: StrategyResult) => string][] = [
    ['registrations', (s) => fmt(s.registrations)],
    ['requested', (s) => KiB(s.requestedBytes)],
    ['reserved', (s) => KiB(s.reservedBytes)],
    ['mapped', (s) => KiB(s.mappedBytes)],
    ['pinned (VmPin)', (s) => KiB(s.pinnedBytes)],
    ['locked (VmLck)', (s) => KiB(s.lockedBytes)],
    ['model predicts', (s) => KiB(s.modelBytes)],
    ['setup', (s) => `${s.setupMs.toFixed(1)} ms`],
    ['teardown', (s) => `${s.teardownMs.toFixed(1)} ms`],
    ['buffers set up', (s) => (s.stopped === null ? fmt(s.completedBuffers) : `${fmt(s.completedBuffers)} of ${fmt(s.stopped.ofBuffers)}`)],
    ['error', (s) => (s.error === null ? '-' : s.error.code)],
  ];
  const w0 = Math.max(...rows.map(([n]) => n.length));
  const w1 = Math.max(12, ...rows.map(([, f]) => f(a).length));
  const w2 = Math.max(14, ...rows.map(([, f]) => f(b).length));
  const lines = [
    `riopool report: ${fmt(r.workload.buffers)} buffers, size ${r.workload.size} (${KiB(r.workload.requestedBytes)} requested); backend ${r.backend}; page ${r.pageSize} B`,
    `machine: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.os}, Node ${r.machine.node}`,
    '',
    `${''.padEnd(w0)}  ${'per-buffer'.padStart(w1)}  ${'slab (riopool)'.padStart(w2)}`,
    ...rows.map(([name, f]) => `${name.padEnd(w0)}  ${f(a).padStart(w1)}  ${f(b).padStart(w2)}`),
    '',
  ];
  if (r.ratios.perBufferOverSlab !== null) {
    lines.push(`per-buffer registration holds ${r.ratios.perBufferOverSlab.toFixed(2)}× the memory of the slabs`);
  }
  lines.push(...stopLines(r));
  if (r.ratios.slabOverIdeal !== null) {
    lines.push(
      `slabs hold ${r.ratios.slabOverIdeal.toFixed(3)}× the ideal (${KiB(r.idealBytes)}: reserved bytes rounded up to whole pages per slab)`,
    );
  }
  for (const [name, s] of [
    ['per-buffer', a],
    ['slab', b],
  ] as const) {
    // A stop at a known limit is said above; any other error as it came.
    if (s.error !== null && s.stopped?.limit == null) lines.push(`${name} error: ${s.error.message}`);
  }
  if (heldBytes(b, r.backend) === null && b.stopped === null)
    lines.push(`backend ${r.backend} neither pins nor locks: nothing to measure against the kernel`);
  return lines.join('\n');
}

/** A limit and its value, as the report prints it: `RLIMIT_MEMLOCK, 8,192 KiB`. */
function limitText(s: Stop): string {
  if (s.limit === null) return s.code;
  if (s.limitValue === null) return `${s.limit}, ${s.limitUnit === 'bytes' ? 'unlimited' : 'size unknown'}`;
  return `${s.limit}, ${s.limitUnit === 'bytes' ? `${fmt(s.limitValue / 1024)} KiB` : `${fmt(s.limitValue)} ${s.limitUnit}`}`;
}

/** Words wrapped to `width` columns, each line after the first indented by `indent`; a `quoted command` stays whole. */
function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.match(/`[^`]*`\S*|\S+/g) ?? []) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent + word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** The command that runs the same workload with `buffers` buffers. */
function rerun(r: Report, buffers: number): string {
  const { size, seed } = r.workload;
  return `riopool report --buffers ${buffers}${size === '512' ? '' : ` --size ${size}`}${seed === 1 ? '' : ` --seed ${seed}`}`;
}

/**
 * When a strategy stopped short of the workload, its figures are for fewer buffers and no ratio
 * of the two is a result: these lines say which stopped, where, at which limit and its value,
 * how to raise it, the run that fits, and what the model predicts for the whole workload
 * (labelled as the model's).
 */
function stopLines(r: Report): string[] {
  const names = { perBuffer: 'per-buffer registration', slab: 'slab (riopool)' } as const;
  const stops = (['perBuffer', 'slab'] as const).flatMap((key) => {
    const s = r.strategies[key].stopped;
    return s === null ? [] : [{ name: names[key], s }];
  });
  if (stops.length === 0) return [];
  const { perBuffer: a, slab: b } = r.strategies;
  const text = [
    `No measured comparison: per-buffer registration's figures are for ${fmt(a.completedBuffers)} buffers, the slabs' for ${fmt(b.completedBuffers)}.`,
    ...new Set(stops.map(({ s }) => s.advice)),
  ];
  const fits = Math.min(...stops.map(({ s }) => s.fitsBuffers));
  if (fits > 0) text.push(`Or measure fewer buffers: \`${rerun(r, fits)}\`.`);
  const lines = [
    ...stops.map(({ name, s }) => `${name} STOPPED at ${fmt(s.afterBuffers)} of ${fmt(s.ofBuffers)} buffers: ${limitText(s)}.`),
    ...wrap(text.join(' '), 100, '  ').map((l, i) => (i === 0 ? `  ${l}` : l)),
  ];
  const model = r.ratios.modelPerBufferOverSlab;
  if (model !== null) {
    lines.push(
      `model only, not measured: per-buffer registration of all ${fmt(r.workload.buffers)} would hold ${KiB(a.modelBytes)}, ${model.toFixed(2)}× the slabs' ${KiB(b.modelBytes)}`,
    );
  }
  return lines;
}

function sweepTable(reports: Report[]): string {
  const lines = [`${'buffers'.padStart(8)}  ${'per-buffer'.padStart(14)}  ${'slab'.padStart(12)}  ${'ratio'.padStart(7)}  stopped`];
  for (const r of reports) {
    const a = heldBytes(r.strategies.perBuffer, r.backend);
    const b = heldBytes(r.strategies.slab, r.backend);
    const stopped = (name: string, s: Stop | null) => s && `${name} stopped at ${fmt(s.afterBuffers)} (${limitText(s)})`;
    const errors = [stopped('per-buffer', r.strategies.perBuffer.stopped), stopped('slab', r.strategies.slab.stopped)]
      .filter(Boolean)
      .join(', ');
    lines.push(
      `${fmt(r.workload.buffers).padStart(8)}  ${KiB(a).padStart(14)}  ${KiB(b).padStart(12)}  ${(r.ratios.perBufferOverSlab === null ? 'n/a' : `${r.ratios.perBufferOverSlab.toFixed(2)}×`).padStart(7)}  ${errors || '-'}`,
    );
  }
  // The largest run that stopped says how to raise the limit (the smaller ones need less).
  const last = reports.filter((r) => !r.complete).pop();
  if (last !== undefined) {
    const advice = [...new Set([last.strategies.perBuffer.stopped, last.strategies.slab.stopped].map((s) => s?.advice).filter(Boolean))];
    lines.push(
      '',
      ...wrap(`n/a: a strategy stopped before the end of the workload, so no ratio of the two is a result. ${advice.join(' ')}`, 100, '  '),
    );
  }
  return lines.join('\n');
}

/** Writes an output file, making its folder if need be; a file that cannot be written is one line and exit 1. */
function writeOutput(file: string, text: string): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  } catch (e) {
    process.stderr.write(`riopool: cannot write ${file}: ${(e as Error).message}\n`);
    process.exit(1);
  }
}

/** True when the arguments ask for help (-h or --help before any `--`): it wins over the rest. */
function asksForHelp(args: string[]): boolean {
  const { tokens } = parseArgs({ args, strict: false, tokens: true, options: { help: { type: 'boolean', short: 'h' } } });
  return tokens.some((t) => t.kind === 'option' && t.name === 'help');
}

/** The commands: each has its usage and its run. */
const COMMANDS: Record<string, { usage: string; run: (args: string[]) => void }> = {
  report: { usage: REPORT_USAGE, run: report },
};

function main(argv: string[]): void {
  const [first, ...rest] = argv;
  if (first === undefined) {
    process.stdout.write(USAGE);
    return;
  }
  if (first.startsWith('-')) {
    // Options before a command: --help [command], --version.
    const config = {
      options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } },
      allowPositionals: true,
    } as const;
    let parsed: ReturnType<typeof parseArgs<typeof config & { args: string[] }>>;
    try {
      parsed = parseArgs({ ...config, args: argv });
    } catch (e) {
      fail(usageError(e, 'riopool'), USAGE);
    }
    if (parsed.values.version) {
      process.stdout.write(`${version()}\n`);
      return;
    }
    help(parsed.positionals);
    return;
  }
  if (first === 'help') {
    help(rest);
    return;
  }
  const command = COMMANDS[first];
  if (command === undefined) fail(`unknown command '${first}'`, USAGE);
  if (asksForHelp(rest)) {
    process.stdout.write(command.usage);
    return;
  }
  command.run(rest);
}

/** `riopool help [command]`: the usage of the command named, or riopool's. */
function help(args: string[]): void {
  if (args.length > 1) fail(`help takes one command, not '${args.join(' ')}'`, USAGE);
  const name = args[0];
  if (name === undefined) {
    process.stdout.write(USAGE);
    return;
  }
  const command = COMMANDS[name];
  if (command === undefined) fail(`no command '${name}' to help with`, USAGE);
  process.stdout.write(command.usage);
}

function report(args: string[]): void {
  const config = {
    options: {
      buffers: { type: 'string', default: '10000' },
      size: { type: 'string', default: '512' },
      seed: { type: 'string', default: '1' },
      backend: { type: 'string' },
      json: { type: 'boolean', default: false },
      sweep: { type: 'boolean', default: false },
      svg: { type: 'string' },
      html: { type: 'string' },
    },
    allowPositionals: true,
  } as const;
  let parsed: ReturnType<typeof parseArgs<typeof config & { args: string[] }>>;
  try {
    parsed = parseArgs({ ...config, args: joinDashValues(args, ['--buffers', '--size', '--seed', '--backend', '--svg', '--html']) });
  } catch (e) {
    fail(usageError(e, 'riopool report'));
  }
  const v = parsed.values;
  const buffers = Number(v.buffers);
  if (!Number.isInteger(buffers) || buffers < 1 || buffers > 10_000_000) fail(`--buffers ${v.buffers}: an integer from 1 to 10,000,000`);
  const seed = Number(v.seed);
  if (!Number.isInteger(seed)) fail(`--seed ${v.seed}: an integer`);
  const backend = v.backend as BackendKind | undefined;
  if (backend !== undefined && !['uring', 'rio', 'lock', 'none'].includes(backend)) fail(`--backend ${backend}: uring, rio, lock or none`);
  // The one place a positional belongs: the buffer counts after --sweep.
  if (!v.sweep && parsed.positionals.length > 0) fail(`unexpected argument '${parsed.positionals[0]}' for riopool report`);
  const sweepList = parsed.positionals.length > 0 ? parsed.positionals.join(',') : undefined;
  if ((v.svg || v.html) && !v.sweep) fail('--svg and --html go with --sweep');

  const one = (n: number, label: string): Report => {
    const bar = progressBar(label);
    try {
      return runReport({ buffers: n, size: v.size!, seed, ...(backend ? { backend } : {}), onProgress: bar });
    } catch (e) {
      bar.done();
      fail((e as Error).message);
    } finally {
      bar.done();
    }
  };

  if (!v.sweep) {
    const report = one(buffers, 'measuring');
    process.stdout.write(v.json ? `${JSON.stringify(report, null, 2)}\n` : `${table(report)}\n`);
    exitIfFailed([report]);
    return;
  }
  const counts = sweepList === undefined ? DEFAULT_SWEEP : sweepList.split(',').map(Number);
  if (counts.some((n) => !Number.isInteger(n) || n < 1)) fail(`--sweep ${sweepList}: a list of buffer counts, like 1000,5000,20000`);
  const reports = counts.map((n, i) => one(n, `sweep ${i + 1}/${counts.length}`));
  if (v.svg) writeOutput(v.svg, sweepSvg(reports));
  if (v.html) writeOutput(v.html, sweepHtml(reports));
  process.stdout.write(v.json ? `${JSON.stringify(reports, null, 2)}\n` : `${sweepTable(reports)}\n`);
  exitIfFailed(reports);
}

/**
 * A run in which a strategy could not run is a failure: its error names no limit (a backend
 * that did not open, like `--backend rio` on Linux, or an unexpected error). The report has been
 * printed; the reason goes to stderr and the exit code is 1. A stop at a known limit is a result.
 */
function exitIfFailed(reports: Report[]): void {
  const failures = new Set<string>();
  for (const r of reports) {
    for (const [name, s] of [
      ['per-buffer', r.strategies.perBuffer],
      ['slab', r.strategies.slab],
    ] as const) {
      if (s.error !== null && s.stopped?.limit == null)
        failures.add(`riopool: ${name} could not run: ${s.error.message} (${s.error.code})`);
    }
  }
  if (failures.size === 0) return;
  process.stderr.write(`${[...failures].join('\n')}\n`);
  process.exitCode = 1;
}

main(process.argv.slice(2));
