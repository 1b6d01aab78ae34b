import { createHash } from 'node:crypto';
import type { DrillStatus } from '../journal/types.js';

/**
 * Markup helpers for the HTML reports. Every value interpolated into `html\`...\`` is
 * escaped unless it is already SafeHtml, so a journal string (a scenario name, a command
 * line, a server error) can never become markup: escaping is the default, not a habit.
 */

/** Markup that is already safe to emit: only `html` and `trustedHtml` make one. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** What `html` accepts: text is escaped, SafeHtml is kept, arrays are joined, nullish/false vanish. */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for element content and quoted attribute values alike. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ENTITIES[char]!);
}

function renderValue(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(renderValue).join('');
  // `true` renders nothing so `condition && html\`...\`` reads naturally.
  if (value === null || value === undefined || typeof value === 'boolean') return '';
  return escapeHtml(String(value));
}

/** Tagged template that escapes every interpolation (see the module comment). */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((value, index) => {
    out += renderValue(value) + strings[index + 1]!;
  });
  return new SafeHtml(out);
}

/** Marks firedrill's own markup (never journal text) as safe. */
function trustedHtml(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/**
 * Colours of the reports. The CSS custom properties and the chart colours both come from
 * here, so a badge and the chart line of the same thing never drift apart.
 */
export const PALETTE = {
  text: '#1f2328',
  muted: '#59636e',
  border: '#d1d9e0',
  grid: '#e6eaef',
  surface: '#ffffff',
  page: '#f6f8fa',
  pass: '#1a7f37',
  fail: '#cf222e',
  error: '#bc4c00',
  interrupted: '#6e7781',
  blue: '#0969da',
  purple: '#8250df',
  amber: '#9a6700',
  gray: '#8c959f',
} as const;

/** The visual tone of a badge, pill or figure. */
export type Tone = 'pass' | 'fail' | 'error' | 'interrupted' | 'neutral' | 'info';

export const STATUS_TONE: Readonly<Record<DrillStatus, Tone>> = {
  passed: 'pass',
  failed: 'fail',
  error: 'error',
  interrupted: 'interrupted',
};

/** A small rounded label: `PASS`, `restore`, `exit 1`. */
export function pill(text: string, tone: Tone): SafeHtml {
  return html`<span class="pill pill-${tone}">${text}</span>`;
}

/** A table column: a header and how to render one row's cell. */
export interface Column<T> {
  header: string;
  cell: (row: T) => HtmlValue;
  /** Right-aligned with tabular figures; on one line unless the cell's text is long. */
  numeric?: boolean;
}

// Beyond this many characters a figure is words, which may wrap.
const LONG_FIGURE = 24;

/** A data table; `caption` is read by screen readers and shown above the table. */
export function table<T>(rows: readonly T[], columns: readonly Column<T>[], caption?: string): SafeHtml {
  const cls = (column: Column<T>) => (column.numeric ? ' class="num"' : '');
  return html`<div class="table-wrap"><table>${caption ? html`<caption>${caption}</caption>` : ''}
<thead><tr>${columns.map((column) => html`<th scope="col"${trustedHtml(cls(column))}>${column.header}</th>`)}</tr></thead>
<tbody>${rows.map((row) => html`<tr>${columns.map((column) => {
    const cell = column.cell(row);
    const long = column.numeric && typeof cell === 'string' && cell.length > LONG_FIGURE;
    return html`<td${trustedHtml(long ? ' class="num long"' : cls(column))}>${cell}</td>`;
  })}</tr>`)}</tbody>
</table></div>`;
}

/** A definition list of label → value pairs; rows whose value is undefined are left out. */
export function facts(rows: ReadonlyArray<readonly [label: string, value: HtmlValue]>): SafeHtml {
  const shown = rows.filter(([, value]) => value !== undefined);
  return html`<dl class="facts">${shown.map(([label, value]) => html`<dt>${label}</dt><dd>${value}</dd>`)}</dl>`;
}

/**
 * Embeds data for the page's script. Escaping every `<` (and `>`, `&`, the JS line
 * separators) as \u escapes keeps `</script>` and `<!--` in journal text from ending or
 * confusing the script element, while JSON.parse reads the same string back.
 */
export function jsonScript(id: string, data: unknown): SafeHtml {
  const json = JSON.stringify(data)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
  return trustedHtml(`<script type="application/json" id="${escapeHtml(id)}">${json}</script>`);
}

/**
 * Makes JavaScript source safe inside an inline <script>: the HTML parser ends the element
 * at the first `</script`, whatever JS string or comment it is in. `<\/` means `</` in JS
 * strings, regexes and comments alike.
 */
function inlineScriptSource(source: string): string {
  return source.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

const FONT_STACK = `system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans", "Liberation Sans", Arial, sans-serif`;
const MONO_STACK = `ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", "DejaVu Sans Mono", monospace`;

const CSS = `
:root {
  --text: ${PALETTE.text}; --muted: ${PALETTE.muted}; --border: ${PALETTE.border}; --grid: ${PALETTE.grid};
  --surface: ${PALETTE.surface}; --page: ${PALETTE.page};
  --pass: ${PALETTE.pass}; --fail: ${PALETTE.fail}; --error: ${PALETTE.error}; --interrupted: ${PALETTE.interrupted};
  --info: ${PALETTE.blue}; --neutral: ${PALETTE.muted};
  --font: ${FONT_STACK}; --mono: ${MONO_STACK};
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--page); color: var(--text); font: 14px/1.5 var(--font); }
.page { max-width: 1120px; margin: 0 auto; padding: 28px 24px 48px; }
.page.wide { max-width: 1360px; }
a { color: var(--info); text-decoration: none; }
a:hover { text-decoration: underline; }
h1 { font-size: 26px; line-height: 1.25; margin: 2px 0 6px; font-weight: 650; overflow-wrap: anywhere; }
h2 { font-size: 17px; margin: 0 0 14px; font-weight: 650; }
h3 { font-size: 13px; margin: 20px 0 8px; font-weight: 650; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
p { margin: 0 0 10px; }
code, pre, .mono { font-family: var(--mono); font-size: 12.5px; }
.muted { color: var(--muted); }
.eyebrow { font-size: 12px; font-weight: 600; letter-spacing: .08em; text-transform: uppercase; color: var(--muted); }
.description { color: var(--muted); max-width: 80ch; margin-bottom: 12px; }
.meta { display: flex; flex-wrap: wrap; gap: 6px 22px; margin: 0 0 16px; padding: 0; }
.meta div { display: flex; gap: 6px; align-items: baseline; }
.meta dt { color: var(--muted); font-size: 12px; }
.meta dd { margin: 0; font-weight: 550; overflow-wrap: anywhere; }
.toc { display: flex; flex-wrap: wrap; gap: 4px 6px; margin-bottom: 18px; font-size: 13px; }
.toc a { padding: 3px 10px; border: 1px solid var(--border); border-radius: 999px; background: var(--surface); color: var(--text); }
.toc a:hover { border-color: var(--info); color: var(--info); text-decoration: none; }
.card { background: var(--surface); border: 1px solid var(--border); border-radius: 10px; padding: 20px 22px; margin-bottom: 16px; }
.verdict { border-top: 6px solid var(--tone); }
.verdict-head { display: flex; gap: 18px; align-items: center; margin-bottom: 16px; }
.badge { display: inline-block; flex: none; white-space: nowrap; min-width: 116px; text-align: center; padding: 10px 18px; border-radius: 8px; background: var(--tone); color: #fff; font-size: 26px; font-weight: 750; letter-spacing: .06em; }
.headline { font-size: 17px; font-weight: 600; margin: 0 0 2px; overflow-wrap: anywhere; }
.tone-pass { --tone: var(--pass); } .tone-fail { --tone: var(--fail); } .tone-error { --tone: var(--error); }
.tone-interrupted { --tone: var(--interrupted); } .tone-neutral { --tone: var(--neutral); } .tone-info { --tone: var(--info); }
.callout { border-left: 4px solid var(--tone); background: color-mix(in srgb, var(--tone) 7%, white); padding: 10px 14px; border-radius: 6px; margin-bottom: 14px; overflow-wrap: anywhere; }
.callout strong { display: block; }
.pill { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 11.5px; font-weight: 650; letter-spacing: .02em; white-space: nowrap; border: 1px solid currentColor; }
.pill-pass { color: var(--pass); background: color-mix(in srgb, var(--pass) 9%, white); }
.pill-fail { color: var(--fail); background: color-mix(in srgb, var(--fail) 9%, white); }
.pill-error { color: var(--error); background: color-mix(in srgb, var(--error) 9%, white); }
.pill-interrupted, .pill-neutral { color: var(--muted); background: var(--page); border-color: var(--border); }
.pill-info { color: var(--info); background: color-mix(in srgb, var(--info) 8%, white); }
.table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
caption { text-align: left; color: var(--muted); font-size: 12.5px; padding-bottom: 6px; }
th { text-align: left; overflow-wrap: normal; word-break: normal; hyphens: none; font-size: 11.5px; font-weight: 650; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); border-bottom: 1px solid var(--border); padding: 6px 10px 6px 0; }
td { border-bottom: 1px solid var(--grid); padding: 7px 10px 7px 0; vertical-align: top; overflow-wrap: anywhere; }
tr:last-child td { border-bottom: 0; }
.num { text-align: right; white-space: nowrap; }
.param { white-space: nowrap; }
/* A figure too long for one line (a measured value in words) wraps instead of pushing the columns after it out of view. */
.num.long { white-space: normal; overflow-wrap: anywhere; min-width: 12em; }
.callout .message, .note-text { white-space: pre-line; }
.sha-full { display: none; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 12px; }
.figure { border: 1px solid var(--border); border-radius: 8px; padding: 12px 14px; background: var(--surface); }
.figure .label { font-size: 12px; color: var(--muted); font-weight: 600; }
.figure .value { font-size: 24px; font-weight: 700; font-variant-numeric: tabular-nums; line-height: 1.3; margin: 2px 0; }
.figure .value.unmeasured { font-size: 16px; color: var(--muted); font-weight: 600; padding: 6px 0 3px; }
.figure .value.tone-pass { color: var(--pass); } .figure .value.tone-fail { color: var(--fail); }
.figure .sub { font-size: 12px; color: var(--muted); }
.grid-2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 8px 28px; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 6px 16px; margin: 0; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; overflow-wrap: anywhere; }
figure.chart { margin: 0 0 8px; }
.chart-box { position: relative; width: 100%; }
figcaption { font-size: 12.5px; color: var(--muted); margin-top: 8px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin: 0 4px 0 10px; vertical-align: -1px; box-shadow: inset 0 0 0 1px rgba(31, 35, 40, 0.2); }
.swatch:first-child { margin-left: 0; }
.note { border: 1px dashed var(--border); border-radius: 8px; padding: 14px 16px; color: var(--muted); background: var(--page); }
.note strong { color: var(--text); }
details { margin-top: 10px; }
details > summary { cursor: pointer; color: var(--info); font-size: 13px; user-select: none; }
details[open] > summary { margin-bottom: 10px; }
.compact { max-width: 560px; }
.compact td { padding-top: 4px; padding-bottom: 4px; }
.breakdown { display: flex; height: 26px; border-radius: 6px; overflow: hidden; margin: 4px 0 10px; border: 1px solid var(--border); }
.breakdown span { display: block; height: 100%; min-width: 2px; box-shadow: inset -1px 0 0 #fff; }
.runbook { list-style: none; padding: 0; margin: 0; counter-reset: step; }
.runbook li { border: 1px solid var(--border); border-radius: 8px; margin-bottom: 10px; overflow: hidden; }
.step-head { display: flex; flex-wrap: wrap; gap: 6px 14px; align-items: center; padding: 7px 12px; background: var(--page); border-bottom: 1px solid var(--border); font-size: 12.5px; }
.step-no { font-weight: 700; font-variant-numeric: tabular-nums; min-width: 2.2em; }
.step-head .spacer { flex: 1; }
.cmd { display: flex; align-items: flex-start; }
.cmd pre { flex: 1; margin: 0; padding: 10px 12px; white-space: pre-wrap; overflow-wrap: anywhere; user-select: all; background: var(--surface); }
.copy { margin: 7px 8px 0 0; font: 600 11.5px var(--font); color: var(--muted); background: var(--surface); border: 1px solid var(--border); border-radius: 6px; padding: 3px 9px; cursor: pointer; }
.copy:hover { color: var(--info); border-color: var(--info); }
.errors li { margin-bottom: 10px; }
.sha { font-family: var(--mono); font-size: 12px; cursor: help; }
footer { color: var(--muted); font-size: 12px; margin-top: 26px; text-align: center; }
.comparison table { font-size: 13px; }
.comparison th { font-size: 10.5px; vertical-align: bottom; padding-right: 10px; white-space: normal; }
.comparison td { vertical-align: middle; padding: 9px 10px 9px 0; }
.comparison td:first-child { overflow-wrap: normal; min-width: 10.5em; }
.win { display: inline-block; padding: 3px 7px; margin: -3px -7px; border-radius: 6px; background: color-mix(in srgb, var(--pass) 12%, white); box-shadow: inset 0 0 0 1px color-mix(in srgb, var(--pass) 45%, white); color: var(--pass); font-weight: 700; }
.best { display: block; font-size: 10px; font-weight: 700; letter-spacing: .08em; text-transform: uppercase; }
.spread { display: block; font-size: 11.5px; color: var(--muted); font-weight: 400; white-space: nowrap; }
.runs { display: flex; flex-wrap: wrap; gap: 4px; margin-top: 5px; }
a.pill:hover { text-decoration: none; filter: brightness(0.92); }
.chart-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(430px, 1fr)); gap: 8px 30px; }
.chart-cell h3 { margin-top: 8px; }
@media (max-width: 640px) { .verdict-head { flex-direction: column; align-items: flex-start; } .page { padding: 16px 12px 32px; } }
@media print {
  @page { margin: 14mm 12mm; }
  @page wide { size: A4 landscape; }
  .page.wide { page: wide; }
  body { background: #fff; font-size: 10.5pt; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .page { max-width: none; padding: 0; }
  .toc, .copy, details.data { display: none; }
  details > summary { color: inherit; font-weight: 650; }
  .card { border: 1px solid #bbb; border-radius: 0; padding: 12px 0 6px; border-width: 1px 0 0; margin: 0 0 10px; }
  .verdict { border-top-width: 6px; padding-top: 12px; }
  h2, h3 { break-after: avoid; }
  .figure, figure.chart, .runbook li, tr, .callout, .note { break-inside: avoid; }
  #timeline, #phases, #rpo, .chart-cell { break-inside: avoid; }
  .chart-grid { grid-template-columns: 1fr 1fr; }
  .chart-box canvas { max-width: 100% !important; height: auto !important; }
  .cmd pre { user-select: text; }
  .sha-short { display: none; }
  .sha-full { display: inline; font-size: 7.5pt; overflow-wrap: anywhere; }
  a { color: inherit; }
}
`;

/** Everything the page shell needs; scripts are inline JavaScript sources. */
export interface PageOptions {
  title: string;
  body: SafeHtml;
  scripts?: readonly string[];
  /** A wider page, printed landscape: for tables with many columns (the comparison). */
  wide?: boolean;
  /** A live page that asks the server it came from for updates (the game day's): fetches to its own origin are allowed, nothing else. */
  live?: boolean;
}

/**
 * A complete, self-contained document. The Content-Security-Policy forbids every fetch
 * (`default-src 'none'`) and allows only the page's own scripts, by hash: the report
 * cannot reach the network even by mistake, and an injected script could not run. The
 * empty data: icon keeps the browser from asking for /favicon.ico.
 */
export function page(options: PageOptions): string {
  const scripts = (options.scripts ?? []).map(inlineScriptSource);
  const hashes = scripts.map((source) => `'sha256-${createHash('sha256').update(source, 'utf8').digest('base64')}'`);
  const csp = [
    "default-src 'none'",
    ...(options.live ? ["connect-src 'self'"] : []),
    `script-src ${hashes.length > 0 ? hashes.join(' ') : "'none'"}`,
    "style-src 'unsafe-inline'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="generator" content="firedrill">
<title>${escapeHtml(options.title)}</title>
<link rel="icon" href="data:,">
<style>${CSS}</style>
</head>
<body>
<div class="page${options.wide ? ' wide' : ''}">
${options.body.value}
</div>
${scripts.map((source) => `<script>${source}</script>`).join('\n')}
</body>
</html>
`;
}

