// The coordinator's view: centres, needs against stock, alerts and conflicts, short shifts,
// peers, a plot of the sites and charts, and the reports as files for spreadsheets.
import { h, replace } from '../dom.js';
import { t, tOr, num, pct, dateTime, date, time, ago } from '../i18n.js';
import { list, patch, report } from '../api.js';
import { stackedBars, siteMap, legend, markerIcon } from '../charts.js';
import {
  state, panel, table, errorBox, empty, siteLink, siteLabel, kindName, itemName, qty,
  priorityBadge, errorText, canWrite, canRead, nodeNow,
} from '../ui.js';
import { alertsList } from '../alerts.js';

function settle(promise) {
  return promise.then((value) => ({ value }), (error) => ({ error }));
}

function fill(sec, result, draw) {
  if (result.error) replace(sec.body, errorBox(result.error));
  else replace(sec.body, draw(result.value));
  return sec;
}

/* a need still to be met (the node lists closed ones last; the API's open=1 is not relied on) */
const openNeed = (n) => n.status !== 'closed';

function needWhat(n) {
  return n.item ? itemName(n.item) : n.service || '';
}

/* a site that is not archived (retired) */
const current = (x) => !x.archived;
/* a site that is neither archived nor closed: the ones that shelter people now */
const sheltering = (x) => current(x) && x.status !== 'closed';

function summary(sites, needs, alerts, shortShifts) {
  const centres = sites.filter((x) => x.kind === 'centre' && sheltering(x));
  const people = centres.reduce((a, x) => a + (x.occupancy || 0), 0);
  const cap = centres.reduce((a, x) => a + (x.capacity || 0), 0);
  const gaps = needs.filter((n) => openNeed(n) && n.gap > 0).length;
  const high = alerts.filter((a) => a.severity === 'high').length;
  const tile = (key, value, note, warn) =>
    h('div', { class: ['tile', warn && 'tile-warn'] }, h('p', { class: 'tile-value' }, value), h('p', { class: 'tile-label' }, t(key)), note ? h('p', { class: 'tile-note' }, note) : null);
  return h(
    'div',
    { class: 'tiles' },
    tile('sum.sheltered', num(people), cap ? t('sum.of_capacity', { capacity: num(cap), pct: pct(people / cap) }) : '', cap && people > cap),
    tile('sum.sites', num(sites.filter(current).length), t('sum.centres', { n: num(centres.length) })),
    tile('sum.gaps', num(gaps), '', gaps > 0),
    tile('sum.alerts', num(alerts.length), high ? t('sum.high', { n: num(high) }) : '', high > 0),
    tile('sum.short_shifts', num(shortShifts.length), t('sum.next24'), shortShifts.length > 0),
  );
}

function jumpToConflicts(ev) {
  ev.preventDefault();
  const el = document.getElementById('p-conflicts-title');
  if (el) {
    el.setAttribute('tabindex', '-1');
    el.focus();
  }
}

function occupancy(sites) {
  const rows = sites
    .filter((x) => (x.kind === 'centre' || x.capacity) && sheltering(x))
    .map((x) => ({ ...x, ratio: x.capacity ? (x.occupancy || 0) / x.capacity : 0 }))
    .sort((a, b) => b.ratio - a.ratio);
  if (!rows.length) return empty('occ.none');
  return h(
    'ul',
    { class: 'occ-list' },
    rows.map((x) => {
      const over = x.capacity && x.occupancy > x.capacity;
      const fill = h('span', { class: ['occ-fill', over && 'occ-over', !over && x.ratio >= 0.9 && 'occ-high'] });
      fill.style.width = `${Math.min(100, x.ratio * 100)}%`;
      const label = x.capacity
        ? t('occ.value', { occupancy: num(x.occupancy || 0), capacity: num(x.capacity), pct: pct(x.ratio) })
        : t('occ.nocap', { occupancy: num(x.occupancy || 0) });
      return h(
        'li',
        { class: 'occ-row' },
        h(
          'div',
          { class: 'occ-name' },
          siteLink(x.id, x.name, x.code),
          x.conflicts && x.conflicts.length ? h('a', { class: 'badge badge-medium', href: '#p-conflicts-title', on: { click: jumpToConflicts } }, t('site.conflict')) : null,
          over ? h('span', { class: 'badge badge-high' }, t('occ.over')) : null,
        ),
        h('div', { class: 'occ-bar', role: 'img', 'aria-label': label }, fill),
        h('div', { class: 'occ-value' }, label),
        x['counted-at'] ? h('div', { class: 'occ-when' }, t('occ.counted', { when: dateTime(x['counted-at']) })) : null,
      );
    }),
  );
}

