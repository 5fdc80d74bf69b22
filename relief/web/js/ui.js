// Pieces shared by the views: panels, tables, messages, labels of records.
import { h } from './dom.js';
import { t, tIf, tOr, num, plural } from './i18n.js';

/* clock: the node's clock less this browser's (ms), taken from status.now at sign-in */
export const state = { status: null, role: '', items: new Map(), clock: 0 };

/* the time now by the node's clock */
export function nodeNow() {
  return new Date(Date.now() + state.clock);
}

export function errorText(err) {
  if (!err) return '';
  if (err.status === 0) return t('error.network');
  if (err.status === 401) return t(err.write ? 'error.unauthorized_write' : err.download ? 'error.unauthorized_download' : 'error.unauthorized');
  if (err.status === 403) return t('error.forbidden', { role: roleName(state.role) });
  /* what went wrong in the reader's language (error.code.*), the node's sentence naming the value */
  const coded = typeof err.code === 'string' && /^[a-z_]+$/.test(err.code) ? tIf(`error.code.${err.code}`, { message: err.message || '' }) : null;
  if (coded !== null) return coded;
  if (err.status === 404) return t('error.notfound');
  if (err.status) return t('error.server', { status: err.status, message: err.message || '' });
  return String(err.message || err);
}

export function roleName(role) {
  return role ? tOr(`role.${role}`, role) : t('role.none');
}

export function errorBox(err) {
  return h('p', { class: 'msg msg-error', role: 'alert' }, errorText(err));
}

export function empty(key) {
  return h('p', { class: 'empty' }, t(key));
}

/* a section with an h2 (or h3) heading; extra header content goes in head */
export function panel(id, titleKey, { level = 'h2', head = [], wide = false, params } = {}) {
  const titleId = `${id}-title`;
  const body = h('div', { class: 'panel-body' });
  const sec = h(
    'section',
    { class: ['panel', wide && 'panel-wide'], id, 'aria-labelledby': titleId },
    h('div', { class: 'panel-head' }, h(level, { id: titleId }, t(titleKey, params)), head),
    body,
  );
  sec.body = body;
  return sec;
}

/* columns: [{key: i18n key, cell: row => node|string, num: bool}] */
export function table(captionKey, columns, rows, { rowClass, captionParams } = {}) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      null,
      captionKey ? h('caption', { class: 'sr-only' }, t(captionKey, captionParams)) : null,
      h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col', class: c.num && 'num' }, t(c.key))))),
      h(
        'tbody',
        null,
        rows.map((r) =>
          h(
            'tr',
            { class: rowClass && rowClass(r) },
            columns.map((c, i) => {
              const v = c.cell(r);
              return h(i === 0 ? 'th' : 'td', { class: c.num && 'num', scope: i === 0 ? 'row' : undefined }, v);
            }),
          ),
        ),
      ),
    ),
  );
}

export function siteLabel(name, code) {
  if (name && code) return `${name} (${code})`;
  return name || code || '';
}

export function siteLink(id, name, code) {
  if (!id) return siteLabel(name, code);
  return h('a', { href: `#/site/${encodeURIComponent(id)}` }, siteLabel(name, code));
}

export function kindName(kind) {
  return tOr(`kind.${kind}`, kind || '');
}

export function itemName(code) {
  const it = state.items.get(code);
  return it && it.name ? it.name : code || '';
}

/* a unit, in the form the language uses for n when given: unit.piece.other "pieces" */
export function unitName(unit, n) {
  if (!unit) return '';
  const form = n === undefined || n === null || n === '' ? null : tOr(`unit.${unit}.${plural(n)}`, null);
  return form ?? tOr(`unit.${unit}`, unit);
}

export function qty(n, unit) {
  const u = unitName(unit, n);
  return u ? `${num(n)} ${u}` : num(n);
}

export function priorityBadge(p) {
  if (!p) return '';
  return h('span', { class: `badge badge-${p}` }, tOr(`priority.${p}`, p));
}

export function severityBadge(p) {
  if (!p) return '';
  return h('span', { class: `badge badge-${p}` }, tOr(`severity.${p}`, p));
}

/* a button-like link */
export function linkButton(href, key, params) {
  return h('a', { class: 'button button-secondary', href }, t(key, params));
}

export function canWrite() {
  return state.role === 'write';
}

export function canRead() {
  return state.role === 'write' || state.role === 'read';
}
