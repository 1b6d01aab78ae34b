/**
 * The HTML reports' own script, inlined after Chart.js. It is plain JavaScript in a string
 * rather than compiled TypeScript: the project compiles without DOM types, and
 * Function#toString of compiled code can carry a bundler's helpers that do not exist in the
 * page. The browser tests (test/browser/) run it for real.
 *
 * Every report's script is the same shell (clientScript): it reads the chart model the report
 * embedded as #firedrill-data (html-charts.ts, html-compare.ts), sets Chart.js up, and offers
 * `draw(id, data, build)` — a chart that fails is replaced by a note pointing at its table and
 * the failure is logged to the console, so the rest of the page still works — plus bar-label
 * and event-marker plugins, copy buttons and print handling. Each report adds only the
 * builders of its own charts and the calls that draw them.
 */

const PRELUDE = String.raw`  var source = document.getElementById('firedrill-data');
  if (!source) return;
  var model = JSON.parse(source.textContent || '{}');
  var charts = [];

  function replaceWithNote(canvas, text) {
    var box = canvas.closest('.chart-box') || canvas;
    var note = document.createElement('p');
    note.className = 'note';
    note.textContent = text;
    box.replaceWith(note);
  }

  function draw(id, data, build) {
    var canvas = document.getElementById(id);
    if (!canvas || !data) return;
    if (typeof Chart !== 'function') {
      replaceWithNote(canvas, 'Charts are unavailable in this viewer; the numbers are in the table below.');
      return;
    }
    try {
      charts.push(new Chart(canvas, build(data)));
    } catch (error) {
      replaceWithNote(canvas, 'This chart could not be drawn (' + error.message + '); the numbers are in the table below.');
      console.error(error);
    }
  }

  // Vertical event lines with labels, and shaded spans behind the data (the figure caption
  // names the spans: a label inside the plot would sit on top of the lines).
  function markerPlugin(markers, bands) {
    return {
      id: 'firedrillMarkers',
      beforeDatasetsDraw: function (chart) {
        var area = chart.chartArea, x = chart.scales.x, ctx = chart.ctx;
        ctx.save();
        bands.forEach(function (band) {
          var from = Math.max(area.left, x.getPixelForValue(band.from));
          var to = Math.min(area.right, x.getPixelForValue(band.to));
          if (to <= from) return;
          ctx.fillStyle = band.color;
          ctx.fillRect(from, area.top, to - from, area.bottom - area.top);
        });
        ctx.restore();
      },
      afterDatasetsDraw: function (chart) {
        var area = chart.chartArea, x = chart.scales.x, ctx = chart.ctx;
        var rowEnds = [];
        ctx.save();
        ctx.font = '600 11px ' + Chart.defaults.font.family;
        ctx.textBaseline = 'top';
        markers.forEach(function (marker) {
          var px = x.getPixelForValue(marker.x);
          if (px < area.left - 1 || px > area.right + 1) return;
          ctx.strokeStyle = marker.color;
          ctx.lineWidth = 1.5;
          ctx.setLineDash(marker.dashed ? [5, 4] : []);
          ctx.beginPath();
          ctx.moveTo(px, area.top);
          ctx.lineTo(px, area.bottom);
          ctx.stroke();
          // Labels of close events (detected and restore start are often the same instant)
          // go on the next free row instead of on top of each other.
          var width = ctx.measureText(marker.label).width + 8;
          var left = Math.min(px + 3, area.right - width);
          var row = 0;
          while (rowEnds[row] !== undefined && rowEnds[row] > left) row++;
          rowEnds[row] = left + width + 4;
          var top = area.top + 4 + row * 17;
          ctx.fillStyle = 'rgba(255, 255, 255, 0.9)';
          ctx.fillRect(left, top - 1, width, 15);
          ctx.fillStyle = marker.color;
          ctx.textAlign = 'left';
          ctx.fillText(marker.label, left + 4, top + 1);
        });
        ctx.restore();
      },
    };
  }

  // Text at the end of each horizontal bar (a duration, a count), or past ends[i] (a value
  // on the x axis, e.g. the end of a range drawn over the bar) when that is further out.
  function barLabelPlugin(texts, ends) {
    return {
      id: 'firedrillBarLabels',
      afterDatasetsDraw: function (chart) {
        var area = chart.chartArea, ctx = chart.ctx;
        ctx.save();
        ctx.font = '11px ' + Chart.defaults.font.family;
        ctx.textBaseline = 'middle';
        ctx.fillStyle = model.theme.text;
        chart.getDatasetMeta(0).data.forEach(function (bar, index) {
          var text = texts[index];
          var end = Math.max(bar.x, bar.base), start = Math.min(bar.x, bar.base);
          if (ends && ends[index] !== null && ends[index] !== undefined) end = Math.max(end, chart.scales.x.getPixelForValue(ends[index]));
          var width = ctx.measureText(text).width;
          if (end + 6 + width <= area.right) {
            ctx.textAlign = 'left';
            ctx.fillText(text, end + 6, bar.y);
          } else {
            ctx.textAlign = 'right';
            ctx.fillText(text, start - 6, bar.y);
          }
        });
        ctx.restore();
      },
    };
  }

  // One horizontal bar per row, labels on the left, no legend: the shape of every bar chart in
  // the reports. spec.dataset adds to (or overrides) the bar styling; spec.tooltip(i) labels row i.
  function horizontalBars(spec) {
    var options = {
      indexAxis: 'y',
      plugins: { legend: { display: false } },
      scales: { x: spec.x, y: { grid: { display: false } } },
    };
    if (spec.tooltip) options.plugins.tooltip = { callbacks: { label: function (item) { return spec.tooltip(item.dataIndex); } } };
    return {
      type: 'bar',
      data: {
        labels: spec.labels,
        datasets: [Object.assign({ label: spec.label, data: spec.data, backgroundColor: spec.colors, borderRadius: 3 }, spec.dataset)],
      },
      options: options,
      plugins: spec.plugins,
    };
  }

  function seconds(value) {
    return Number(value).toFixed(Math.abs(value) < 10 ? 1 : 0) + ' s';
  }

  if (typeof Chart === 'function') {
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.font.size = 12;
    Chart.defaults.color = model.theme.muted;
    Chart.defaults.borderColor = model.theme.grid;
    // No animation: a printed or screenshotted report must show final values, not a frame.
    Chart.defaults.animation = false;
    Chart.defaults.maintainAspectRatio = false;
  }
`;

