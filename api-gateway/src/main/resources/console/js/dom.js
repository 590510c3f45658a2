// Building the page without innerHTML: every value from the server or the user is text, never markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'style') el.style.cssText = value; // CSSOM: allowed by the console's style-src 'self' policy
    else if (key === 'value') el.value = value;
    else if (key === 'checked') el.checked = !!value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Appends children (nested arrays flattened; null, undefined and false left out). */
export function add(el, ...children) {
  append(el, children);
  return el;
}

/** Replaces the children of {@code el}. */
export function fill(el, ...children) {
  return add(clear(el), ...children);
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function formatNumber(value) {
  if (typeof value !== 'number') return String(value);
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  return value.toLocaleString('en-US', { maximumFractionDigits: 3 });
}

export function formatTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toISOString().replace('T', ' ').replace(/\.000Z$|Z$/, ' UTC').replace(/\.(\d{3}) UTC$/, '.$1 UTC');
}

export function groupLabel(group) {
  const entries = Object.entries(group || {});
  if (entries.length === 0) return '(all events)';
  return entries.map(([k, v]) => (entries.length > 1 ? `${k}=` : '') + (v === null ? '∅' : v)).join(' · ');
}
