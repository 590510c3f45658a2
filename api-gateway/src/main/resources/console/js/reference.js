// The API reference, rendered from the gateway's own /openapi.json.

import { fill, h } from './dom.js';

const main = document.getElementById('main');
const METHODS = ['get', 'post', 'put', 'delete', 'patch'];

function resolve(doc, node) {
  let seen = 0;
  while (node && node.$ref && seen++ < 20) {
    node = node.$ref.replace(/^#\//, '').split('/').reduce((n, key) => n?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
  }
  return node || {};
}

function refName(node) {
  return node?.$ref ? node.$ref.split('/').pop() : null;
}

/** A schema as an indented outline; named schemas link to their section instead of repeating. */
function schema(doc, node, depth = 0) {
  const name = refName(node);
  if (name && depth > 0) return h('a', { href: '#schema-' + name }, name);
  const s = resolve(doc, node);
  const type = Array.isArray(s.type) ? s.type.join(' | ') : s.type || (s.const !== undefined ? JSON.stringify(s.const) : '');
  const notes = [s.description, s.enum ? 'one of ' + s.enum.join(', ') : null, s.pattern ? 'pattern ' + s.pattern : null,
    s.default !== undefined ? 'default ' + JSON.stringify(s.default) : null,
    s.minimum !== undefined || s.maximum !== undefined ? `${s.minimum ?? ''}..${s.maximum ?? ''}` : null].filter(Boolean).join('; ');
  if (s.oneOf || s.allOf) {
    return h('ul', {}, (s.oneOf || s.allOf).map(part => h('li', {}, s.oneOf ? 'one of: ' : 'and: ',
      resolve(doc, part).title ? h('em', {}, resolve(doc, part).title, ' ') : null, schema(doc, part, depth + 1))));
  }
  if (s.properties) {
    const required = new Set(s.required || []);
    return h('ul', {}, Object.entries(s.properties).map(([key, value]) => h('li', {},
      h('code', {}, key), required.has(key) ? h('strong', {}, ' required') : null, ' ', schema(doc, value, depth + 1))),
    notes ? h('li', { class: 'hint' }, notes) : null);
  }
  if (s.type === 'array' && s.items) return h('span', {}, 'array of ', schema(doc, s.items, depth + 1), notes ? h('span', { class: 'hint' }, ' — ' + notes) : null);
  return h('span', {}, h('code', {}, type || 'any'), notes ? h('span', { class: 'hint' }, ' — ' + notes) : null);
}

function operation(doc, path, method, op) {
  const params = [...(doc.paths[path].parameters || []), ...(op.parameters || [])].map(p => resolve(doc, p));
  const body = op.requestBody ? resolve(doc, op.requestBody) : null;
  return h('details', { class: 'ref-op', id: op.operationId },
    h('summary', {}, h('span', { class: 'method' }, method.toUpperCase()), h('code', {}, path), ' — ', op.summary || ''),
    op.description ? h('p', {}, op.description) : null,
    params.length ? [h('h3', {}, 'Parameters'), h('table', {}, h('tbody', {}, params.map(p => h('tr', {},
      h('td', {}, h('code', {}, p.name)), h('td', {}, p.in + (p.required ? ', required' : '')), h('td', {}, schema(doc, p.schema || {}, 1), p.description ? ' ' + p.description : '')))))] : null,
    body ? [h('h3', {}, 'Request body'), Object.entries(body.content || {}).map(([type, c]) => h('div', {}, h('code', {}, type), schema(doc, c.schema || {}, 0)))] : null,
    op['x-websocket'] ? [h('h3', {}, 'Messages'), h('p', {}, 'Client → server: ', schema(doc, op['x-websocket'].client, 1), '; server → client: ', schema(doc, op['x-websocket'].server, 1))] : null,
    h('h3', {}, 'Responses'),
    h('table', {}, h('tbody', {}, Object.entries(op.responses || {}).map(([code, r]) => {
      const response = resolve(doc, r);
      const content = Object.entries(response.content || {});
      return h('tr', {}, h('td', {}, h('strong', {}, code)), h('td', {}, response.description || '',
        content.map(([type, c]) => h('div', {}, h('code', {}, type), ' ', schema(doc, c.schema || {}, 1)))));
    }))));
}

async function render() {
  let doc;
  try {
    const response = await fetch('/openapi.json');
    if (!response.ok) throw new Error('HTTP ' + response.status);
    doc = await response.json();
  } catch (e) {
    fill(main, h('p', { class: 'notice-error' }, 'The OpenAPI document could not be loaded: ' + e.message));
    return;
  }
  const byTag = new Map((doc.tags || []).map(t => [t.name, []]));
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      if (!item[method]) continue;
      const tag = (item[method].tags || ['other'])[0];
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push([path, method, item[method]]);
    }
  }
  fill(main, h('h1', {}, doc.info.title, ' ', h('span', { class: 'hint' }, 'version ' + doc.info.version)),
    h('p', {}, doc.info.description),
    [...byTag].map(([tag, ops]) => h('section', { class: 'card', 'aria-label': tag },
      h('h2', {}, tag), h('p', { class: 'muted' }, (doc.tags || []).find(t => t.name === tag)?.description || ''),
      ops.map(([path, method, op]) => operation(doc, path, method, op)))),
    h('section', { class: 'card', 'aria-label': 'Schemas' }, h('h2', {}, 'Schemas'),
      Object.entries(doc.components?.schemas || {}).map(([name, s]) => h('details', { class: 'ref-op', id: 'schema-' + name },
        h('summary', {}, h('code', {}, name)), schema(doc, s, 0)))));
  document.title = doc.info.title;
}

render();
