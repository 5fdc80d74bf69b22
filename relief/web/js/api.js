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
/* fn(status) is called when the node answers 401 */
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
    if (res.status === 401) for (const fn of listeners) fn(res.status);
    const msg = data && typeof data.error === 'string' ? data.error : '';
    throw new ApiError(res.status, msg, data && data.field, data && typeof data.code === 'string' ? data.code : null);
  }
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body);
export const patch = (path, body) => api('PATCH', path, body);

/* A list endpoint's items (the first page of up to 1000). */
export async function list(path) {
  const sep = path.includes('?') ? '&' : '?';
  const data = await get(`${path}${sep}limit=1000`);
  if (Array.isArray(data)) return data;
  return (data && data.items) || [];
}
