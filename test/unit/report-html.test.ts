import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatDuration } from '../../src/util/duration.js';
import type { Journal, SeriesPoint } from '../../src/journal/types.js';
import { renderDrillHtml, renderRunIndexHtml } from '../../src/report/html.js';
import { runbookOf } from '../../src/report/runbook.js';
import { MAX_CHART_POINTS, downsampleMinMax, seriesRows, type ChartModel, type Point } from '../../src/report/html-charts.js';
import { escapeHtml } from '../../src/report/html-markup.js';

const load = (name: string): Journal => JSON.parse(readFileSync(new URL(`../fixtures/journals/${name}.json`, import.meta.url), 'utf8')) as Journal;

/** The chart model the page embeds, read back the way the page's script reads it. */
function embeddedModel(page: string): ChartModel {
  const match = /<script type="application\/json" id="firedrill-data">([\s\S]*?)<\/script>/.exec(page);
  expect(match).not.toBeNull();
  return JSON.parse(match![1]!) as ChartModel;
}

/** A drill whose workload ran `seconds` long with one series point every `step` seconds. */
function longDrill(seconds: number, step: number): Journal {
  const journal = load('passed');
  const template = journal.workload.series[3]!;
  const series: SeriesPoint[] = [];
  for (let i = 0; i < seconds / step; i++) {
    const spike = i % 97 === 0 ? 40 : 1;
    series.push({ ...template, t: Number((i * step).toFixed(3)), acked: Math.round(200 * step) - (i % 7), latencyP99Ms: 4.2 * spike });
  }
  return { ...journal, workload: { ...journal.workload, series, endMs: journal.workload.startMs! + seconds * 1000 } };
}

