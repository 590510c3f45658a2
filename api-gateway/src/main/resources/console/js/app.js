// The Tally console: hash routes over the public API, one live socket per page.

import { call, claims, enc, hasRole, onLimits, signIn, signOut, token } from './api.js';
import { add, clear, fill, formatNumber, formatTime, groupLabel, h } from './dom.js';
import { LiveSocket } from './live.js';
import { ruleForm } from './rule-form.js';
import { RuleView } from './view.js';

const main = document.getElementById('main');
const notice = document.getElementById('notice');
let cleanup = [];

// Each route renders one page; a page still waiting for an answer when the user moves on must not draw over the
// next one: it checks that its generation is still the current one after each wait.
let generation = 0;
let rendered = null;

function leave() {
  cleanup.forEach(f => { try { f(); } catch { /* already gone */ } });
  cleanup = [];
  generation++;
}

function current(gen) {
  return gen === generation;
}

function say(text, error) {
  fill(notice, h('span', { class: error ? 'notice-error' : '' }, text));
  if (!error) setTimeout(() => { if (notice.textContent === text) clear(notice); }, 4000);
}

function page(title, ...children) {
  fill(main, h('h1', {}, title), ...children);
  document.title = `${title} · Tally console`;
  main.focus({ preventScroll: true });
}

function errorCard(e) {
  return h('div', { class: 'card form-errors', role: 'alert' }, h('strong', {}, e.problem?.title || 'Error'), ' ', e.message);
}

function statusBadge(rule) {
  return h('span', { class: 'badge ' + rule.status, 'data-testid': 'status' }, rule.status);
}

/** The page's live socket, its state and the errors sent on it shown in {@code el}. */
function liveSocketShownIn(el) {
  const socket = new LiveSocket((state, detail) => { el.textContent = state + (detail ? ` (${detail})` : ''); });
  socket.showError = message => { el.textContent = `error ${message.status}: ${message.detail}`; };
  return socket;
}

// ---- sign in ----

async function signInPage() {
  document.getElementById('nav').hidden = true;
  document.getElementById('who').hidden = true;
  const tokenInput = h('textarea', { id: 'token', 'aria-describedby': 'token-error', placeholder: 'eyJhbGciOiJIUzI1NiJ9…', spellcheck: 'false' });
  const tokenError = h('div', { class: 'field-error', id: 'token-error' });
  const tokenForm = h('form', { class: 'card', 'aria-label': 'Sign in with a token' },
    h('div', { class: 'field' }, h('label', { for: 'token' }, 'Bearer token ', h('span', { class: 'hint' }, 'a JWT with tenant and roles (./tally token prints one)')), tokenInput, tokenError),
    h('button', { type: 'submit' }, 'Sign in'));
  tokenForm.addEventListener('submit', e => {
    e.preventDefault();
    try {
      signIn(tokenInput.value);
      location.hash = '#/rules';
      route();
    } catch (error) {
      tokenError.textContent = error.message;
      tokenInput.setAttribute('aria-invalid', 'true');
      tokenInput.focus();
    }
  });
  page('Sign in', tokenForm);
  const gen = generation;
  try {
    await call('GET', '/console/dev-login');
  } catch {
    return; // not the local stack
  }
  if (!current(gen)) return;
  const tenant = h('input', { id: 'dev-tenant', value: 'demo', autocomplete: 'off' });
  const tenantError = h('div', { class: 'field-error', id: 'dev-tenant-error' });
  const roles = ['admin', 'viewer', 'producer'].map(r => h('label', {}, h('input', { type: 'checkbox', value: r, checked: true }), r));
  const devForm = h('form', { class: 'card', 'aria-label': 'Dev login' },
    h('p', {}, h('strong', {}, 'Local stack: '), 'this gateway runs with the development secret, so it can sign you in to any tenant.'),
    h('div', { class: 'field' }, h('label', { for: 'dev-tenant' }, 'Tenant'), tenant, tenantError),
    h('fieldset', { class: 'field' }, h('legend', {}, 'Roles'), roles),
    h('button', { type: 'submit', id: 'dev-login' }, 'Dev login'));
  devForm.addEventListener('submit', async e => {
    e.preventDefault();
    try {
      const answer = await call('POST', '/console/dev-login', {
        tenant: tenant.value.trim(), roles: roles.map(l => l.querySelector('input')).filter(i => i.checked).map(i => i.value) });
      signIn(answer.body.token);
      location.hash = '#/rules';
      route();
    } catch (error) {
      tenantError.textContent = error.errors.map(x => `${x.pointer}: ${x.message}`).join('; ') || error.message;
    }
  });
  add(main, devForm);
}

