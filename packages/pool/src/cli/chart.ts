/**
 * The sweep chart: bytes pinned against buffers, one line per strategy, as standalone SVG (and
 * an HTML page around it). Written by hand: it is one chart of two lines, and a plotting
 * library would be the largest dependency riopool has.
 */
import type { Report, StrategyResult } from './report';
import { heldBytes } from './report';

const W = 760;
const H = 440;
const M = { left: 90, right: 30, top: 50, bottom: 60 };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** `stopped at 2,027: RLIMIT_MEMLOCK` (or the error's code where no limit is known). */
function stoppedLabel(s: StrategyResult): string {
  const stop = s.stopped;
  if (stop === null) return `stopped: ${s.error?.code ?? ''}`;
  return `stopped at ${stop.afterBuffers.toLocaleString('en-US')}: ${stop.limit ?? stop.code}`;
}

export function sweepSvg(reports: Report[]): string {
  const backend = reports[0]?.backend ?? 'uring';
  const series = [
    { name: 'per-buffer registration', color: '#c0392b', key: 'perBuffer' as const },
    { name: 'riopool slabs', color: '#2471a3', key: 'slab' as const },
  ];
  const KiB = (r: Report, key: 'perBuffer' | 'slab') => (heldBytes(r.strategies[key], backend) ?? 0) / 1024;
  // A strategy that stopped holds what it set up: its point is drawn at the buffers it set up
  // (a per-buffer stop at 16,384 of 20,000 is drawn at 16,384, where its label says).
  const at = (r: Report, key: 'perBuffer' | 'slab') => r.strategies[key].stopped?.afterBuffers ?? r.strategies[key].completedBuffers;
  const xMax = niceMax(Math.max(...reports.map((r) => r.workload.buffers)));
  const yMax = niceMax(Math.max(...reports.flatMap((r) => [KiB(r, 'perBuffer'), KiB(r, 'slab')])));
  const x = (v: number) => M.left + (v / xMax) * (W - M.left - M.right);
  const y = (v: number) => H - M.bottom - (v / yMax) * (H - M.top - M.bottom);
  const what = backend === 'lock' ? 'locked (VmLck)' : 'pinned (VmPin)';
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="13">`,
  );
  const size = reports[0]?.workload.size ?? '';
  // The accessible name (a screen reader's, and biome's a11y/noSvgWithoutTitle): the chart's title.
  parts.push(
    `<title>${esc(`riopool: KiB ${what} against buffers, per-buffer registration and riopool slabs (${size} B each, backend ${backend})`)}</title>`,
  );
  parts.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  parts.push(
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${esc(`KiB ${what} against buffers (${size} B each, backend ${backend})`)}</text>`,
  );
  for (let i = 0; i <= 5; i++) {
    const yv = (yMax / 5) * i;
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y(yv)}" y2="${y(yv)}" stroke="#ddd"/>`);
    parts.push(`<text x="${M.left - 8}" y="${y(yv) + 4}" text-anchor="end">${Math.round(yv).toLocaleString('en-US')}</text>`);
    const xv = (xMax / 5) * i;
    parts.push(`<text x="${x(xv)}" y="${H - M.bottom + 20}" text-anchor="middle">${Math.round(xv).toLocaleString('en-US')}</text>`);
  }
  parts.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" stroke="#333"/>`);
  parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" stroke="#333"/>`);
  parts.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 15}" text-anchor="middle">buffers</text>`);
  parts.push(`<text transform="translate(20 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">KiB ${esc(what)}</text>`);
  series.forEach((s, i) => {
    const ok = reports.filter((r) => r.strategies[s.key].error === null);
    const pts = ok.map((r) => `${x(r.workload.buffers).toFixed(1)},${y(KiB(r, s.key)).toFixed(1)}`).join(' ');
    parts.push(`<polyline class="series-${s.key}" fill="none" stroke="${s.color}" stroke-width="2.5" points="${pts}"/>`);
    for (const r of reports) {
      const failed = r.strategies[s.key].error !== null;
      const cx = x(failed ? at(r, s.key) : r.workload.buffers);
      const cy = y(KiB(r, s.key));
      parts.push(
        failed
          ? `<g class="failed"><text x="${cx + (cx > W / 2 ? 6 : -6)}" y="${cy - 10}" text-anchor="${cx > W / 2 ? 'end' : 'start'}" fill="${s.color}">✕ ${esc(stoppedLabel(r.strategies[s.key]))}</text><circle cx="${cx}" cy="${cy}" r="5" fill="#fff" stroke="${s.color}" stroke-width="2"/></g>`
          : `<circle cx="${cx}" cy="${cy}" r="3.5" fill="${s.color}"/>`,
      );
    }
    parts.push(`<rect x="${M.left + 16}" y="${M.top + 8 + i * 22}" width="14" height="4" fill="${s.color}"/>`);
    parts.push(`<text x="${M.left + 36}" y="${M.top + 14 + i * 22}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export function sweepHtml(reports: Report[]): string {
  const rows = reports
    .map((r) => {
      const backend = r.backend;
      const a = heldBytes(r.strategies.perBuffer, backend);
      const b = heldBytes(r.strategies.slab, backend);
      const cell = (v: number | null, e: { code: string } | null) =>
        e
          ? `${v === null ? '' : Math.round(v / 1024).toLocaleString('en-US')} (${esc(e.code)})`
          : v === null
            ? 'n/a'
            : Math.round(v / 1024).toLocaleString('en-US');
      return `<tr><td>${r.workload.buffers.toLocaleString('en-US')}</td><td>${cell(a, r.strategies.perBuffer.error)}</td><td>${cell(b, r.strategies.slab.error)}</td><td>${r.strategies.perBuffer.registrations.toLocaleString('en-US')}</td><td>${r.strategies.slab.registrations}</td></tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>riopool footprint sweep</title>
<style>body{font-family:sans-serif;margin:2em;max-width:820px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}</style>
</head><body>
<h1>riopool footprint sweep</h1>
<p>Machine: ${esc(reports[0]?.machine.cpu ?? '')}, ${esc(reports[0]?.machine.os ?? '')}, Node ${esc(reports[0]?.machine.node ?? '')}.</p>
${sweepSvg(reports)}
<table><thead><tr><th>buffers</th><th>per-buffer KiB</th><th>slab KiB</th><th>per-buffer registrations</th><th>slab registrations</th></tr></thead>
<tbody>
${rows}
</tbody></table>
</body></html>
`;
}
