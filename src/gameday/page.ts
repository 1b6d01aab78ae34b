import { chartJsSource } from '../report/html.js';
import { html, page, PALETTE } from '../report/html-markup.js';
import { STANDARD_MARKS } from './session.js';

/**
 * The page's script: it polls the game day's state every second and draws it; buttons post
 * marks, open the runbook and declare a database restored. The token comes from the page's
 * own address and goes in a header, so no link of the page carries it.
 */
const CLIENT = String.raw`
(() => {
  const token = new URLSearchParams(location.search).get('token') || '';
  const $ = (id) => document.getElementById(id);
  const api = async (path, body) => {
    const response = await fetch(path, { method: body === undefined ? 'GET' : 'POST', headers: { authorization: 'Bearer ' + token, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const json = await response.json();
    if (!response.ok) throw new Error(json.error || response.statusText);
    return json;
  };
  const clock = (ms) => {
    if (ms === null || ms === undefined) return '—';
    const s = Math.max(0, Math.floor(ms / 1000));
    const pad = (n) => String(n).padStart(2, '0');
    return pad(Math.floor(s / 3600)) + ':' + pad(Math.floor(s / 60) % 60) + ':' + pad(s % 60);
  };
  const text = (tag, content, cls) => { const el = document.createElement(tag); el.textContent = content; if (cls) el.className = cls; return el; };
  const rows = (tbody, items, cells) => { tbody.replaceChildren(...items.map((item) => { const tr = document.createElement('tr'); for (const cell of cells(item)) tr.append(typeof cell === 'string' ? text('td', cell) : cell); return tr; })); };
  const mono = (value) => text('td', value, 'mono');
  const size = (bytes) => bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + ' MiB' : bytes >= 1024 ? (bytes / 1024).toFixed(1) + ' KiB' : bytes + ' B';
  let state;
  let received = 0;
  let chart;
  const say = (message, bad) => { const el = $('said'); el.textContent = message; el.className = bad ? 'said bad' : 'said'; };

  function draw() {
    if (!state) return;
    const elapsed = state.nowMs + (performance.now() - received);
    $('stage').textContent = { preparing: 'setting up', ready: 'ready: the drill runs, the fault is to come', running: 'running: watch for anything wrong', incident: state.announced ? 'INCIDENT' : 'running', verifying: 'verifying the restored database', ended: 'over' }[state.stage];
    $('stage').className = 'stage stage-' + state.stage;
    $('clock-gameday').textContent = clock(elapsed);
    $('clock-incident').textContent = state.fault ? clock((state.stage === 'ended' ? state.nowMs : elapsed) - state.fault.atMs) : state.announced ? 'not yet' : 'not announced';
    $('clock-left').textContent = state.endsAtMs !== null && state.stage === 'incident' ? clock(state.endsAtMs - elapsed) : state.announced ? '—' : clock(state.timeLimitMs) + ' from the fault';
    $('incident').hidden = !state.fault;
    if (state.fault) $('incident-text').textContent = state.fault.description;
  }

  function render() {
    draw();
    const w = state.workload;
    $('rate').textContent = w.writesPerSecond === null ? '—' : w.writesPerSecond.toFixed(1);
    $('errors').textContent = w.errorsPerSecond === null ? '—' : w.errorsPerSecond.toFixed(1);
    $('errors').parentElement.className = 'figure' + (w.errorsPerSecond ? ' alarm' : '');
    if (window.Chart && w.live.length > 0) {
      const labels = w.live.map((p) => p.t + ' s');
      const data = [w.live.map((p) => p.acked), w.live.map((p) => p.errors)];
      if (!chart) {
        chart = new Chart($('live'), { type: 'line', data: { labels, datasets: [
          { label: 'writes acknowledged /s', data: data[0], borderColor: ${JSON.stringify(PALETTE.blue)}, pointRadius: 0, borderWidth: 2, tension: 0.2 },
          { label: 'errors /s', data: data[1], borderColor: ${JSON.stringify(PALETTE.fail)}, pointRadius: 0, borderWidth: 2, tension: 0.2 },
        ] }, options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true } }, plugins: { legend: { position: 'bottom' } } } });
      } else {
        chart.data.labels = labels;
        chart.data.datasets.forEach((dataset, index) => { dataset.data = data[index]; });
        chart.update('none');
      }
    }
    rows($('instances'), state.instances, (i) => [text('td', i.name), i.role, mono(i.host + ':' + i.port), mono(i.user), mono(i.password === null ? '(none)' : i.password), mono(i.uri), mono(i.location)]);
    rows($('storage'), state.storage.flatMap((s) => s.backups.length ? s.backups.map((b) => ({ s, b })) : [{ s }]), ({ s, b }) => [text('td', s.name), s.type + ' · ' + s.region, mono(b ? (b.path || s.address + '/' + b.key) : s.address), b ? b.name : '(no backups)', b ? size(b.sizeBytes) : '']);
    $('scratch').textContent = state.scratch || '';
    rows($('marks'), state.marks, (m) => [mono(clock(m.atMs)), m.label, m.from]);
    rows($('commands'), state.commands, (c) => [mono(clock(c.startedAtMs)), mono(c.command), c.exitCode === null ? (c.signal || 'no exit code') : 'exit ' + c.exitCode, c.step ? 'step ' + c.step : '']);
    const runbook = state.runbook;
    $('runbook-none').hidden = runbook !== null;
    $('runbook-ask').hidden = !runbook || Boolean(runbook.steps);
    $('runbook-from').textContent = runbook ? 'From the drill of ' + runbook.drillAt + ' (' + runbook.from + ')' : '';
    if (runbook && runbook.steps && !$('runbook-steps').childElementCount) {
      $('runbook-steps').replaceChildren(...runbook.steps.map((step, index) => { const li = document.createElement('li'); li.append(text('span', (index + 1) + '. ' + step.phase, 'muted'), text('pre', step.command)); return li; }));
      rows($('runbook-params'), runbook.parameters, (p) => [mono('\${' + p.name + '}'), p.meaning, mono(p.value)]);
      $('runbook-params-wrap').hidden = runbook.parameters.length === 0;
    }
    const over = state.stage === 'ended';
    for (const button of document.querySelectorAll('button[data-mark], #declare button, #mark-form button')) button.disabled = over || state.stage === 'preparing';
    if (state.result) {
      $('result').hidden = false;
      $('result-status').textContent = state.result.status.toUpperCase();
      $('result-headline').textContent = state.result.headline;
      $('result-report').textContent = state.result.report ? 'Report: ' + state.result.report : '';
    }
  }

  async function poll() {
    try {
      state = await api('/api/state');
      received = performance.now();
      render();
      $('offline').hidden = true;
    } catch (error) {
      // After the end the server is gone: what the page last showed stays.
      $('offline').hidden = false;
    }
  }

  const act = async (work, done) => {
    try { const result = await work(); say(done(result), false); await poll(); } catch (error) { say(error.message, true); }
  };
  for (const button of document.querySelectorAll('button[data-mark]')) {
    button.addEventListener('click', () => act(() => api('/api/mark', { label: button.dataset.mark }), (mark) => 'Marked "' + mark.label + '" at ' + clock(mark.atMs)));
  }
  $('mark-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = $('mark-text');
    act(() => api('/api/mark', { label: input.value }), (mark) => { input.value = ''; return 'Marked "' + mark.label + '" at ' + clock(mark.atMs); });
  });
  $('runbook-ask').addEventListener('click', () => act(() => api('/api/runbook', {}), () => 'Runbook opened (recorded)'));
  $('declare').addEventListener('submit', (event) => {
    event.preventDefault();
    const target = $('declare-target').value.trim();
    say('Declared ' + target + ' restored: firedrill points the workload at it and verifies it…', false);
    act(() => api('/api/done', { restored: target }), (result) => result.status.toUpperCase() + ': ' + result.headline);
  });
  setInterval(draw, 250);
  setInterval(poll, 1000);
  poll();
})();
`;

