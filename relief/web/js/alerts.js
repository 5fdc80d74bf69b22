// Alerts worded from the catalogues (alert.text.TYPE, with {placeholders} filled from the alert's
// params, numbers and dates in the chosen locale) and linked to the site or record they are about.
// An alert type this dashboard does not know, or one without the params its wording needs, shows
// the node's English message. Every value from the params goes in as text.
import { h } from './dom.js';
import { t, tIf, tOr, num, date, dateTime } from './i18n.js';
import { state, empty, siteLabel, itemName, qty, severityBadge } from './ui.js';

const ORDER = { high: 0, medium: 1, low: 2 };

function unitOf(item) {
  return (state.items.get(item) || {}).unit;
}

function nodeLabel(p) {
  const id = typeof p.node === 'string' ? p.node : '';
  if (p.node_name) return id ? `${p.node_name} (${id.slice(0, 8)})` : String(p.node_name);
  return id;
}

/* the values for the placeholders: every param as text, some formatted for the reader;
   a site the params name only by code (a shift's) gets its name from sites when known */
function values(p, sites) {
  const v = {};
  for (const [k, x] of Object.entries(p)) {
    if (x === null || x === undefined || typeof x === 'object') continue;
    v[k] = typeof x === 'number' ? num(x) : String(x);
  }
  const known = typeof p.site === 'string' && sites ? sites.find((x) => x.id === p.site) : null;
  if (p.site_code || p.site_name || known) v.site = siteLabel(p.site_name || (known && known.name), p.site_code || (known && known.code));
  if (typeof p.item === 'string') {
    v.item = itemName(p.item);
    for (const k of ['qty', 'dispatched', 'arrived']) if (typeof p[k] === 'number') v[k] = qty(p[k], unitOf(p.item));
  }
  if (typeof p.kind === 'number') v.kind = String(p.kind);
  if (p.expiry) v.expiry = date(p.expiry);
  if (p.start) v.start = dateTime(p.start);
  if (p.time) v.time = dateTime(p.time);
  if (p.last) v.last = dateTime(p.last);
  if (p.node) v.node = nodeLabel(p);
  return v;
}

/* the alert in the chosen language, or the node's English message */
export function alertText(a, sites) {
  const p = a && a.params && typeof a.params === 'object' && !Array.isArray(a.params) ? a.params : null;
  if (!p || typeof a.type !== 'string' || !/^[a-z0-9_]+$/.test(a.type)) return (a && a.message) || '';
  const key = a.type === 'expiring_lot' && p.expired === true ? 'alert.text.expired_lot' : `alert.text.${a.type}`;
  const text = tIf(key, values(p, sites));
  return text === null ? a.message || '' : text;
}

/* where the alert leads: the site's page, or a donation's trace */
export function alertHref(a) {
  const p = (a && a.params) || {};
  if (typeof p.site === 'string' && p.site) return `#/site/${encodeURIComponent(p.site)}`;
  if (a.type === 'over_delivered' && typeof p.donation === 'string' && p.donation) return `#/donor/${encodeURIComponent(p.donation)}`;
  return '';
}

export function alertsList(alerts, sites) {
  if (!alerts.length) return empty('alerts.none');
  const sorted = alerts.slice().sort((a, b) => (ORDER[a.severity] ?? 3) - (ORDER[b.severity] ?? 3));
  return h(
    'ul',
    { class: 'alert-list' },
    sorted.map((a) => {
      const href = alertHref(a);
      const text = alertText(a, sites);
      return h(
        'li',
        { class: `alert alert-${ORDER[a.severity] === undefined ? 'low' : a.severity}`, dataset: { type: String(a.type || '') } },
        severityBadge(a.severity),
        h('span', { class: 'alert-type' }, tOr(`alert.${a.type}`, a.type || t('alerts.other'))),
        href ? h('a', { class: 'alert-msg', href }, text) : h('span', { class: 'alert-msg' }, text),
      );
    }),
  );
}