function needsChart(needs) {
  const rows = needs.slice(0, 12).map((n) => {
    let left = n.qty;
    const take = (v) => {
      const x = Math.max(0, Math.min(left, v || 0));
      left -= x;
      return x;
    };
    const fulfilled = take(n.fulfilled);
    const stock = take(n.item ? n.in_stock : 0);
    const transit = take(n.item ? n.in_transit : 0);
    const uncovered = Math.max(0, left);
    return {
      label: `${n.site_code || n.site_name || ''} · ${needWhat(n)}`,
      note: siteLabel(n.site_name, n.site_code),
      qty: n.qty,
      gap: n.gap,
      segments: [
        { value: fulfilled, cls: 'seg-done', label: t('needs.fulfilled') },
        { value: stock, cls: 'seg-stock', label: t('needs.in_stock') },
        { value: transit, cls: 'seg-transit', label: t('needs.in_transit') },
        { value: uncovered, cls: 'seg-gap', label: t('needs.uncovered') },
      ],
    };
  });
  const wrap = h('div', { class: 'chart-wrap' });
  // each row is scaled to its own need, so the bars read as "how much of it is covered"
  for (const r of rows) r.segments.forEach((seg) => (seg.value = r.qty ? (seg.value / r.qty) * 100 : 0));
  wrap.appendChild(
    stackedBars(rows, {
      title: t('needs.chart_title'),
      desc: t('needs.chart_desc'),
      max: 100,
      valueText: (r) => t('needs.gap_short', { gap: num(r.gap) }),
    }),
  );
  wrap.appendChild(
    legend([
      { cls: 'seg-done', label: t('needs.fulfilled') },
      { cls: 'seg-stock', label: t('needs.in_stock') },
      { cls: 'seg-transit', label: t('needs.in_transit') },
      { cls: 'seg-gap', label: t('needs.uncovered') },
    ]),
  );
  return wrap;
}

function needsTable(needs) {
  return table(
    'needs.title',
    [
      { key: 'col.site', cell: (n) => siteLink(n.site, n.site_name, n.site_code) },
      { key: 'col.what', cell: (n) => (openNeed(n) ? needWhat(n) : [needWhat(n), ' ', h('span', { class: 'badge' }, t('needs.closed'))]) },
      { key: 'col.needed', num: true, cell: (n) => num(n.qty) },
      { key: 'col.fulfilled', num: true, cell: (n) => num(n.fulfilled) },
      { key: 'col.in_stock', num: true, cell: (n) => (n.item ? num(n.in_stock) : '–') },
      { key: 'col.in_transit', num: true, cell: (n) => (n.item ? num(n.in_transit) : '–') },
      { key: 'col.gap', num: true, cell: (n) => (openNeed(n) ? h('strong', null, num(n.gap)) : num(n.gap)) },
      { key: 'col.priority', cell: (n) => priorityBadge(n.priority) },
      { key: 'col.due', cell: (n) => (n.due ? date(n.due) : '') },
    ],
    needs,
    { rowClass: (n) => (!openNeed(n) ? 'row-closed' : n.gap > 0 ? 'row-gap' : 'row-ok') },
  );
}

function needsPanel(needs) {
  if (!needs.length) return empty('needs.none');
  // open needs first, largest gap first; closed ones last, in the table only
  const sorted = needs.slice().sort((a, b) => openNeed(b) - openNeed(a) || (b.gap > 0) - (a.gap > 0) || b.gap - a.gap);
  const open = sorted.filter(openNeed);
  return [open.length ? needsChart(open) : empty('needs.none_open'), needsTable(sorted)];
}

