// The session (a bearer token in this tab's sessionStorage) and calls to the gateway's API.

const KEY = 'tally.console.token';
let lastLimits = null;
const limitListeners = new Set();

export function token() {
  return sessionStorage.getItem(KEY);
}

export function signIn(value) {
  const claims = decode(value);
  if (!claims) throw new Error('That is not a JWT (three base64url parts separated by dots).');
  if (!claims.tenant) throw new Error('The token has no tenant claim.');
  if (claims.exp && claims.exp * 1000 < Date.now()) throw new Error('The token expired at ' + new Date(claims.exp * 1000).toISOString() + '.');
  sessionStorage.setItem(KEY, value.trim());
  return claims;
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

/** The token's claims (not verified here: the gateway verifies every request). */
export function claims() {
  const t = token();
  return t ? decode(t) : null;
}

export function hasRole(role) {
  const c = claims();
  return !!c && Array.isArray(c.roles) && c.roles.includes(role);
}

function decode(value) {
  const parts = String(value || '').trim().split('.');
  if (parts.length !== 3) return null;
  try {
    const json = atob(parts[1].replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(parts[1].length / 4) * 4, '='));
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(json, c => c.charCodeAt(0))));
    return typeof claims === 'object' && claims ? claims : null;
  } catch {
    return null;
  }
}

/** A problem+json answer (or a network failure) as an Error the pages can show. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.errors = Array.isArray(problem?.errors) ? problem.errors : [];
  }
}

/** Calls the API; resolves to {status, body, headers}; rejects with ApiError for 4xx/5xx. */
export async function call(method, path, body, headers = {}) {
  const init = { method, headers: { Accept: 'application/json', ...headers } };
  const t = token();
  if (t) init.headers.Authorization = 'Bearer ' + t;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, { title: 'Network error', detail: 'The gateway cannot be reached (' + e.message + '). Is the stack up?' });
  }
  noteLimits(response, path);
  const text = await response.text();
  let parsed = null;
  if (text) {
    try { parsed = JSON.parse(text); } catch { parsed = { detail: text }; }
  }
  if (response.status === 401) {
    window.dispatchEvent(new CustomEvent('tally:unauthorized', { detail: parsed }));
  }
  if (!response.ok) throw new ApiError(response.status, parsed);
  return { status: response.status, body: parsed, headers: response.headers };
}

function noteLimits(response, path) {
  const remaining = response.headers.get('RateLimit-Remaining');
  if (remaining === null) return;
  lastLimits = {
    bucket: path.startsWith('/api/v1/events') ? 'ingest' : 'query',
    limit: Number(response.headers.get('RateLimit-Limit')),
    remaining: Number(remaining),
    reset: Number(response.headers.get('RateLimit-Reset')),
    at: Date.now(),
  };
  limitListeners.forEach(l => l(lastLimits));
}

/** Follows the RateLimit-* headers of every answer. */
export function onLimits(listener) {
  limitListeners.add(listener);
  if (lastLimits) listener(lastLimits);
  return () => limitListeners.delete(listener);
}

export const enc = encodeURIComponent;