// ---- rules ----

async function rulesPage() {
  const list = h('div', { class: 'card' }, 'Loading…');
  page('Rules', hasRole('admin') ? h('div', { class: 'actions' }, h('a', { class: 'button', href: '#/rules/new' }, 'New rule')) : null, list, usageCard());
  try {
    const rules = [];
    let pageToken = '';
    do {
      const answer = await call('GET', '/api/v1/rules?pageSize=100' + (pageToken ? '&pageToken=' + enc(pageToken) : ''));
      rules.push(...answer.body.rules);
      pageToken = answer.body.nextPageToken;
    } while (pageToken);
    fill(list, rules.length === 0
      ? h('p', {}, 'No rules yet. ', hasRole('admin') ? h('a', { href: '#/rules/new' }, 'Create the first one.') : 'An admin of this tenant creates them.')
      : h('table', { 'data-testid': 'rules' }, h('thead', {}, h('tr', {}, ['Rule', 'Status', 'Window', 'Aggregations', 'Group by', 'Version'].map(t => h('th', {}, t)))),
        h('tbody', {}, rules.map(r => h('tr', { 'data-rule': r.id },
          h('td', {}, h('a', { href: '#/rules/' + enc(r.id) }, r.name || r.id), h('div', { class: 'hint mono' }, r.id)),
          h('td', {}, statusBadge(r)),
          h('td', {}, r.window.size + (r.window.slide ? ` / ${r.window.slide}` : '')),
          h('td', {}, r.aggregations.map(a => `${a.name} (${a.op})`).join(', ')),
          h('td', {}, (r.groupBy || []).join(', ') || '—'),
          h('td', { class: 'num' }, r.version))))));
  } catch (e) {
    fill(list, errorCard(e));
  }
}

function usageCard() {
  const card = h('div', { class: 'card' }, h('h2', {}, 'Usage'), h('p', { class: 'muted' }, 'Loading…'));
  call('GET', '/api/v1/usage').then(({ body: u }) => {
    card.lastChild.replaceWith(h('dl', { class: 'facts' },
      h('dt', {}, 'Rules'), h('dd', {}, `${u.rules} of ${u.quotas.rules}`),
      h('dt', {}, 'Windows per event'), h('dd', {}, `${u.windowsPerEvent} of ${u.quotas.windowsPerEvent}`),
      h('dt', {}, 'State cells per event'), h('dd', {}, formatNumber(u.cellsPerEvent)),
      h('dt', {}, 'Backfill quota'), h('dd', {}, `${u.quotas.backfillHours} hours`)));
  }).catch(e => card.lastChild.replaceWith(errorCard(e)));
  return card;
}

function newRulePage() {
  page('New rule', ruleForm(null, {
    submitLabel: 'Create rule',
    onSubmit: async body => {
      const { body: rule } = await call('POST', '/api/v1/rules', body);
      say(`Rule ${rule.id} created (version ${rule.version}).`);
      location.hash = '#/rules/' + enc(rule.id);
    },
  }));
}

async function editRulePage(id) {
  const gen = generation;
  try {
    const { body: rule, headers } = await call('GET', '/api/v1/rules/' + enc(id));
    if (!current(gen)) return;
    const etag = headers.get('ETag');
    page(`Edit ${rule.name || rule.id}`, ruleForm(rule, {
      submitLabel: 'Save as a new version',
      onSubmit: async body => {
        const { body: saved } = await call('PUT', '/api/v1/rules/' + enc(id), body, etag ? { 'If-Match': etag } : {});
        say(`Saved: version ${saved.version}.`);
        location.hash = '#/rules/' + enc(id);
      },
    }));
  } catch (e) {
    if (current(gen)) page('Edit rule', errorCard(e));
  }
}

