// One site: its facts, stock, needs and shifts.
import { h, replace } from '../dom.js';
import { t, tOr, num, pct, dateTime, date, time } from '../i18n.js';
import { get, list, post } from '../api.js';
import { state, panel, table, errorBox, empty, kindName, itemName, qty, priorityBadge, siteLabel, canWrite, errorText } from '../ui.js';

function kindText(m) {
  return tOr(`move.${m.kind}`, m.kind || '');
}

function moveText(m) {
  const unit = (state.items.get(m.item) || {}).unit;
  return `${dateTime(m.time)} · ${kindText(m)} · ${itemName(m.item)} · ${qty(m.qty, unit)}`;
}

/* what arrived of a dispatch: nothing yet (in transit), or the count, flagged when it differs */
function arrivedCell(m) {
  if (m.kind !== 'dispatch' || m.voided) return '';
  if (m.arrived === null || m.arrived === undefined) return h('span', { class: 'badge' }, t('site.in_transit'));
  const unit = (state.items.get(m.item) || {}).unit;
  if (m.arrived === m.qty) return qty(m.arrived, unit);
  return [qty(m.arrived, unit), ' ', h('span', { class: 'badge badge-medium' }, t('site.arrival_differs'))];
}

/* the site's recent movements, and voiding one of them (mistakes are voided, never edited) */
function movementsPanel(moves, rerender) {
  const sec = panel('p-site-moves', 'site.movements', { wide: true });
  if (!moves.length) {
    replace(sec.body, empty('site.no_movements'));
    return sec;
  }
  const tbl = table(
    'site.movements',
    [
      { key: 'col.when', cell: (m) => dateTime(m.time) },
      { key: 'col.kind', cell: (m) => kindText(m) },
      { key: 'col.item', cell: (m) => itemName(m.item) },
      { key: 'col.qty', num: true, cell: (m) => qty(m.qty, (state.items.get(m.item) || {}).unit) },
      { key: 'col.to', cell: (m) => (m.to || m.to_code ? siteLabel(m.to_name, m.to_code) : '') },
      { key: 'col.arrived', num: true, cell: arrivedCell },
      { key: 'col.lot', cell: (m) => [m.lot, m.expiry ? date(m.expiry) : ''].filter(Boolean).join(' · ') },
      { key: 'col.author', cell: (m) => m.author || '' },
      { key: 'col.state', cell: (m) => (m.voided ? h('span', { class: 'badge' }, t('site.voided')) : '') },
    ],
    moves,
    { rowClass: (m) => (m.voided ? 'row-voided' : '') },
  );
  const live = moves.filter((m) => !m.voided && m.op);
  let form = null;
  if (canWrite() && live.length) {
    const result = h('p', { class: 'result', id: 'void-result', role: 'status', 'aria-live': 'polite' });
    const sel = h('select', { id: 'void-movement', name: 'movement' }, live.map((m) => h('option', { value: m.op }, moveText(m))));
    const reason = h('input', { type: 'text', id: 'void-reason', name: 'reason', required: true, autocomplete: 'off', 'aria-describedby': 'void-reason-err' });
    const reasonErr = h('p', { class: 'field-error', id: 'void-reason-err', hidden: true });
    const button = h('button', { type: 'submit', id: 'void-submit' }, t('site.void_submit'));
    form = h(
      'form',
      { class: 'card-form void-form', id: 'void-form', novalidate: true },
      h('h3', null, t('site.void_title')),
      h('p', { class: 'hint' }, t('site.void_intro')),
      h('div', { class: 'field' }, h('label', { for: 'void-movement' }, t('site.void_which')), sel),
      h('div', { class: 'field' }, h('label', { for: 'void-reason' }, t('site.void_reason')), reason, reasonErr),
      h('div', { class: 'form-actions' }, button),
      result,
    );
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      reasonErr.hidden = true;
      reason.removeAttribute('aria-invalid');
      if (!reason.value.trim()) {
        reasonErr.textContent = t('site.void_need_reason');
        reasonErr.hidden = false;
        reason.setAttribute('aria-invalid', 'true');
        reason.focus();
        return;
      }
      button.disabled = true;
      result.className = 'result';
      result.textContent = t('form.saving');
      try {
        const b = { movement: sel.value, reason: reason.value.trim() };
        let by = '';
        try {
          by = localStorage.getItem('relief.by') || '';
        } catch {
          by = '';
        }
        if (by) b.by = by;
        await post('stock/void', b);
        result.className = 'result msg-ok';
        result.textContent = t('site.void_done', { what: sel.selectedOptions[0].textContent });
        setTimeout(rerender, 1200);
      } catch (err) {
        result.className = 'result msg-error';
        result.textContent = errorText(err);
        button.disabled = false;
      }
    });
  }
  replace(sec.body, tbl, form);
  return sec;
}

