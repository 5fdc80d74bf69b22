// Message catalogues (i18n/CODE.json, listed in i18n/index.json) and locale-aware formatting.
// A new language is one JSON file and one line in index.json; a key missing from it falls back
// to English.
const STORE = 'relief.lang';
let languages = [{ code: 'en', name: 'English' }];
let lang = 'en';
let messages = {};
let fallback = {};

async function fetchJson(path) {
  const res = await fetch(path, { cache: 'no-cache' });
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return res.json();
}

function pick(wanted) {
  const codes = languages.map((l) => l.code);
  for (const w of wanted) {
    if (!w) continue;
    const lw = w.toLowerCase();
    const exact = codes.find((c) => c.toLowerCase() === lw);
    if (exact) return exact;
    const base = codes.find((c) => c.toLowerCase() === lw.split('-')[0]);
    if (base) return base;
  }
  return codes.includes('en') ? 'en' : codes[0];
}

export async function init() {
  try {
    const list = await fetchJson('i18n/index.json');
    if (Array.isArray(list) && list.length) languages = list;
  } catch {
    /* only English, then */
  }
  fallback = await fetchJson('i18n/en.json').catch(() => ({}));
  let stored = '';
  try {
    stored = localStorage.getItem(STORE) || '';
  } catch {
    stored = '';
  }
  await setLang(pick([stored, ...(navigator.languages || []), navigator.language]), false);
}

export async function setLang(code, remember = true) {
  code = pick([code]);
  messages = code === 'en' ? fallback : await fetchJson(`i18n/${code}.json`).catch(() => ({}));
  lang = code;
  document.documentElement.lang = code;
  if (remember) {
    try {
      localStorage.setItem(STORE, code);
    } catch {
      /* not remembered */
    }
  }
}

export const getLang = () => lang;
export const getLanguages = () => languages.slice();

/* a key no catalogue has is shown as its last part in words ('nav.site' → 'site'), never raw */
function missing(key) {
  return String(key).split('.').pop().replace(/_/g, ' ');
}

/* t(KEY, {name: 'x'}): the message, with {name} placeholders filled in */
export function t(key, params) {
  let m = messages[key];
  if (m === undefined) m = fallback[key];
  if (m === undefined) return missing(key);
  if (!params) return m;
  return m.replace(/\{(\w+)\}/g, (all, p) => (p in params ? String(params[p]) : all));
}

/* t(KEY, params), or null when no catalogue has KEY or params lack one of its placeholders
   (the caller then shows its own text, for example the node's English message) */
export function tIf(key, params = {}) {
  const m = messages[key] ?? fallback[key];
  if (typeof m !== 'string') return null;
  for (const [, p] of m.matchAll(/\{(\w+)\}/g)) if (!Object.hasOwn(params, p) || params[p] === undefined || params[p] === null) return null;
  return m.replace(/\{(\w+)\}/g, (all, p) => String(params[p]));
}

/* the message for key if the catalogue has one, else the given text (a value from the data) */
export function tOr(key, text) {
  const m = messages[key] ?? fallback[key];
  return m === undefined ? text : m;
}

/* Fills elements marked data-i18n="KEY" (text) and data-i18n-attr="ATTR:KEY,ATTR:KEY". */
export function applyStatic(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of el.dataset.i18nAttr.split(',')) {
      const [attr, key] = pair.split(':');
      el.setAttribute(attr.trim(), t(key.trim()));
    }
  }
}

/* the plural category of n in the language ('one', 'other', ...; Japanese: always 'other') */
export function plural(n) {
  try {
    return new Intl.PluralRules(lang).select(Number(n));
  } catch {
    return 'other';
  }
}

export function num(n, opts) {
  if (n === undefined || n === null || n === '') return '';
  return new Intl.NumberFormat(lang, opts).format(Number(n));
}

export function pct(ratio) {
  return new Intl.NumberFormat(lang, { style: 'percent', maximumFractionDigits: 0 }).format(ratio);
}

/* amount in minor units of currency (JPY 0 digits, EUR 2) */
export function money(amount, currency) {
  try {
    const f = new Intl.NumberFormat(lang, { style: 'currency', currency });
    const digits = f.resolvedOptions().maximumFractionDigits;
    return f.format(Number(amount) / 10 ** digits);
  } catch {
    return `${num(amount)} ${currency || ''}`.trim();
  }
}

function parse(v) {
  if (!v) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function dateTime(v) {
  const d = parse(v);
  if (!d) return v ? String(v) : '';
  return new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

export function time(v) {
  const d = parse(v);
  if (!d) return v ? String(v) : '';
  return new Intl.DateTimeFormat(lang, { timeStyle: 'short' }).format(d);
}

/* a calendar date (YYYY-MM-DD) is shown as that day, whatever the time zone */
export function date(v) {
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) {
    const d = new Date(`${v}T00:00:00Z`);
    return new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeZone: 'UTC' }).format(d);
  }
  const d = parse(v);
  if (!d) return v ? String(v) : '';
  return new Intl.DateTimeFormat(lang, { dateStyle: 'medium' }).format(d);
}

/* "3 minutes ago" */
export function ago(v, now = Date.now()) {
  const d = parse(v);
  if (!d) return '';
  const secs = Math.round((d.getTime() - now) / 1000);
  const rtf = new Intl.RelativeTimeFormat(lang, { numeric: 'auto' });
  const abs = Math.abs(secs);
  if (abs < 60) return rtf.format(secs, 'second');
  if (abs < 3600) return rtf.format(Math.round(secs / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(secs / 3600), 'hour');
  return rtf.format(Math.round(secs / 86400), 'day');
}