function stockChart(totals, needs) {
  const open = new Map();
  for (const n of needs || []) if (n.item && openNeed(n) && n.gap > 0) open.set(n.item, (open.get(n.item) || 0) + n.gap);
  // items needed that no site holds have no stock row: they are short by all of their gap
  const held = new Set(totals.map((x) => x.item));
  const none = [...open.keys()].filter((item) => !held.has(item)).map((item) => ({ item, unit: (state.items.get(item) || {}).unit, balance: 0, in_transit: 0 }));
  if (!totals.length && !none.length) return empty('stock.none');
  const rows = totals
    .concat(none)
    .map((x) => {
      const balance = x.balance || 0;
      const transit = x.in_transit || 0;
      const gap = open.get(x.item) || 0;
      return {
        label: itemName(x.item),
        unit: x.unit,
        balance,
        transit,
        gap,
        short: Math.max(0, gap - balance - transit),
        segments: [
          { value: balance, cls: 'seg-stock', label: t('stock.on_hand') },
          { value: transit, cls: 'seg-transit', label: t('stock.in_transit') },
        ],
        marker: { value: gap, label: t('stock.open_needs') },
      };
    })
    .sort((a, b) => b.short - a.short || b.gap - a.gap || a.label.localeCompare(b.label));
  return [
    totals.length ? null : empty('stock.none'),
    stackedBars(rows, {
      title: t('stock.chart_title'),
      desc: t('stock.chart_desc'),
      rowMax: (r) => Math.max(r.balance + r.transit, r.gap),
      valueText: (r) => qty(r.balance, r.unit),
    }),
    h(
      'ul',
      { class: 'legend' },
      h('li', null, h('span', { class: 'swatch seg-stock', 'aria-hidden': 'true' }), t('stock.on_hand')),
      h('li', null, h('span', { class: 'swatch seg-transit', 'aria-hidden': 'true' }), t('stock.in_transit')),
      h('li', null, h('span', { class: 'swatch swatch-marker', 'aria-hidden': 'true' }), t('stock.open_needs')),
    ),
    h('p', { class: 'hint' }, t('stock.chart_hint')),
    table(
      'stock.chart_title',
      [
        { key: 'col.item', cell: (r) => r.label },
        { key: 'col.on_hand', num: true, cell: (r) => qty(r.balance, r.unit) },
        { key: 'col.in_transit', num: true, cell: (r) => qty(r.transit, r.unit) },
        { key: 'col.open_needs', num: true, cell: (r) => qty(r.gap, r.unit) },
        { key: 'col.short', num: true, cell: (r) => (r.short ? h('strong', { class: 'over' }, qty(r.short, r.unit)) : '–') },
      ],
      rows,
      { rowClass: (r) => (r.short ? 'row-gap' : '') },
    ),
  ];
}

const PATCH_PATH = { site: 'sites', item: 'items', need: 'needs', shift: 'shifts', donation: 'donations' };

function valueText(v) {
  if (v === null || v === undefined) return t('conflict.unset');
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return num(v);
  return JSON.stringify(v);
}

function conflictItem(c, i, rerender) {
  const type = (c.record && c.record.type) || c.type;
  const id = (c.record && c.record.id) || c.id;
  const base = PATCH_PATH[type];
  const name = c.name || (c.record && c.record.name) || '';
  const groupName = `conflict-${i}`;
  const msg = h('p', { class: 'msg', 'aria-live': 'polite' });
  const values = c.values || [];
  const radios = values.map((v, j) => {
    const rid = `${groupName}-${j}`;
    return h(
      'li',
      null,
      h('input', { type: 'radio', name: groupName, id: rid, value: String(j), checked: j === 0, disabled: !base || !canWrite() }),
      h(
        'label',
        { for: rid },
        h('span', { class: 'conflict-value' }, valueText(v.value)),
        ' ',
        h('span', { class: 'conflict-meta' }, t('conflict.by', { author: v.author || '?', when: dateTime(v.time) })),
      ),
    );
  });
  const form = h(
    'form',
    { class: 'conflict' },
    h(
      'fieldset',
      null,
      h(
        'legend',
        null,
        t('conflict.legend', {
          record: [tOr(`record.${type}`, type || ''), id || '', name].filter(Boolean).join(' '),
          field: tOr(`field.${c.field}`, c.field || ''),
        }),
      ),
      h('ul', { class: 'conflict-values' }, radios),
      base && canWrite() ? h('button', { type: 'submit' }, t('conflict.resolve')) : h('p', { class: 'hint' }, t(base ? 'conflict.readonly' : 'conflict.cannot')),
      msg,
    ),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const picked = form.querySelector(`input[name="${groupName}"]:checked`);
    if (!picked) return;
    const v = values[Number(picked.value)];
    const btn = form.querySelector('button');
    btn.disabled = true;
    msg.textContent = t('form.saving');
    try {
      await patch(`${base}/${encodeURIComponent(id)}`, { [c.field]: v.value });
      msg.className = 'msg msg-ok';
      msg.textContent = t('conflict.resolved');
      setTimeout(rerender, 800);
    } catch (err) {
      msg.className = 'msg msg-error';
      msg.textContent = errorText(err);
      btn.disabled = false;
    }
  });
  return form;
}

function conflictsList(conflicts, rerender) {
  if (!conflicts.length) return empty('conflict.none');
  return h('div', { class: 'conflicts' }, conflicts.map((c, i) => conflictItem(c, i, rerender)));
}