const EPILOGUE = String.raw`  document.addEventListener('click', function (event) {
    var button = event.target.closest('button.copy');
    if (!button) return;
    var text = button.parentNode.querySelector('pre').textContent;
    function done(label) {
      button.textContent = label;
      setTimeout(function () { button.textContent = 'Copy'; }, 1500);
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () { done('Copied'); }, function () { done('Select and copy'); });
    } else {
      done('Select and copy');
    }
  });

  // Printing: charts re-fit the paper width, and the runbook's collapsed commands are
  // printed too (a printed runbook with hidden steps would be wrong). Data tables stay folded.
  var opened = [];
  window.addEventListener('beforeprint', function () {
    document.querySelectorAll('details.print-open:not([open])').forEach(function (details) {
      details.open = true;
      opened.push(details);
    });
    charts.forEach(function (chart) { chart.resize(); });
  });
  window.addEventListener('afterprint', function () {
    opened.splice(0).forEach(function (details) { details.open = false; });
    charts.forEach(function (chart) { chart.resize(); });
  });
`;

/** A report's script: the shared shell around `charts`, the report's chart builders and draw calls. */
export function clientScript(charts: string): string {
  return `(function () {\n  'use strict';\n${PRELUDE}\n${charts}\n${EPILOGUE}\n})();\n`;
}

