// A live view of one rule's windows (or one saved query of a dashboard): fed by snapshot and update messages, it
// shows a leaderboard, the time series of the windows, the groups of the newest window, late events and `final`.

import uPlot from '../vendor/uplot/uPlot.esm.js';
import { add, clear, fill, formatNumber, formatTime, groupLabel, h } from './dom.js';

const KEEP = 30;
const COLORS = ['#1a5fb4', '#c64600', '#1e7d32', '#813d9c', '#a15c00', '#006c75', '#b3261e', '#3d3846'];

/** What one window says for one aggregation, all groups together. */
function scalar(window, agg) {
  const values = window.groups.map(g => g.values?.[agg.name]).filter(v => typeof v === 'number');
  if (!values.length) return null;
  switch (agg.op) {
    case 'min': return Math.min(...values);
    case 'max': return Math.max(...values);
    case 'avg': return values.reduce((a, b) => a + b, 0) / values.length;
    default: return values.reduce((a, b) => a + b, 0);
  }
}

/** Seconds of an ISO-8601 duration such as PT1M or P1DT2H (0 when unreadable). */
export function seconds(iso) {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(iso || '');
  return m ? (+m[1] || 0) * 86400 + (+m[2] || 0) * 3600 + (+m[3] || 0) * 60 + (+m[4] || 0) : 0;
}

export class RuleView {
  /** aggregations: the rule's [{name, op}]; title: a heading; window: the rule's {size, slide?}. */
  constructor(aggregations, title, window) {
    this.aggregations = aggregations || [];
    this.step = seconds(window?.slide || window?.size);
    this.windows = new Map();
    this.meta = {};
    this.metric = (this.aggregations.find(a => a.op !== 'topk') || this.aggregations[0] || {}).name;
    this.chart = null;
    this.scheduled = false;
    this.el = h('section', { class: 'card live', 'aria-label': title || 'Live results' });
    this.heading = h('h2', {}, title || 'Live results');
    this.status = h('p', { class: 'muted', 'data-testid': 'live-status', 'aria-live': 'polite' }, 'Waiting for the snapshot…');
    this.board = h('ol', { class: 'board', 'data-testid': 'leaderboard' });
    this.topk = h('div');
    this.chartBox = h('div', { class: 'chart', 'data-testid': 'series' });
    this.groups = h('div', { 'data-testid': 'groups' });
    this.windowList = h('div', { 'data-testid': 'windows' });
    const metricSelect = h('select', { 'aria-label': 'Rank groups by', onchange: e => { this.metric = e.target.value; this.render(); } },
      this.aggregations.filter(a => a.op !== 'topk').map(a => h('option', { value: a.name, selected: a.name === this.metric }, a.name)));
    add(this.el, this.heading, this.status,
      h('div', { class: 'row' },
        h('div', { class: 'grow' }, h('h2', {}, 'Leaderboard ', h('span', { class: 'hint' }, 'newest window, ranked by ')), metricSelect, this.board, this.topk),
        h('div', { class: 'grow' }, h('h2', {}, 'Windows over time'), this.chartBox)),
      h('h2', {}, 'Groups of the newest window'), this.groups,
      h('h2', {}, 'Recent windows'), this.windowList);
  }

  snapshot(message) {
    this.windows.clear();
    this.meta = { ruleVersion: message.ruleVersion, watermark: message.watermark, lateEvents: message.lateEvents, version: message.version };
    this.apply(message.windows || []);
  }

  update(windows, version) {
    this.meta.version = version;
    this.apply(windows || []);
  }

  /** lateEvents and watermark, which updates do not carry, from a results read. */
  facts(results) {
    if (typeof results.lateEvents === 'number') this.meta.lateEvents = results.lateEvents;
    if (results.watermark) this.meta.watermark = results.watermark;
    if (results.ruleVersion !== undefined) this.meta.ruleVersion = results.ruleVersion;
    this.schedule();
  }