function shiftsTable(shifts) {
  if (!shifts.length) return empty('shifts.none_short');
  return table(
    'shifts.short_title',
    [
      { key: 'col.when', cell: (x) => `${dateTime(x.start)} – ${time(x.end)}` },
      { key: 'col.site', cell: (x) => siteLink(x.site, x.site_name, x.site_code) },
      { key: 'col.role', cell: (x) => x.role || '' },
      { key: 'col.confirmed', num: true, cell: (x) => t('shifts.of_slots', { confirmed: num(x.confirmed || 0), slots: num(x.slots) }) },
      { key: 'col.open', num: true, cell: (x) => h('strong', null, num(x.open_slots ?? x.slots - (x.confirmed || 0))) },
      { key: 'col.action', cell: (x) => (canWrite() ? h('a', { href: `#/volunteer?shift=${encodeURIComponent(x.id)}` }, t('shifts.signup_link')) : '') },
    ],
    shifts,
  );
}

function peersTable(peers) {
  if (!peers.length) return empty('peers.none');
  return h(
    'ul',
    { class: 'peer-list' },
    peers.map((p) => {
      const failing = p.last_error && (!p.last_success || p.last_error_at > p.last_success);
      return h(
        'li',
        { class: ['peer', failing ? 'peer-failing' : 'peer-ok'] },
        h('p', { class: 'peer-url' }, h('span', { class: 'peer-dot', 'aria-hidden': 'true' }), p.url || ''),
        h(
          'p',
          { class: 'peer-sync' },
          t('col.last_sync'),
          ': ',
          p.last_success ? h('time', { datetime: p.last_success, title: dateTime(p.last_success) }, ago(p.last_success)) : t('peers.never'),
          ' · ',
          t('peers.lacks', { n: num(p.lacks ?? 0) }),
        ),
        failing ? h('p', { class: 'peer-error' }, t('peers.error', { when: ago(p.last_error_at), error: p.last_error })) : null,
      );
    }),
  );
}

function mapPanel(all) {
  const sites = all.filter(current);
  const pts = sites.map((x) => ({
    ...x,
    href: `#/site/${encodeURIComponent(x.id)}`,
    tip: [
      siteLabel(x.name, x.code),
      kindName(x.kind),
      x.capacity ? t('occ.value', { occupancy: num(x.occupancy || 0), capacity: num(x.capacity), pct: pct((x.occupancy || 0) / x.capacity) }) : '',
    ]
      .filter(Boolean)
      .join(' — '),
  }));
  const kinds = [...new Set(sites.map((x) => x.kind))].filter(Boolean).sort();
  const missing = sites.filter((x) => !Number.isFinite(x.lat) || !Number.isFinite(x.lon));
  return [
    h('div', { class: 'map-wrap' }, siteMap(pts, { title: t('map.title') })),
    h('ul', { class: 'legend' }, kinds.map((k) => h('li', null, markerIcon(k), kindName(k)))),
    missing.length ? h('p', { class: 'hint' }, t('map.missing', { n: num(missing.length) })) : null,
  ];
}

/* the node's reports (GET reports/NAME, REPORTS.md), each in three forms */
const REPORTS = [
  { name: 'needs', key: 'export.needs', hintKey: 'export.needs_hint' },
  { name: 'stock', key: 'export.stock', hintKey: 'export.stock_hint' },
  { name: 'shifts', key: 'export.shifts', hintKey: 'export.shifts_hint' },
  { name: 'donations', key: 'export.donations', hintKey: 'export.donations_hint' },
];
/* CSV for Excel starts with a byte order mark: without it Japanese Excel reads UTF-8 as Shift_JIS */
const FORMATS = [
  { format: 'csv', key: 'export.csv', file: (name) => `relief-${name}.csv`, type: 'text/csv;charset=utf-8', bom: true },
  { format: 'hxl', key: 'export.hxl', file: (name) => `relief-${name}-hxl.csv`, type: 'text/csv;charset=utf-8' },
  { format: 'json', key: 'export.json', file: (name) => `relief-${name}.json`, type: 'application/json' },
];

/* text saved by the browser as a file: a Blob behind an <a download>, its URL revoked once the
   download has started (an <a href> to the API could not carry the token) */