/** The game day's page: everything comes from the state API, so the HTML is the same for every game day. */
export function renderGamedayPage(scenario: string): string {
  const body = html`
<header>
  <div class="eyebrow">firedrill · game day</div>
  <h1>${scenario}</h1>
  <p class="muted">The team recovers with its own tools; firedrill keeps the clock, the workload and the score. Mark each step as it happens.</p>
</header>
<main>
<section class="card gameday-clock">
  <div class="stage" id="stage">connecting…</div>
  <div class="figures">
    <div class="figure"><div class="label">Game day</div><div class="value mono" id="clock-gameday">—</div></div>
    <div class="figure"><div class="label">Incident</div><div class="value mono" id="clock-incident">—</div></div>
    <div class="figure"><div class="label">Time left</div><div class="value mono" id="clock-left">—</div></div>
    <div class="figure"><div class="label">Writes acknowledged /s</div><div class="value" id="rate">—</div></div>
    <div class="figure"><div class="label">Errors /s</div><div class="value" id="errors">—</div></div>
  </div>
  <div class="callout tone-fail" id="incident" hidden><strong>Incident</strong><span id="incident-text"></span></div>
  <p class="note" id="offline" hidden>The game day is over or firedrill stopped: this page shows what it last heard.</p>
  <div class="chart-box" style="height: 180px"><canvas id="live" role="img" aria-label="Writes and errors per second, live"></canvas></div>
</section>
<section class="card" id="result" hidden><h2>Verdict: <span id="result-status"></span></h2><p id="result-headline"></p><p class="mono" id="result-report"></p></section>
<section class="card">
  <h2>Mark what happens</h2>
  <div class="marks">${STANDARD_MARKS.map((label) => html`<button type="button" data-mark="${label}">${label}</button>`)}</div>
  <form id="mark-form"><input id="mark-text" placeholder="anything else worth a timestamp" aria-label="Mark" maxlength="200"><button type="submit">Mark</button></form>
  <p class="said" id="said" role="status"></p>
  <p class="muted">From a shell: <code>firedrill gameday mark "detected"</code>; run commands as <code>firedrill gameday exec -- pg_restore …</code> so they are timed and kept.</p>
  <table><thead><tr><th>At</th><th>Mark</th><th>From</th></tr></thead><tbody id="marks"></tbody></table>
</section>
<section class="card">
  <h2>Declare a database restored</h2>
  <form id="declare"><input id="declare-target" value="spare" aria-label="Instance name or connection URI" size="50"><button type="submit">Declared restored</button></form>
  <p class="muted">An instance by name (the empty <code>spare</code> is there to restore into), or a connection URI on this machine. firedrill then points the workload at it, and measures what it holds: writes lost, damage undone, the RTO.</p>
</section>
<section class="card">
  <h2>Instances</h2>
  <div class="table-wrap"><table><thead><tr><th>Name</th><th>Role</th><th>Address</th><th>User</th><th>Password</th><th>URI</th><th>Where</th></tr></thead><tbody id="instances"></tbody></table></div>
  <h3>Storage and backups</h3>
  <div class="table-wrap"><table><thead><tr><th>Location</th><th>Type</th><th>Where</th><th>Backup</th><th class="num">Size</th></tr></thead><tbody id="storage"></tbody></table></div>
  <p class="muted">Scratch space for your files: <span class="mono" id="scratch"></span> (removed at the end, with any server started from it).</p>
</section>
<section class="card">
  <h2>Runbook</h2>
  <p class="note" id="runbook-none" hidden>No tested runbook: no drill of this scenario has passed in this reports folder.</p>
  <button type="button" id="runbook-ask" hidden>Show the runbook (asking is recorded)</button>
  <p class="muted" id="runbook-from"></p>
  <div id="runbook-params-wrap" hidden><h3>Parameters</h3><table><thead><tr><th>Parameter</th><th>Meaning</th><th>In the drill</th></tr></thead><tbody id="runbook-params"></tbody></table></div>
  <ol class="runbook plain" id="runbook-steps"></ol>
</section>
<section class="card">
  <h2>Commands run through firedrill</h2>
  <div class="table-wrap"><table><thead><tr><th>At</th><th>Command</th><th>Outcome</th><th>Step</th></tr></thead><tbody id="commands"></tbody></table></div>
</section>
</main>
<style>
.stage { font-size: 20px; font-weight: 750; letter-spacing: .04em; text-transform: uppercase; margin-bottom: 12px; color: var(--muted); }
.stage-incident { color: var(--fail); }
.figure.alarm .value { color: var(--fail); }
.marks { display: flex; flex-wrap: wrap; gap: 8px; margin-bottom: 10px; }
button { font: 600 13px var(--font); padding: 6px 14px; border-radius: 6px; border: 1px solid var(--border); background: var(--surface); cursor: pointer; }
button:hover:not(:disabled) { border-color: var(--info); color: var(--info); }
button:disabled { opacity: .5; cursor: default; }
input { font: 13px var(--font); padding: 6px 8px; border: 1px solid var(--border); border-radius: 6px; margin-right: 6px; }
form { margin-bottom: 10px; }
.said { min-height: 1.5em; font-weight: 600; }
.said.bad { color: var(--fail); }
#instances td:first-child { white-space: nowrap; }
ol.plain li { list-style: none; border: 1px solid var(--border); border-radius: 8px; margin-bottom: 8px; padding: 6px 10px; }
ol.plain pre { margin: 4px 0 0; white-space: pre-wrap; overflow-wrap: anywhere; }
</style>`;
  return page({ title: `game day · ${scenario} · firedrill`, body, scripts: [chartJsSource(), CLIENT], live: true });
}