async function rulePage(id) {
  const gen = generation;
  let rule;
  try {
    rule = (await call('GET', '/api/v1/rules/' + enc(id))).body;
  } catch (e) {
    if (current(gen)) page('Rule', errorCard(e));
    return;
  }
  if (!current(gen)) return;
  const statusBox = h('div', { class: 'card', 'data-testid': 'rule-status' });
  const view = new RuleView(rule.aggregations, `Live results of ${rule.name || rule.id}`, rule.window);
  const socketState = h('span', { class: 'hint', 'data-testid': 'socket' });
  const actions = hasRole('admin') ? h('div', { class: 'actions' },
    h('a', { class: 'button', href: `#/rules/${enc(id)}/edit` }, 'Edit'),
    h('button', { type: 'button', class: 'danger', onclick: async () => {
      if (!confirm(`Delete rule ${rule.name || id}? Its results go with it.`)) return;
      try {
        await call('DELETE', '/api/v1/rules/' + enc(id));
        say(`Rule ${id} deleted.`);
        location.hash = '#/rules';
      } catch (e) { say(e.message, true); }
    } }, 'Delete')) : null;
  page(rule.name || rule.id, actions, statusBox, h('p', {}, 'Live socket: ', socketState), view.el);

  function showStatus(r) {
    const facts = [
      h('dt', {}, 'Status'), h('dd', {}, statusBadge(r), r.reason ? h('span', { class: 'field-error' }, ' ', r.reason) : null),
      h('dt', {}, 'Version'), h('dd', {}, r.version),
      h('dt', {}, 'Window'), h('dd', {}, `${r.window.size}${r.window.slide ? ' sliding by ' + r.window.slide : ' tumbling'}, lateness ${r.allowedLateness}, kept ${r.retention}`),
      h('dt', {}, 'Group by'), h('dd', {}, (r.groupBy || []).join(', ') || '—'),
      h('dt', {}, 'Aggregations'), h('dd', {}, r.aggregations.map(a => `${a.name} = ${a.op}${a.field ? '(' + a.field + ')' : ''}${a.k ? ' k=' + a.k : ''}`).join(', ')),
      h('dt', {}, 'Dead letters'), h('dd', {}, r.deadLetters?.count ? `${r.deadLetters.count} (last: ${r.deadLetters.lastReason})` : 'none'),
    ];
    fill(statusBox, h('dl', { class: 'facts' }, facts));
    if (r.status === 'backfilling' && r.backfill) {
      const b = r.backfill;
      // The share done: records read against those still to read at the rate seen since this page first saw it
      // running (never shown going back).
      const now = Date.now();
      firstRead = firstRead || { eventsRead: b.eventsRead, at: now };
      const rate = now > firstRead.at && b.eventsRead > firstRead.eventsRead
        ? (b.eventsRead - firstRead.eventsRead) * 1000 / (now - firstRead.at) : null;
      if (rate && b.estimatedSecondsLeft !== undefined) {
        shownDone = Math.max(shownDone ?? 0, Math.min(99, Math.round(100 * b.eventsRead / (b.eventsRead + rate * b.estimatedSecondsLeft))));
      }
      const done = shownDone;
      add(statusBox, h('p', { 'data-testid': 'backfill' }, `Backfilling: ${formatNumber(b.eventsRead)} records of the event log read`,
        b.position ? `, up to ${formatTime(b.position)}` : '', b.estimatedSecondsLeft !== undefined ? `, about ${b.estimatedSecondsLeft} s left` : '',
        done !== null ? ` (${done} %)` : ''),
      done !== null ? h('div', { class: 'progress', role: 'progressbar', 'aria-label': 'Backfill progress', 'aria-valuemin': 0,
        'aria-valuemax': 100, 'aria-valuenow': done }, h('div', { style: `width:${done}%` })) : null);
    }
  }
  let firstRead = null;
  let shownDone = null;
  showStatus(rule);

  // The status until the version serves (pending, backfilling), then the late events the updates do not carry.
  let polling = true;
  const poll = async () => {
    if (!polling) return;
    try {
      if (rule.status !== 'active') {
        rule = (await call('GET', '/api/v1/rules/' + enc(id))).body;
        showStatus(rule);
      }
      const newest = view.sorted().at(-1);
      const results = await call('GET', `/api/v1/rules/${enc(id)}/results` + (newest ? `?from=${enc(newest.start)}` : ''));
      view.facts(results.body);
    } catch { /* shown by the socket state or the next poll */ }
    if (polling) setTimeout(poll, rule.status === 'active' ? 2000 : 1000);
  };
  setTimeout(poll, 1000);

  const socket = liveSocketShownIn(socketState);
  socket.subscribe('rule', { ruleId: id }, message => {
    if (message.type === 'snapshot') view.snapshot(message);
    else if (message.type === 'update') view.update(message.windows, message.version);
    else if (message.type === 'error') socket.showError(message);
  });
  cleanup.push(() => { polling = false; socket.close(); view.destroy(); });
}