export async function render(main, ctx, id) {
  let site;
  let err;
  try {
    site = await get(`sites/${encodeURIComponent(id)}`);
    // older nodes answer the site alone: ask for its needs and shifts
    const key = encodeURIComponent(site.id || id);
    if (!Array.isArray(site.needs)) site.needs = await list(`needs?site=${key}`).catch(() => []);
    if (!Array.isArray(site.shifts)) site.shifts = await list(`shifts?site=${key}`).catch(() => []);
    const moves = await get(`movements?site=${key}&limit=30`).catch(() => null);
    site.movements = moves && Array.isArray(moves.items) ? moves.items : [];
    if (!state.items.size) for (const it of await list('items')) state.items.set(it.code, it);
  } catch (e) {
    err = e;
  }
  if (!ctx.current()) return;
  const back = h('a', { href: '#/coordinator', class: 'back' }, t('site.back'));
  if (err) {
    replace(main, h('div', { class: 'view-head' }, back, h('h1', { tabindex: '-1', class: 'view-title' }, t('site.title_plain'))), errorBox(err));
    return;
  }
  const conflicted = new Set(site.conflicts || []);
  const facts = [];
  const fact = (key, field, value) => {
    if (value === undefined || value === null || value === '') return;
    facts.push(h('dt', null, t(key)));
    facts.push(h('dd', null, value, conflicted.has(field) ? h('span', { class: 'badge badge-high' }, ` ${t('site.conflict')}`) : null));
  };
  fact('site.kind', 'kind', kindName(site.kind));
  fact('site.code', 'code', site.code);
  fact('site.status', 'status', site.status ? tOr(`status.${site.status}`, site.status) : '');
  fact('site.area', 'municipality', [site.prefecture, site.municipality].filter(Boolean).join(' '));
  fact('site.address', 'address', site.address);
  if (Number.isFinite(site.lat) && Number.isFinite(site.lon)) fact('site.position', 'lat', `${num(site.lat, { maximumFractionDigits: 4 })}, ${num(site.lon, { maximumFractionDigits: 4 })}`);
  fact('site.capacity', 'capacity', site.capacity ? num(site.capacity) : '');
  if (site.occupancy !== undefined)
    fact(
      'site.occupancy',
      'occupancy',
      `${num(site.occupancy)}${site.capacity ? ` (${pct(site.occupancy / site.capacity)})` : ''}${site['counted-at'] ? ` — ${t('occ.counted', { when: dateTime(site['counted-at']) })}` : ''}`,
    );
  fact('site.priority', 'priority', site.priority ? priorityBadge(site.priority) : '');
  fact('site.special', 'special-needs', site['special-needs']);
  fact('site.languages', 'languages', (site.languages || []).join(', '));
  fact('site.contact', 'contact', site.contact);

  const stock = panel('p-site-stock', 'site.stock');
  const rows = site.stock || [];
  replace(
    stock.body,
    rows.length
      ? table(
          'site.stock',
          [
            { key: 'col.item', cell: (r) => itemName(r.item) },
            { key: 'col.on_hand', num: true, cell: (r) => qty(r.balance, r.unit) },
            { key: 'col.in_transit', num: true, cell: (r) => qty(r.in_transit || 0, r.unit) },
          ],
          rows,
        )
      : empty('stock.none'),
  );
  const needs = panel('p-site-needs', 'site.needs');
  const nrows = site.needs || [];
  replace(
    needs.body,
    nrows.length
      ? table(
          'site.needs',
          [
            { key: 'col.what', cell: (n) => [n.item ? itemName(n.item) : n.service || '', n.status === 'closed' ? [' ', h('span', { class: 'badge' }, t('needs.closed'))] : null] },
            { key: 'col.needed', num: true, cell: (n) => num(n.qty) },
            { key: 'col.fulfilled', num: true, cell: (n) => num(n.fulfilled ?? 0) },
            { key: 'col.gap', num: true, cell: (n) => num(n.gap ?? 0) },
            { key: 'col.priority', cell: (n) => priorityBadge(n.priority) },
            { key: 'col.due', cell: (n) => (n.due ? date(n.due) : '') },
          ],
          nrows,
          { rowClass: (n) => (n.status === 'closed' ? 'row-closed' : '') },
        )
      : empty('needs.none'),
  );
  const shifts = panel('p-site-shifts', 'site.shifts');
  const srows = site.shifts || [];
  replace(
    shifts.body,
    srows.length
      ? table(
          'site.shifts',
          [
            { key: 'col.when', cell: (x) => `${dateTime(x.start)} – ${time(x.end)}` },
            { key: 'col.role', cell: (x) => x.role || '' },
            { key: 'col.confirmed', num: true, cell: (x) => t('shifts.of_slots', { confirmed: num(x.confirmed || 0), slots: num(x.slots) }) },
            { key: 'col.waitlisted', num: true, cell: (x) => num(x.waitlisted || 0) },
            { key: 'col.meals', num: true, cell: (x) => (x.meals ? `${num(x.meals_served || 0)} / ${num(x.meals)}` : '') },
          ],
          srows,
        )
      : empty('shifts.none'),
  );
  replace(
    main,
    h('div', { class: 'view-head' }, back, h('h1', { tabindex: '-1', class: 'view-title' }, site.name || site.code || id)),
    h(
      'div',
      { class: 'grid' },
      h('section', { class: 'panel', 'aria-labelledby': 'site-facts' }, h('h2', { id: 'site-facts' }, t('site.facts')), h('dl', { class: 'facts' }, facts)),
      stock,
      needs,
      shifts,
      movementsPanel(site.movements, () => ctx.rerender()),
    ),
  );
}
