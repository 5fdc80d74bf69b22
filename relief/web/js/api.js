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
/* fn(err) is called when the node answers 401 (err.write: the refused request was a write) */
export function onUnauthorized(fn) {
  listeners.add(fn);
}

export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
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
    throw new ApiError(0, 'network');
  }
  let data = null;
  const text = await res.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const msg = data && typeof data.error === 'string' ? data.error : '';
    const err = new ApiError(res.status, msg, data && data.field, data && typeof data.code === 'string' ? data.code : null);
    err.write = method !== 'GET' && method !== 'HEAD';
    if (res.status === 401) for (const fn of listeners) fn(err);
    throw err;
  }
  return data;
}

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