/** The drill report's charts: workload timeline, phase waterfall, data loss, history trend. */
const DRILL_CHARTS = String.raw`  function timeline(m) {
    return {
      type: 'line',
      data: {
        datasets: m.datasets.map(function (d) {
          return {
            label: d.label,
            data: d.points,
            yAxisID: d.axis,
            borderColor: d.color,
            backgroundColor: d.fill ? d.color + '1f' : d.color,
            fill: d.fill ? 'origin' : false,
            borderWidth: d.axis === 'rate' ? 2 : 1.5,
            borderDash: d.dashed ? [5, 3] : [],
            pointRadius: 0,
            pointHoverRadius: 3,
            spanGaps: false,
          };
        }),
      },
      options: {
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        plugins: {
          legend: { position: 'top', align: 'end', labels: { boxWidth: 14, boxHeight: 3 } },
          tooltip: {
            callbacks: {
              title: function (items) {
                if (!items.length) return '';
                var x = items[0].parsed.x;
                var wall = m.wallStartMs === null ? '' : ' · ' + new Date(m.wallStartMs + x * 1000).toISOString().slice(11, 19) + ' UTC';
                return 'drill time ' + x.toFixed(1) + ' s' + wall;
              },
              label: function (item) {
                var unit = item.dataset.yAxisID === 'rate' ? ' /s' : ' ms';
                return item.dataset.label + ': ' + item.parsed.y + unit;
              },
            },
          },
        },
        scales: {
          // Suggested (not fixed) bounds: the axis rounds out to whole ticks around them.
          x: { type: 'linear', suggestedMin: m.xMin, suggestedMax: m.xMax, title: { display: true, text: 'drill time' }, ticks: { callback: seconds } },
          rate: { type: 'linear', position: 'left', beginAtZero: true, title: { display: true, text: 'writes/s' } },
          latency: { type: m.latencyScale, position: 'right', grid: { drawOnChartArea: false }, title: { display: true, text: 'latency (ms)' } },
        },
      },
      plugins: [markerPlugin(m.markers, m.bands)],
    };
  }

  function phases(m) {
    var bars = m.bars;
    return horizontalBars({
      label: 'phase',
      labels: bars.map(function (b) { return b.label; }),
      data: bars.map(function (b) { return [b.from, b.to]; }),
      colors: bars.map(function (b) { return b.color; }),
      dataset: {
        borderColor: bars.map(function (b) { return b.ok ? b.color : model.theme.fail; }),
        borderWidth: bars.map(function (b) { return b.ok ? 0 : 2; }),
        borderSkipped: false,
        minBarLength: 3,
        barPercentage: 0.8,
        categoryPercentage: 0.9,
      },
      tooltip: function (i) {
        var b = bars[i];
        return b.duration + ' (' + b.from.toFixed(2) + ' s to ' + b.to.toFixed(2) + ' s)' + (b.ok ? '' : ', failed');
      },
      x: { type: 'linear', min: m.xMin, suggestedMax: m.xMax + (m.xMax - m.xMin) * 0.06, title: { display: true, text: 'drill time' }, ticks: { callback: seconds } },
      plugins: [markerPlugin(m.markers, []), barLabelPlugin(bars.map(function (b) { return b.duration; }))],
    });
  }

  function rpo(rows) {
    return horizontalBars({
      label: 'rows',
      labels: rows.map(function (r) { return r.label; }),
      data: rows.map(function (r) { return r.value; }),
      colors: rows.map(function (r) { return r.color; }),
      dataset: { barPercentage: 0.75 },
      x: { beginAtZero: true, suggestedMax: 1, grace: '12%', ticks: { precision: 0 }, title: { display: true, text: 'rows' } },
      plugins: [barLabelPlugin(rows.map(function (r) { return r.text; }))],
    });
  }

  // A figure sampled every second (a standby's lag): one axis per unit, the fault marked.
  function samples(m) {
    var titles = { ms: 'ms', bytes: 'bytes', count: 'count' };
    var scales = { x: { type: 'linear', suggestedMin: m.xMin, suggestedMax: m.xMax, title: { display: true, text: 'drill time' }, ticks: { callback: seconds } } };
    m.datasets.forEach(function (d, index) {
      if (!scales[d.unit]) scales[d.unit] = { type: 'linear', position: index === 0 ? 'left' : 'right', beginAtZero: true, grid: { drawOnChartArea: index === 0 }, title: { display: true, text: titles[d.unit] } };
    });
    return {
      type: 'line',
      data: {
        datasets: m.datasets.map(function (d) {
          return { label: d.label, data: d.points, yAxisID: d.unit, borderColor: d.color, backgroundColor: d.color, borderWidth: 2, pointRadius: 2, spanGaps: false };
        }),
      },
      options: {
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        plugins: { legend: { position: 'top', align: 'end', labels: { boxWidth: 14, boxHeight: 3 } } },
        scales: scales,
      },
      plugins: [markerPlugin(m.markers, [])],
    };
  }

  // Earlier drills of the same scenario and strategy, one point per run, this one last. A
  // point of a drill that did not pass is drawn in the failure colour.
  function history(m) {
    return {
      type: 'line',
      data: {
        labels: m.labels,
        datasets: m.datasets.map(function (d) {
          return {
            label: d.label,
            data: d.values,
            borderColor: d.color,
            backgroundColor: d.color,
            borderWidth: 2,
            borderDash: d.dashed ? [5, 3] : [],
            pointRadius: 3.5,
            pointHoverRadius: 5,
            pointBackgroundColor: m.passed.map(function (ok) { return ok ? d.color : model.theme.fail; }),
            pointBorderColor: m.passed.map(function (ok) { return ok ? d.color : model.theme.fail; }),
            spanGaps: false,
          };
        }),
      },
      options: {
        interaction: { mode: 'index', intersect: false },
        plugins: {
          legend: { position: 'top', align: 'end', labels: { boxWidth: 14, boxHeight: 3 } },
          tooltip: {
            callbacks: {
              label: function (item) { return m.datasets[item.datasetIndex].label + ': ' + m.datasets[item.datasetIndex].texts[item.dataIndex]; },
            },
          },
        },
        scales: {
          x: { grid: { display: false } },
          y: { beginAtZero: true, title: { display: true, text: 'seconds' }, ticks: { callback: seconds } },
        },
      },
    };
  }

  draw('chart-timeline', model.timeline, timeline);
  draw('chart-phases', model.phases, phases);
  draw('chart-rpo', model.rpo, rpo);
  draw('chart-samples', model.samples, samples);
  draw('chart-history', model.history, history);
`;

/** The drill report's script. */
export const CLIENT_SCRIPT = clientScript(DRILL_CHARTS);