  apply(windows) {
    for (const w of windows) this.windows.set(w.start, w);
    const starts = [...this.windows.keys()].sort();
    while (starts.length > KEEP) this.windows.delete(starts.shift());
    this.schedule();
  }

  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => { this.scheduled = false; this.render(); });
  }

  sorted() {
    return [...this.windows.values()].sort((a, b) => a.start.localeCompare(b.start));
  }

  render() {
    const windows = this.sorted();
    const newest = [...windows].reverse().find(w => w.groups?.length) || windows[windows.length - 1];
    const m = this.meta;
    fill(this.status, 
      h('span', { class: 'badge active' }, 'live'), ' ',
      m.ruleVersion !== undefined ? `rule version ${m.ruleVersion} · ` : '',
      `message ${m.version ?? '–'} · watermark ${m.watermark ? formatTime(m.watermark) : 'none yet'} · `,
      h('span', { 'data-testid': 'late-events' }, `late events ${formatNumber(m.lateEvents ?? 0)}`));
    this.renderBoard(newest);
    this.renderChart(windows);
    this.renderGroups(newest);
    this.renderWindows(windows);
  }

  renderBoard(window) {
    clear(this.board);
    clear(this.topk);
    if (!window || !window.groups?.length) {
      add(this.board, h('li', { class: 'muted' }, h('span'), 'No events in the recent windows yet.'));
      return;
    }
    const ranked = window.groups.filter(g => typeof g.values?.[this.metric] === 'number')
      .sort((a, b) => b.values[this.metric] - a.values[this.metric] || groupLabel(a.group).localeCompare(groupLabel(b.group))).slice(0, 10);
    const top = ranked.length ? ranked[0].values[this.metric] || 1 : 1;
    ranked.forEach((g, i) => add(this.board, h('li', { 'data-group': groupLabel(g.group), 'data-value': g.values[this.metric] },
      h('span', { class: 'muted' }, `${i + 1}.`), h('span', {}, groupLabel(g.group)), h('strong', { class: 'num' }, formatNumber(g.values[this.metric])),
      h('div', { class: 'bar', style: `width:${Math.max(2, 100 * g.values[this.metric] / top)}%` }))));
    for (const agg of this.aggregations.filter(a => a.op === 'topk')) {
      const counts = new Map();
      for (const g of window.groups) for (const e of g.values?.[agg.name] || []) counts.set(e.value, (counts.get(e.value) || 0) + e.count);
      const entries = [...counts].sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0]))).slice(0, 10);
      add(this.topk, h('h2', {}, `Top ${agg.field || ''} `, h('span', { class: 'hint' }, `(${agg.name}, newest window)`)),
        h('ol', { class: 'board', 'data-testid': 'topk-' + agg.name },
          entries.map(([value, count], i) => h('li', {}, h('span', { class: 'muted' }, `${i + 1}.`), h('span', {}, value), h('strong', {}, formatNumber(count))))));
    }
  }

  renderChart(windows) {
    const series = this.aggregations.filter(a => a.op !== 'topk');
    if (!windows.length || !series.length) return;
    // The last ten window starts up to the newest, a window without events at 0 (none of its events counted yet).
    const byStart = new Map(windows.map(w => [Date.parse(w.start) / 1000, w]));
    const newest = Math.max(...byStart.keys());
    const xs = this.step > 0 ? Array.from({ length: 10 }, (_, i) => newest - (9 - i) * this.step) : [...byStart.keys()].sort((a, b) => a - b);
    const none = a => (['min', 'max', 'avg'].includes(a.op) ? null : 0); // no events: a count is 0, a minimum is nothing
    const data = [xs, ...series.map(a => xs.map(x => (byStart.has(x) ? scalar(byStart.get(x), a) ?? none(a) : none(a))))];
    const width = Math.max(280, this.chartBox.clientWidth || 520);
    if (this.chart && this.chart.series.length === series.length + 1 && Math.abs(this.chart.width - width) < 4) {
      this.chart.setData(data);
      return;
    }
    this.chart?.destroy();
    clear(this.chartBox);
    this.chart = new uPlot({
      width, height: 220,
      tzDate: ts => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'), // UTC, as every time on the page
      series: [{}, ...series.map((a, i) => ({ label: `${a.name} (${a.op})`, stroke: COLORS[i % COLORS.length], width: 2, points: { show: true } }))],
      axes: [{}, { size: 60 }],
    }, data, this.chartBox);
  }

  renderGroups(window) {
    clear(this.groups);
    if (!window) return;
    const aggs = this.aggregations;
    const format = (agg, v) => agg.op === 'topk' && Array.isArray(v) ? v.map(e => `${e.value} (${e.count})`).join(', ') : formatNumber(v ?? 0);
    add(this.groups, h('p', { class: 'muted' }, `${formatTime(window.start)} – ${formatTime(window.end)} `,
      h('span', { class: 'badge ' + (window.final ? 'final' : 'open') }, window.final ? 'final' : 'open'),
      window.overflowGroups ? ` · ${window.overflowGroups} groups over the quota` : ''),
      h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Group'), aggs.map(a => h('th', { class: a.op === 'topk' ? '' : 'num' }, a.name)))),
        h('tbody', {}, (window.groups || []).map(g => h('tr', {}, h('td', {}, groupLabel(g.group)),
          aggs.map(a => h('td', { class: a.op === 'topk' ? '' : 'num' }, format(a, g.values?.[a.name]))))))));
  }

  renderWindows(windows) {
    clear(this.windowList);
    const aggs = this.aggregations.filter(a => a.op !== 'topk');
    add(this.windowList, h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, 'Window'), h('th', {}, ''), h('th', { class: 'num' }, 'groups'), aggs.map(a => h('th', { class: 'num' }, a.name)))),
      h('tbody', {}, [...windows].reverse().slice(0, 10).map(w => h('tr', { 'data-final': w.final },
        h('td', {}, formatTime(w.start)), h('td', {}, h('span', { class: 'badge ' + (w.final ? 'final' : 'open') }, w.final ? 'final' : 'open')),
        h('td', { class: 'num' }, (w.groups || []).length), aggs.map(a => h('td', { class: 'num' }, formatNumber(scalar(w, a) ?? 0))))))));
  }

  destroy() {
    this.chart?.destroy();
  }
}