describe('renderDrillHtml', () => {
  it('puts the verdict and every objective at the top', () => {
    const page = renderDrillHtml(load('breached'));
    const verdict = page.indexOf('id="verdict"');
    expect(verdict).toBeGreaterThan(0);
    expect(page.indexOf('<span class="badge">FAIL</span>')).toBeGreaterThan(verdict);
    for (const objective of load('breached').objectives) {
      expect(page).toContain(`<strong>${objective.name}</strong>`);
      expect(page).toContain(escapeHtml(objective.target));
    }
    // The verdict comes before any other section.
    expect(verdict).toBeLessThan(page.indexOf('id="figures"'));
    expect(page.indexOf('id="figures"')).toBeLessThan(page.indexOf('id="timeline"'));
    expect(page.indexOf('id="environment"')).toBeLessThan(page.indexOf('id="runbook"'));
  });

  it.each([
    ['passed', 'PASS'],
    ['breached', 'FAIL'],
    ['error', 'ERROR'],
  ])('renders the %s fixture with verdict %s', (name, verdict) => {
    const page = renderDrillHtml(load(name));
    expect(page).toContain(`<span class="badge">${verdict}</span>`);
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain('</html>');
  });

  it('lists the restore path commands in the order they started, the others folded away', () => {
    const journal = load('passed');
    const page = renderDrillHtml(journal);
    const runbook = page.slice(page.indexOf('id="runbook"'));
    const folded = runbook.indexOf('<details');
    const { steps: restorePath, others } = runbookOf(journal);
    expect(restorePath.length).toBeGreaterThan(5);
    let previous = -1;
    for (const command of restorePath) {
      const at = runbook.indexOf(`<code>${escapeHtml(command.command)}</code>`);
      expect(at, command.command).toBeGreaterThan(previous);
      expect(at).toBeLessThan(folded);
      previous = at;
    }
    const backup = others.find((command) => command.phase === 'backup')!;
    expect(runbook.indexOf(escapeHtml(backup.command))).toBeGreaterThan(folded);
  });

  it('shows "not measured" instead of charts for a drill that could not run', () => {
    const page = renderDrillHtml(load('error'));
    expect(page).toContain('Throughput and latency: not measured.');
    expect(page).toContain('Data loss: not measured.');
    expect(page).not.toContain('id="chart-timeline"');
    expect(page).not.toContain('id="chart-rpo"');
    expect(page).toContain('check &quot;invoices are back&quot; cannot run: relation &quot;invoices&quot; does not exist');
    expect(page).toContain('fix its SQL in the scenario');
    const model = embeddedModel(page);
    expect(model.timeline).toBeNull();
    expect(model.rpo).toBeNull();
  });

  it('escapes every journal string, in markup and in the embedded data', () => {
    const journal = load('breached');
    const evil = '<script>alert("owned")</script>';
    const hostile: Journal = {
      ...journal,
      scenario: { ...journal.scenario, name: evil, description: '<img src=x onerror=alert(1)>' },
      strategy: `"><svg onload=alert(2)>`,
      phases: [...journal.phases, { name: `</script><script>alert(3)</script><!--`, startMs: 0, endMs: 1, durationMs: 1, ok: true }],
      commands: [...journal.commands, { phase: 'restore', command: `echo '</script><b>x</b>' && rm -rf /`, startedAtMs: 55_000, durationMs: 1, exitCode: 0 }],
      errors: [{ phase: 'verify', message: 'a & b <c>', hint: '<a href="https://evil.example/">click</a>' }],
    };
    const page = renderDrillHtml(hostile);
    const clean = renderDrillHtml(journal);
    expect(page).not.toContain(evil);
    expect(page).not.toContain('<img src=x');
    expect(page).not.toContain('<svg onload');
    expect(page).not.toContain('<b>x</b>');
    expect(page).not.toContain('<a href="https://evil');
    expect(page).toContain('&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt;');
    // Not one more script element than the clean page: nothing broke out of the JSON island.
    const scripts = (html: string) => html.match(/<script\b/gi)!.length;
    expect(scripts(page)).toBe(scripts(clean));
    expect(embeddedModel(page).phases!.bars.at(-1)!.label).toBe(`</script><script>alert(3)</script><!--`);
  });

  it('loads nothing from the network', () => {
    for (const name of ['passed', 'breached', 'error']) {
      const page = renderDrillHtml(load(name));
      expect(page).not.toMatch(/\b(?:src|href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?\/\//i);
      expect(page).not.toMatch(/url\(\s*["']?\s*(?:https?:)?\/\//i);
      expect(page).not.toMatch(/@import/i);
      expect(page).not.toMatch(/<script[^>]+src=/i);
      expect(page).not.toMatch(/<link[^>]+rel="?stylesheet/i);
      // The policy itself forbids every fetch (quotes are HTML-escaped in the attribute).
      expect(page).toContain('content="default-src &#39;none&#39;; script-src &#39;sha256-');
    }
  });

  it('inlines Chart.js', () => {
    const page = renderDrillHtml(load('passed'));
    expect(page).toContain('Chart.js v4');
    expect(page.length).toBeGreaterThan(200_000);
  });

  it('stays under 1 MB for a 10-minute drill sampled every second', () => {
    const page = renderDrillHtml(longDrill(600, 1));
    expect(Buffer.byteLength(page)).toBeLessThan(1_000_000);
    const timeline = embeddedModel(page).timeline!;
    expect(timeline.datasets[0]!.points).toHaveLength(600);
  });

  it('downsamples a 10-minute drill sampled every 100 ms to at most 600 points per line', () => {
    const journal = longDrill(600, 0.1);
    const page = renderDrillHtml(journal);
    expect(Buffer.byteLength(page)).toBeLessThan(1_000_000);
    const timeline = embeddedModel(page).timeline!;
    for (const dataset of timeline.datasets) expect(dataset.points.length).toBeLessThanOrEqual(MAX_CHART_POINTS);
    // The latency spikes survive the thinning.
    const p99 = timeline.datasets.find((dataset) => dataset.label === 'latency p99')!;
    expect(Math.max(...p99.points.map(([, y]) => y ?? 0))).toBeCloseTo(4.2 * 40);
    // And the table merges buckets instead of growing to 6,000 rows.
    const { rows, bucketsPerRow } = seriesRows(journal);
    expect(rows.length).toBeLessThanOrEqual(MAX_CHART_POINTS);
    expect(bucketsPerRow).toBe(10);
    expect(Math.max(...rows.map((row) => row.p99 ?? 0))).toBeCloseTo(4.2 * 40);
  });

  it('places the series on the drill clock, where the events are', () => {
    const journal = load('passed');
    const timeline = embeddedModel(renderDrillHtml(journal)).timeline!;
    const first = timeline.datasets[0]!.points[0]!;
    // Bucket t=0 starts at workload.startMs; it is plotted at its middle.
    expect(first[0]).toBeCloseTo(journal.workload.startMs! / 1000 + 0.5);
    expect(timeline.markers.map((marker) => marker.label)).toEqual(['fault', 'detected', 'restore start', 'service restored', 'verified', 'writes resumed']);
    expect(timeline.markers[0]!.x).toBeCloseTo(journal.fault!.atMs / 1000);
    // The wall clock of drill time 0, for times on hover.
    expect(timeline.wallStartMs).toBe(Date.parse(journal.fault!.wallTime) - journal.fault!.atMs);
  });

  it('rates the last, partly covered second over the part the workload ran, and leaves out a sliver too short to rate', () => {
    // The workload's series before it stopped at detection: without the writes after the verdict.
    const loaded = load('passed');
    const { resumed: _resumed, ...beforeResume } = loaded.workload;
    const journal: Journal = { ...loaded, workload: { ...beforeResume, series: loaded.workload.series.filter((point) => point.t * 1000 < loaded.workload.endMs! - loaded.workload.startMs!) } };
    const { series, startMs } = journal.workload;
    const last = series.at(-1)!;
    const rateAt = (end: number) => {
      const changed = { ...journal, workload: { ...journal.workload, endMs: startMs! + end * 1000 } };
      const points = embeddedModel(renderDrillHtml(changed)).timeline!.datasets[0]!.points;
      return { points, rows: seriesRows(changed).rows };
    };
    // Half of the last second: twice its count per second, drawn at the middle of that half.
    const half = rateAt(last.t + 0.5);
    expect(half.points.at(-1)).toEqual([expect.closeTo(startMs! / 1000 + last.t + 0.25, 3), expect.closeTo(last.acked / 0.5, 2)]);
    expect(half.rows.at(-1)).toMatchObject({ to: expect.closeTo(startMs! / 1000 + last.t + 0.5, 3), ackedPerSecond: expect.closeTo(last.acked / 0.5, 1) });
    // A tenth of a second: not drawn, not tabled.
    const sliver = rateAt(last.t + 0.1);
    expect(sliver.points.at(-1)![0]).toBeCloseTo(startMs! / 1000 + last.t - 0.5, 3);
    expect(sliver.rows).toHaveLength(series.length - 1);
  });
});

describe('downsampleMinMax', () => {
  it('keeps short lines as they are', () => {
    const points: Point[] = [[0, 1], [1, null], [2, 3]];
    expect(downsampleMinMax(points, 10)).toEqual(points);
  });

  it('keeps each window\'s extremes and gaps, in time order', () => {
    const points: Point[] = Array.from({ length: 1000 }, (_, i) => [i, i === 500 ? 99 : i === 700 ? null : i % 2]);
    const thinned = downsampleMinMax(points, 60);
    expect(thinned.length).toBeLessThanOrEqual(60);
    expect(thinned).toContainEqual([500, 99]);
    expect(thinned).toContainEqual([700, null]);
    const xs = thinned.map(([x]) => x);
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
  });
});

describe('renderRunIndexHtml', () => {
  it('lists failures first, each linking to its report', () => {
    const journals = ['passed', 'breached', 'error'].map(load);
    const page = renderRunIndexHtml(journals, ['a/report.html', 'b/report.html', 'c/report.html']);
    const order = ['c/report.html', 'b/report.html', 'a/report.html'].map((link) => page.indexOf(`href="${link}"`));
    expect(order.every((at) => at > 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(page).toContain('3 drills: 1 error, 1 failed, 1 passed');
    expect(page).toContain(formatDuration(journals[1]!.measurements.rtoServiceMs));
    expect(page).not.toContain('<script');
  });
});