// ---- dashboards ----

async function dashboardsPage() {
  const list = h('div', { class: 'card' }, 'Loading…');
  page('Dashboards', list);
  try {
    const { body } = await call('GET', '/api/v1/dashboards?pageSize=100');
    fill(list, body.dashboards.length === 0 ? h('p', {}, 'No saved dashboards. Create one with POST /api/v1/dashboards (see the API reference).')
      : h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Dashboard'), h('th', {}, 'Queries'))),
        h('tbody', {}, body.dashboards.map(d => h('tr', {},
          h('td', {}, h('a', { href: '#/dashboards/' + enc(d.id) }, d.name || d.id)),
          h('td', {}, d.queries.map(q => q.ruleId + (q.groups ? ' ' + groupLabel(q.groups) : '')).join('; ')))))));
  } catch (e) {
    fill(list, errorCard(e));
  }
}

async function dashboardPage(id) {
  const gen = generation;
  let dashboard;
  try {
    dashboard = (await call('GET', '/api/v1/dashboards/' + enc(id))).body;
  } catch (e) {
    if (current(gen)) page('Dashboard', errorCard(e));
    return;
  }
  const rules = await Promise.all(dashboard.queries.map(q => call('GET', '/api/v1/rules/' + enc(q.ruleId)).then(a => a.body).catch(() => null)));
  if (!current(gen)) return;
  const views = dashboard.queries.map((q, i) => new RuleView(rules[i]?.aggregations || [],
    `${rules[i]?.name || q.ruleId}${q.groups ? ' · ' + groupLabel(q.groups) : ''}`, rules[i]?.window));
  const socketState = h('span', { class: 'hint' });
  page(dashboard.name || dashboard.id, h('p', {}, 'Live socket: ', socketState), views.map(v => v.el));
  const split = windows => {
    const by = new Map();
    for (const w of windows || []) {
      if (!by.has(w.query)) by.set(w.query, []);
      by.get(w.query).push(w);
    }
    return by;
  };
  const socket = liveSocketShownIn(socketState);
  socket.subscribe('dashboard', { dashboardId: id }, message => {
    if (message.type === 'snapshot') {
      const by = split(message.windows);
      views.forEach((v, i) => v.snapshot({ version: message.version, windows: by.get(i) || [] }));
    } else if (message.type === 'update') {
      for (const [i, windows] of split(message.windows)) views[i]?.update(windows, message.version);
    } else if (message.type === 'error') {
      socket.showError(message);
    }
  });
  cleanup.push(() => { socket.close(); views.forEach(v => v.destroy()); });
}

// ---- event tail ----

function tailPage() {
  const lines = h('div', { class: 'tail', 'data-testid': 'tail', 'aria-live': 'off' });
  const state = h('span', { class: 'hint' });
  const counts = h('span', { class: 'hint', 'data-testid': 'tail-counts' });
  let shown = 0;
  let skipped = 0;
  let paused = false;
  const pause = h('button', { type: 'button', class: 'quiet', onclick: () => { paused = !paused; pause.textContent = paused ? 'Resume' : 'Pause'; } }, 'Pause');
  page('Event tail', h('p', { class: 'muted' }, 'The tenant\'s events as the event log takes them (a sample when they come faster than a screen can show). ',
    'Socket: ', state), h('div', { class: 'actions' }, pause, counts), h('div', { class: 'card' }, lines));
  const socket = liveSocketShownIn(state);
  socket.subscribe('tail', { op: 'tail' }, message => {
    if (message.type === 'error') { socket.showError(message); return; }
    if (message.type === 'tailing') { state.textContent = `following since ${new Date().toLocaleTimeString()}`; return; }
    if (message.type !== 'events') return;
    skipped += message.skipped || 0;
    if (paused) { skipped += message.events.length; return; }
    for (const e of message.events) {
      shown++;
      lines.prepend(h('div', {}, `${formatTime(e.time)}  ${e.id}  ${e.category}`, e.type ? `  type=${e.type}` : '', e.geo ? `  geo=${e.geo}` : '',
        e.value !== undefined && e.value !== null ? `  value=${e.value}` : '',
        Object.keys(e.attributes || {}).length ? '  ' + Object.entries(e.attributes).map(([k, v]) => `${k}=${v}`).join(' ') : ''));
    }
    while (lines.childElementCount > 200) lines.lastChild.remove();
    counts.textContent = `${formatNumber(shown)} shown, ${formatNumber(skipped)} not shown (sampled)`;
  });
  cleanup.push(() => socket.close());
}