function saveFile(text, name, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function exportsPanel() {
  const sec = panel('p-exports', 'export.title', { wide: true });
  const msg = h('p', { class: 'msg', id: 'export-result', 'aria-live': 'polite' });
  let busy = false;
  async function download(r, f) {
    if (busy) return; // one at a time; the button keeps the focus (a disabled one would lose it)
    busy = true;
    sec.setAttribute('aria-busy', 'true');
    const file = f.file(r.name);
    msg.className = 'msg';
    msg.textContent = t('export.fetching', { file });
    try {
      const text = await report(r.name, f.format);
      saveFile(f.bom ? `\ufeff${text}` : text, file, f.type);
      msg.className = 'msg msg-ok';
      msg.textContent = t('export.saved', { file });
    } catch (err) {
      msg.className = 'msg msg-error';
      msg.textContent = errorText(err);
    } finally {
      busy = false;
      sec.removeAttribute('aria-busy');
    }
  }
  replace(
    sec.body,
    h('p', { class: 'hint' }, t('export.intro')),
    h(
      'ul',
      { class: 'export-list' },
      REPORTS.map((r) =>
        h(
          'li',
          { class: 'export-row', dataset: { report: r.name } },
          h('h3', { id: `export-${r.name}` }, t(r.key)),
          h('p', { class: 'hint' }, t(r.hintKey)),
          h(
            'div',
            { class: 'export-buttons', role: 'group', 'aria-labelledby': `export-${r.name}` },
            FORMATS.map((f) =>
              h(
                'button',
                { type: 'button', class: 'button-secondary', dataset: { format: f.format }, 'aria-label': t('export.button', { format: t(f.key), report: t(r.key) }), on: { click: () => download(r, f) } },
                t(f.key),
              ),
            ),
          ),
        ),
      ),
    ),
    msg,
  );
  return sec;
}

const REFRESH_MS = 60000;
let refocus = false;

/* reload the view every minute while it is shown, unless someone is working in it */
function scheduleRefresh(main, ctx) {
  setTimeout(() => {
    if (!ctx.current()) return;
    const busy = document.visibilityState !== 'visible' || (main.contains(document.activeElement) && document.activeElement !== main && !document.activeElement.classList.contains('view-title'));
    if (busy) scheduleRefresh(main, ctx);
    else ctx.rerender();
  }, REFRESH_MS);
}

export async function render(main, ctx) {
  const now = nodeNow(); // at every refresh: the time shown and the next 24 hours' shifts move on
  const iso = (d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const from = iso(now);
  const to = iso(new Date(now.getTime() + 24 * 3600 * 1000));
  const [sites, needs, totals, alerts, conflicts, shifts, peers, items] = await Promise.all([
    settle(list('sites')),
    settle(list('needs')),
    settle(list('stock/totals')),
    settle(list('alerts')),
    settle(list('conflicts')),
    settle(list(`shifts?short=1&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`)),
    settle(list('peers')),
    settle(list('items')),
  ]);
  for (const it of items.value || []) state.items.set(it.code, it);
  if (!ctx.current()) return;
  const rerender = () => ctx.rerender();
  const shortShifts = (shifts.value || []).filter((x) => (x.confirmed || 0) < x.slots);
  const head = h(
    'div',
    { class: 'view-head' },
    h('h1', { tabindex: '-1', class: 'view-title' }, t('coord.title')),
    h(
      'p',
      { class: 'updated' },
      t('view.updated', { when: time(now) }),
      ' ',
      h('button', { type: 'button', id: 'refresh', class: 'button-secondary', on: { click: () => { refocus = true; rerender(); } } }, t('view.refresh')),
    ),
  );
  replace(
    main,
    head,
    sites.value ? summary(sites.value, needs.value || [], alerts.value || [], shortShifts) : null,
    h(
      'div',
      { class: 'grid' },
      fill(panel('p-occupancy', 'occ.title'), sites, occupancy),
      fill(panel('p-map', 'map.title'), sites, mapPanel),
      fill(panel('p-needs', 'needs.title', { wide: true }), needs, needsPanel),
      h(
        'div',
        { class: 'stack' },
        fill(panel('p-conflicts', 'conflict.title'), conflicts, (c) => conflictsList(c, rerender)),
        fill(panel('p-alerts', 'alerts.title'), alerts, (a) => alertsList(a, sites.value)),
      ),
      h(
        'div',
        { class: 'stack' },
        fill(panel('p-shifts', 'shifts.short_title'), { ...shifts, value: shortShifts }, shiftsTable),
        fill(panel('p-peers', 'peers.title'), peers, peersTable),
      ),
      fill(panel('p-stock', 'stock.title', { wide: true }), totals, (x) => stockChart(x, needs.value)),
      canRead() ? exportsPanel() : null, // donors are refused reports (403)
    ),
  );
  if (refocus) document.getElementById('refresh').focus();
  refocus = false;
  scheduleRefresh(main, ctx);
}

