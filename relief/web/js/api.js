// The node's JSON API (/api/v1): one fetch wrapper, the bearer token, errors as exceptions.
const KEY = 'relief.token';

export function getToken() {
  try {
    return sessionStorage.getItem(KEY) || localStorage.getItem(KEY) || '';
  } catch {
    return '';
  }
}

export function setToken(token, remember) {
  try {
    sessionStorage.removeItem(KEY);
    localStorage.removeItem(KEY);
    if (token) (remember ? localStorage : sessionStorage).setItem(KEY, token);
  } catch {
    /* storage refused: the token lives for this page only */
  }
}

export class ApiError extends Error {
  constructor(status, message, field, code) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.field = field || null;
    this.code = code || null; /* the node's machine-readable code: invalid, not_found, ... */
  }
}

const listeners = new Set();
/* fn(err) is called when the node answers 401 (err.write: the refused request was a write;
   err.download: a report asked for with a button) */
export function onUnauthorized(fn) {
  listeners.add(fn);
}

/* one request: the answer's text, or an ApiError (worded from the node's JSON error) */
async function request(method, path, { body, accept = 'application/json', download = false } = {}) {
  const headers = { Accept: accept };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, cache: 'no-store', credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(`/api/v1/${path}`, init);
  } catch {
    const err = new ApiError(0, 'network');
    err.download = download;
    throw err;
  }
  const text = await res.text();
  if (!res.ok) {
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    const msg = data && typeof data.error === 'string' ? data.error : '';
    const err = new ApiError(res.status, msg, data && data.field, data && typeof data.code === 'string' ? data.code : null);
    err.write = method !== 'GET' && method !== 'HEAD';
    err.download = download;
    if (res.status === 401) for (const fn of listeners) fn(err);
    throw err;
  }
  return text;
}

export async function api(method, path, body) {
  const text = await request(method, path, { body });
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/* a report as the node writes it (GET reports/NAME?format=csv|hxl|json), as text, for a file */
export const report = (name, format) =>
  request('GET', `reports/${encodeURIComponent(name)}?format=${encodeURIComponent(format)}`, {
    accept: format === 'json' ? 'application/json' : 'text/csv',
    download: true,
  });

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body);
export const patch = (path, body) => api('PATCH', path, body);

const PAGE = 1000; /* the most a list endpoint answers at once */
const AT_ONCE = 4; /* pages asked for together */

/* A list endpoint's items, every page of them: the first page says how many there are
   (total), the rest are asked for a few at a time. */
export async function list(path) {
  const sep = path.includes('?') ? '&' : '?';
  const page = (offset) => get(`${path}${sep}limit=${PAGE}&offset=${offset}`);
  const first = await page(0);
  if (Array.isArray(first)) return first;
  const items = (first && first.items) || [];
  const total = first && Number.isFinite(first.total) ? first.total : items.length;
  const step = items.length; /* the page size the node answers */
  if (!step || step >= total) return items;
  const offsets = [];
  for (let o = step; o < total; o += step) offsets.push(o);
  for (let i = 0; i < offsets.length; i += AT_ONCE) {
    const pages = await Promise.all(offsets.slice(i, i + AT_ONCE).map(page));
    for (const p of pages) items.push(...((p && p.items) || []));
  }
  return items;
}