// ---- rate limits ----

function limitsPage() {
  const box = h('div', { class: 'card', 'data-testid': 'limits' }, 'Loading…');
  const last = h('p', { class: 'muted' });
  page('Rate limits', h('p', { class: 'muted' }, 'The tenant\'s token buckets, shared by every gateway. Refreshes every 2 seconds (each read costs one query token).'), box, last);
  let on = true;
  const names = { ingest: 'Ingest (events)', query: 'Query (requests)', fold: 'Fold (state cells)' };
  const load = async () => {
    if (!on) return;
    try {
      const { body } = await call('GET', '/api/v1/limits');
      fill(box, Object.entries(body.buckets).map(([name, b]) => {
        const left = b.remaining ?? 0;
        return h('div', { class: 'gauge', 'data-bucket': name },
          h('strong', {}, names[name] || name),
          h('div', { class: 'progress', role: 'meter', 'aria-label': names[name] || name, 'aria-valuemin': 0, 'aria-valuemax': b.burst, 'aria-valuenow': left },
            h('div', { style: `width:${100 * left / b.burst}%` })),
          h('span', {}, b.remaining === undefined ? 'unknown now' : `${formatNumber(left)} of ${formatNumber(b.burst)} left`,
            h('div', { class: 'hint' }, `refills ${formatNumber(b.rate)}/s${b.shared ? '' : ' · this gateway alone (Redis away)'}`)));
      }));
    } catch (e) {
      fill(box, errorCard(e));
    }
    if (on) setTimeout(load, 2000);
  };
  load();
  const off = onLimits(l => { last.textContent = `Last answer: ${l.bucket} bucket ${formatNumber(l.remaining)} of ${formatNumber(l.limit)} left, full again in ${l.reset} s.`; });
  cleanup.push(() => { on = false; off(); });
}

// ---- routing ----

function route() {
  rendered = location.hash;
  leave();
  if (location.hash.startsWith('#token=')) {
    // ./tally demo hands over a session this way (#token=…&go=/rules/…); the fragment never reaches a server.
    const params = new URLSearchParams(location.hash.slice(1));
    try { signIn(params.get('token') || ''); } catch (e) { say(e.message, true); }
    const go = params.get('go') || '/rules';
    history.replaceState(null, '', location.pathname + '#' + (go.startsWith('/') ? go : '/rules'));
  }
  const c = token() ? claims() : null;
  if (!c) {
    signInPage();
    return;
  }
  document.getElementById('nav').hidden = false;
  document.getElementById('who').hidden = false;
  document.getElementById('who-tenant').textContent = `${c.tenant} · ${(c.roles || []).join(', ')}`;
  const path = (location.hash.replace(/^#/, '') || '/rules').split('/').filter(Boolean).map(decodeURIComponent);
  document.querySelectorAll('#nav a[data-section]').forEach(a => a.toggleAttribute('aria-current', a.dataset.section === path[0]));
  document.querySelectorAll('#nav a[aria-current]').forEach(a => a.setAttribute('aria-current', 'page'));
  if (path[0] === 'rules' && path.length === 1) rulesPage();
  else if (path[0] === 'rules' && path[1] === 'new') newRulePage();
  else if (path[0] === 'rules' && path[2] === 'edit') editRulePage(path[1]);
  else if (path[0] === 'rules') rulePage(path[1]);
  else if (path[0] === 'dashboards' && path.length === 1) dashboardsPage();
  else if (path[0] === 'dashboards') dashboardPage(path[1]);
  else if (path[0] === 'events') tailPage();
  else if (path[0] === 'limits') limitsPage();
  else page('Not found', h('p', {}, 'No such page. ', h('a', { href: '#/rules' }, 'Go to the rules.')));
}

document.getElementById('sign-out').addEventListener('click', () => {
  signOut();
  leave();
  location.hash = '';
  route();
});
window.addEventListener('tally:unauthorized', () => {
  say('The gateway refused the token (expired or not valid here). Sign in again.', true);
  signOut();
  route();
});
// A navigation to the page already shown (a second hashchange for one change) does not draw it again.
window.addEventListener('hashchange', () => { if (location.hash !== rendered) route(); });
route();
