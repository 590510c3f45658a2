// The rule editor: one input per field of the rule body, the server's validation errors shown by the field its
// JSON pointer names.

import { add, clear, h } from './dom.js';

const OPS = ['count', 'sum', 'min', 'max', 'avg', 'rate', 'distinct', 'topk'];

const list = value => value.split(',').map(s => s.trim()).filter(Boolean);

function field(pointer, label, input, hint) {
  const id = 'f' + pointer.replace(/[^A-Za-z0-9]/g, '-');
  input.id = id;
  input.dataset.pointer = pointer;
  const error = h('div', { class: 'field-error', id: id + '-error', 'data-error-for': pointer });
  input.setAttribute('aria-describedby', id + '-error');
  return h('div', { class: 'field', 'data-field': pointer },
    h('label', { for: id }, label, hint ? h('span', { class: 'hint' }, ' ', hint) : null), input, error);
}

export function ruleForm(rule, { onSubmit, submitLabel }) {
  const r = rule || { aggregations: [{ name: 'events', op: 'count' }], window: { size: 'PT1M' } };
  const text = (name, value, placeholder) => h('input', { name, value: value ?? '', placeholder, autocomplete: 'off' });
  const inputs = {
    name: text('name', r.name, 'Sports by team'),
    size: text('window.size', r.window?.size, 'PT1M'),
    slide: text('window.slide', r.window?.slide, 'tumbling'),
    lateness: text('allowedLateness', r.allowedLateness, 'PT5S'),
    retention: text('retention', r.retention, 'PT24H'),
    groupBy: text('groupBy', (r.groupBy || []).join(', '), 'category, attributes.team'),
    categories: text('filter.categories', (r.filter?.categories || []).join(', '), 'all'),
    types: text('filter.types', (r.filter?.types || []).join(', '), 'all'),
    geos: text('filter.geos', (r.filter?.geos || []).join(', '), 'all'),
    attributes: text('filter.attributes', Object.entries(r.filter?.attributes || {}).map(([k, v]) => `${k}=${v}`).join(', '), 'league=nba'),
    shards: h('input', { name: 'shards', type: 'number', min: 1, max: 16, value: r.shards ?? 1 }),
    backfill: text('backfill', '', 'none, or PT1H'),
    rollupResolution: text('rollup.resolution', r.rollup?.resolution, 'none, or PT1H'),
    rollupRetention: text('rollup.retention', r.rollup?.retention, 'P30D'),
  };
  const aggregations = h('div', { 'data-field': '/aggregations' });
  const aggregationsError = h('div', { class: 'field-error', 'data-error-for': '/aggregations' });
  const rows = [];

  function addRow(agg = { name: '', op: 'count' }) {
    const i = rows.length;
    const name = h('input', { value: agg.name, 'aria-label': `Aggregation ${i + 1} name`, placeholder: 'name', autocomplete: 'off' });
    const op = h('select', { 'aria-label': `Aggregation ${i + 1} op` }, OPS.map(o => h('option', { value: o, selected: o === agg.op }, o)));
    const fieldInput = h('input', { value: agg.field ?? '', 'aria-label': `Aggregation ${i + 1} field`, placeholder: 'value, attributes.user', autocomplete: 'off' });
    const k = h('input', { type: 'number', min: 1, max: 100, value: agg.k ?? '', 'aria-label': `Aggregation ${i + 1} k`, placeholder: 'k' });
    const remove = h('button', { type: 'button', class: 'quiet', 'aria-label': `Remove aggregation ${i + 1}` }, 'Remove');
    const row = { name, op, field: fieldInput, k };
    const cell = (input, pointer) => {
      input.dataset.pointer = pointer;
      const error = h('div', { class: 'field-error', 'data-error-for': pointer });
      return h('div', { 'data-field': pointer }, input, error);
    };
    const el = h('div', { class: 'agg', 'data-field': `/aggregations/${i}` },
      cell(name, `/aggregations/${i}/name`), cell(op, `/aggregations/${i}/op`), cell(fieldInput, `/aggregations/${i}/field`),
      cell(k, `/aggregations/${i}/k`), remove);
    remove.addEventListener('click', () => {
      rows.splice(rows.indexOf(row), 1);
      el.remove();
    });
    rows.push(row);
    aggregations.append(el);
  }
  (r.aggregations || []).forEach(addRow);

  const formErrors = h('div', { class: 'form-errors', role: 'alert' });
  const submit = h('button', { type: 'submit' }, submitLabel || 'Save');
  const form = h('form', { class: 'card', novalidate: true, 'aria-label': 'Rule' },
    formErrors,
    field('/name', 'Name', inputs.name),
    h('div', { class: 'fields' },
      field('/window/size', 'Window size', inputs.size, 'PT1S..P1D'),
      field('/window/slide', 'Slide', inputs.slide, 'hopping; empty = tumbling'),
      field('/allowedLateness', 'Allowed lateness', inputs.lateness),
      field('/retention', 'Retention', inputs.retention)),
    field('/groupBy', 'Group by', inputs.groupBy, 'up to 3: category, type, geo, source, attributes.<key>'),
    h('h2', {}, 'Aggregations'),
    aggregations, aggregationsError,
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'quiet', onclick: () => addRow() }, 'Add aggregation')),
    h('h2', {}, 'Filter ', h('span', { class: 'hint' }, 'comma-separated; empty = every event')),
    h('div', { class: 'fields' },
      field('/filter/categories', 'Categories', inputs.categories),
      field('/filter/types', 'Types', inputs.types),
      field('/filter/geos', 'Geos', inputs.geos),
      field('/filter/attributes', 'Attributes', inputs.attributes, 'key=value, …')),
    h('h2', {}, 'Advanced'),
    h('div', { class: 'fields' },
      field('/shards', 'Shards', inputs.shards),
      field('/backfill', 'Backfill', inputs.backfill, 'count the events of this span first'),
      field('/rollup/resolution', 'Rollup resolution', inputs.rollupResolution),
      field('/rollup/retention', 'Rollup retention', inputs.rollupRetention)),
    h('div', { class: 'actions' }, submit));

  function body() {
    const out = { aggregations: rows.map(row => {
      const agg = { name: row.name.value.trim(), op: row.op.value };
      if (row.field.value.trim()) agg.field = row.field.value.trim();
      if (row.k.value.trim()) agg.k = Number(row.k.value);
      return agg;
    }), window: { size: inputs.size.value.trim() } };
    if (inputs.name.value.trim()) out.name = inputs.name.value.trim();
    if (inputs.slide.value.trim()) out.window.slide = inputs.slide.value.trim();
    if (inputs.lateness.value.trim()) out.allowedLateness = inputs.lateness.value.trim();
    if (inputs.retention.value.trim()) out.retention = inputs.retention.value.trim();
    if (inputs.groupBy.value.trim()) out.groupBy = list(inputs.groupBy.value);
    const filter = {};
    for (const key of ['categories', 'types', 'geos']) if (inputs[key].value.trim()) filter[key] = list(inputs[key].value);
    if (inputs.attributes.value.trim()) {
      filter.attributes = Object.fromEntries(list(inputs.attributes.value).map(pair => {
        const at = pair.indexOf('=');
        return at < 0 ? [pair, ''] : [pair.slice(0, at).trim(), pair.slice(at + 1).trim()];
      }));
    }
    if (Object.keys(filter).length) out.filter = filter;
    if (inputs.shards.value.trim() && Number(inputs.shards.value) !== 1) out.shards = Number(inputs.shards.value);
    if (inputs.backfill.value.trim()) out.backfill = inputs.backfill.value.trim();
    if (inputs.rollupResolution.value.trim()) {
      out.rollup = { resolution: inputs.rollupResolution.value.trim() };
      if (inputs.rollupRetention.value.trim()) out.rollup.retention = inputs.rollupRetention.value.trim();
    }
    return out;
  }

  function clearErrors() {
    clear(formErrors);
    form.querySelectorAll('[data-error-for]').forEach(e => clear(e));
    form.querySelectorAll('[aria-invalid]').forEach(e => e.removeAttribute('aria-invalid'));
  }

  /** Puts each error by the field its pointer names (or the nearest enclosing one); the rest above the form. */
  function showErrors(problem) {
    clearErrors();
    const slots = [...form.querySelectorAll('[data-error-for]')];
    let first = null;
    const unplaced = [];
    for (const error of problem.errors || []) {
      const pointer = String(error.pointer ?? '');
      let best = null;
      for (const slot of slots) {
        const p = slot.dataset.errorFor;
        if ((pointer === p || pointer.startsWith(p + '/')) && (!best || p.length > best.dataset.errorFor.length)) best = slot;
      }
      if (!best) { unplaced.push(error); continue; }
      add(best, h('div', {}, error.message));
      const input = form.querySelector(`[data-pointer="${CSS.escape(best.dataset.errorFor)}"]`);
      if (input) {
        input.setAttribute('aria-invalid', 'true');
        first = first || input;
      }
    }
    if (unplaced.length || !(problem.errors || []).length) {
      add(formErrors, h('strong', {}, problem.title || 'Not saved'), ' ', problem.detail || '',
        unplaced.length ? h('ul', {}, unplaced.map(e => h('li', {}, (e.pointer ? e.pointer + ': ' : '') + e.message))) : null);
    }
    (first || formErrors).focus?.();
    if (!first) formErrors.setAttribute('tabindex', '-1'), formErrors.focus();
  }

  form.addEventListener('submit', async e => {
    e.preventDefault();
    submit.disabled = true;
    try {
      clearErrors();
      await onSubmit(body());
    } catch (error) {
      showErrors(error.problem ? { ...error.problem, errors: error.errors } : { title: 'Not saved', detail: error.message });
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
