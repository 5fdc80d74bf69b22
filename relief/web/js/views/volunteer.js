// The volunteer's view: record a receipt, a distribution, tonight's occupancy, a shift sign-up.
import { h, replace } from '../dom.js';
import { t, num, dateTime, time } from '../i18n.js';
import { list, post, patch } from '../api.js';
import { state, errorBox, errorText, siteLabel, kindName, itemName, qty, canWrite, roleName } from '../ui.js';

const BY_KEY = 'relief.by';

function storedBy() {
  try {
    return localStorage.getItem(BY_KEY) || '';
  } catch {
    return '';
  }
}

function option(value, text, selected) {
  return h('option', { value, selected: !!selected }, text);
}

/* sites grouped by kind (centres first where asked), each "CODE · name" so the code survives a narrow select */
function siteOptions(sites, { centresFirst } = {}) {
  const order = centresFirst ? ['centre', 'kitchen', 'school', 'point', 'warehouse'] : ['warehouse', 'centre', 'kitchen', 'school', 'point'];
  const kinds = [...new Set(sites.map((x) => x.kind))].sort((a, b) => {
    const ia = order.indexOf(a);
    const ib = order.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
  });
  return kinds.map((k) =>
    h(
      'optgroup',
      { label: kindName(k) },
      sites
        .filter((x) => x.kind === k)
        .sort((a, b) => (a.code || a.name || '').localeCompare(b.code || b.name || ''))
        .map((x) => option(x.id, x.code ? `${x.code} · ${x.name || ''}` : x.name || x.id)),
    ),
  );
}

function itemOptions(items) {
  return items
    .filter((x) => !x.archived)
    .map((x) => option(x.code, `${x.name || x.code} (${x.code})`));
}

/* one labelled control with its error line */
function field(form, name, labelKey, control, { hintKey, hintParams, optional } = {}) {
  const id = `${form}-${name}`;
  control.id = id;
  control.name = name;
  const errId = `${id}-err`;
  const hintId = `${id}-hint`;
  const described = [hintKey ? hintId : null, errId].filter(Boolean).join(' ');
  control.setAttribute('aria-describedby', described);
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, t(labelKey), optional ? h('span', { class: 'optional' }, ` ${t('form.optional')}`) : null),
    control,
    hintKey ? h('p', { class: 'field-hint', id: hintId }, t(hintKey, hintParams)) : null,
    h('p', { class: 'field-error', id: errId, hidden: true }),
  );
}

function clearErrors(form) {
  for (const el of form.querySelectorAll('.field-error')) {
    el.hidden = true;
    el.textContent = '';
  }
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

/* shows an API error next to its field (or in the form's message) */
function showError(form, result, err) {
  const name = err && err.field;
  const ctl = name ? form.elements.namedItem(name) : null;
  const text = errorText(err);
  if (ctl && ctl.id) {
    const line = document.getElementById(`${ctl.id}-err`);
    line.textContent = text;
    line.hidden = false;
    ctl.setAttribute('aria-invalid', 'true');
    ctl.focus();
    result.className = 'result msg-error';
    result.textContent = t('form.fix_field', { field: form.querySelector(`label[for="${ctl.id}"]`)?.firstChild?.textContent || name });
  } else {
    result.className = 'result msg-error';
    result.textContent = text;
  }
}

function formCard(id, titleKey, introKey, fields, submitKey, onSubmit) {
  const result = h('p', { class: 'result', id: `${id}-result`, role: 'status', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit', id: `${id}-submit` }, t(submitKey));
  const form = h('form', { id, class: 'card-form', novalidate: true }, fields, h('div', { class: 'form-actions' }, button), result);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    button.disabled = true;
    result.className = 'result';
    result.textContent = t('form.saving');
    try {
      const text = await onSubmit(form);
      result.className = 'result msg-ok';
      result.textContent = text;
    } catch (err) {
      if (err && err.warning) {
        result.className = 'result msg-warn';
        result.textContent = err.warning;
      } else showError(form, result, err);
    } finally {
      button.disabled = false;
    }
  });
  return h(
    'section',
    { class: 'panel form-panel', 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title` }, t(titleKey)),
    introKey ? h('p', { class: 'hint' }, t(introKey)) : null,
    form,
  );
}

function numberInput(min) {
  return h('input', { type: 'number', inputmode: 'numeric', min, step: 1, required: true, class: 'input-num' });
}

function byValue() {
  const v = (document.getElementById('vol-by') || {}).value || '';
  return v.trim();
}

function body(fields) {
  const out = {};
  for (const [k, v] of Object.entries(fields)) if (v !== '' && v !== undefined && v !== null) out[k] = v;
  const by = byValue();
  if (by) out.by = by;
  return out;
}

function val(form, name) {
  const el = form.elements.namedItem(name);
  return el ? el.value.trim() : '';
}

function siteOf(sites, id) {
  return sites.find((x) => x.id === id || x.code === id);
}

function stockLine(id) {
  return h('p', { class: 'stock-now', id, 'aria-live': 'polite' });
}

async function showStock(line, site, item, sites) {
  if (!site || !item) {
    line.textContent = '';
    return null;
  }
  try {
    const rows = await list(`stock?site=${encodeURIComponent(site)}&item=${encodeURIComponent(item)}`);
    const r = rows.find((x) => x.item === item) || { balance: 0, in_transit: 0, unit: (state.items.get(item) || {}).unit };
    const s = siteOf(sites, site);
    line.textContent = t('vol.stock_now', { site: s ? s.code || s.name : site, qty: qty(r.balance, r.unit), transit: qty(r.in_transit || 0, r.unit) });
    return r;
  } catch (err) {
    line.textContent = errorText(err);
    return null;
  }
}

const OPEN_TRANSFERS = 'movements?kind=dispatch&open=1';

/* {value} or {error}: a list that may fail without failing the view */
function settleList(path) {
  return list(path).then((value) => ({ value }), (error) => ({ error }));
}

/* the id stock/arrive takes (older answers had only the dispatch's op) */
function transferId(m) {
  return m.transfer || m.op || '';
}

function placeText(code, name, id) {
  return code || name || id || '';
}

function transferText(m) {
  return t('vol.transfer_option', {
    item: itemName(m.item),
    qty: qty(m.qty, (state.items.get(m.item) || {}).unit),
    from: placeText(m.site_code, m.site_name, m.site),
    to: placeText(m.to_code, m.to_name, m.to),
    when: dateTime(m.time),
  });
}

function shiftText(x) {
  return t('vol.shift_option', {
    when: `${dateTime(x.start)}–${time(x.end)}`,
    site: x.site_code || x.site_name || '',
    role: x.role || '',
    confirmed: num(x.confirmed || 0),
    slots: num(x.slots),
  });
}

export async function render(main, ctx) {
  const [sites, items, needs, shifts, donations, transfers] = await Promise.all([
    list('sites'),
    list('items'),
    list('needs').catch(() => []),
    list('shifts').catch(() => []),
    list('donations').catch(() => []),
    settleList(OPEN_TRANSFERS),
  ]).catch((err) => {
    replace(main, h('h1', { tabindex: '-1', class: 'view-title' }, t('vol.title')), errorBox(err));
    return [];
  });
  if (!sites || !ctx.current()) return;
  for (const it of items) state.items.set(it.code, it);
  const openSites = sites.filter((x) => x.status !== 'closed' && !x.archived);
  const now = Date.now();
  const upcoming = shifts.filter((x) => new Date(x.end).getTime() > now).sort((a, b) => (a.start < b.start ? -1 : 1));

  // --- receipt
  const rSite = h('select', { required: true }, siteOptions(openSites));
  const warehouse = openSites.find((x) => x.kind === 'warehouse');
  if (warehouse) rSite.value = warehouse.id;
  const rItem = h('select', { required: true }, itemOptions(items));
  const rStock = stockLine('receive-stock');
  const rDonation = h(
    'select',
    null,
    option('', t('form.none')),
    donations.filter((d) => d.item).map((d) => option(d.id, t('vol.donation_option', { donor: d.donor || '', item: itemName(d.item), qty: num(d.qty) }))),
  );
  const receive = formCard(
    'receive',
    'vol.receive_title',
    'vol.receive_intro',
    [
      field('receive', 'site', 'form.site', rSite),
      field('receive', 'item', 'form.item', rItem),
      rStock,
      field('receive', 'qty', 'form.qty', numberInput(1)),
      h(
        'details',
        { class: 'more' },
        h('summary', null, t('vol.more')),
        field('receive', 'from', 'form.from', h('input', { type: 'text', autocomplete: 'off' }), { optional: true }),
        field('receive', 'donation', 'form.donation', rDonation, { optional: true }),
        field('receive', 'lot', 'form.lot', h('input', { type: 'text', autocomplete: 'off' }), { optional: true }),
        field('receive', 'expiry', 'form.expiry', h('input', { type: 'date' }), { optional: true }),
      ),
    ],
    'vol.receive_submit',
    async (form) => {
      const b = body({
        site: val(form, 'site'),
        item: val(form, 'item'),
        qty: val(form, 'qty'),
        from: val(form, 'from'),
        donation: val(form, 'donation'),
        lot: val(form, 'lot'),
        expiry: val(form, 'expiry'),
      });
      const res = await post('stock/receive', b);
      const s = siteOf(sites, b.site);
      const unit = (state.items.get(b.item) || {}).unit;
      form.elements.namedItem('qty').value = '';
      showStock(rStock, rSite.value, rItem.value, sites);
      return t('vol.received', { qty: qty(b.qty, unit), item: itemName(b.item), site: s ? s.code || s.name : b.site, balance: qty(res.balance, unit) });
    },
  );
  const refreshR = () => showStock(rStock, rSite.value, rItem.value, sites);
  rSite.addEventListener('change', refreshR);
  rItem.addEventListener('change', refreshR);

  // --- distribution
  const dSite = h('select', { required: true }, siteOptions(openSites, { centresFirst: true }));
  const dItem = h('select', { required: true }, itemOptions(items));
  const dNeed = h('select', null);
  const dStock = stockLine('distribute-stock');
  const fillNeeds = () => {
    const keep = dNeed.value;
    replace(
      dNeed,
      option('', t('form.none')),
      needs
        .filter((n) => n.item && n.status !== 'closed' && (n.site === dSite.value || n.site_code === dSite.value) && n.item === dItem.value)
        .map((n) => option(n.id, t('vol.need_option', { item: itemName(n.item), qty: num(n.qty), gap: num(n.gap) }), n.id === keep)),
    );
    // the open need of this site and item, if there is one, is the usual choice
    if (!dNeed.value && dNeed.options.length === 2) dNeed.selectedIndex = 1;
  };
  const firstNeed = needs.find((n) => n.item && n.status !== 'closed' && n.gap > 0);
  if (firstNeed) {
    dSite.value = firstNeed.site;
    dItem.value = firstNeed.item;
  }
  fillNeeds();
  // more than the stock on record is recorded (the ledger keeps what happened) but asked twice
  let dBalance = null;
  let dConfirmed = '';
  const refreshD = async () => {
    fillNeeds();
    dConfirmed = '';
    const r = await showStock(dStock, dSite.value, dItem.value, sites);
    dBalance = r ? r.balance : null;
  };
  dSite.addEventListener('change', refreshD);
  dItem.addEventListener('change', refreshD);
  const distribute = formCard(
    'distribute',
    'vol.distribute_title',
    'vol.distribute_intro',
    [
      field('distribute', 'site', 'form.site', dSite),
      field('distribute', 'item', 'form.item', dItem),
      dStock,
      field('distribute', 'qty', 'form.qty', numberInput(1)),
      field('distribute', 'need', 'form.need', dNeed, { optional: true }),
    ],
    'vol.distribute_submit',
    async (form) => {
      const b = body({ site: val(form, 'site'), item: val(form, 'item'), qty: val(form, 'qty'), need: val(form, 'need') });
      const key = `${b.site} ${b.item} ${b.qty}`;
      if (dBalance !== null && Number(b.qty) > dBalance && dConfirmed !== key) {
        dConfirmed = key;
        const unit = (state.items.get(b.item) || {}).unit;
        const e = new Error('over');
        e.warning = t('vol.over_stock', { qty: qty(b.qty, unit), balance: qty(dBalance, unit) });
        throw e;
      }
      dConfirmed = '';
      const res = await post('stock/distribute', b);
      dBalance = res.balance;
      if (b.need) {
        // the need's gap changed: show the new one in its option
        try {
          const fresh = await list('needs');
          needs.splice(0, needs.length, ...fresh);
          fillNeeds();
        } catch {
          /* the old gap stays until the view is opened again */
        }
      }
      const s = siteOf(sites, b.site);
      const unit = (state.items.get(b.item) || {}).unit;
      form.elements.namedItem('qty').value = '';
      showStock(dStock, dSite.value, dItem.value, sites).then((r) => (dBalance = r ? r.balance : dBalance));
      return t('vol.distributed', { qty: qty(b.qty, unit), item: itemName(b.item), site: s ? s.code || s.name : b.site, balance: qty(res.balance, unit) });
    },
  );

  // --- occupancy
  const centres = openSites.filter((x) => x.kind === 'centre' || x.capacity);
  const oSite = h('select', { required: true }, siteOptions(centres.length ? centres : openSites, { centresFirst: true }));
  const oNow = h('p', { class: 'stock-now', 'aria-live': 'polite' });
  const oQty = numberInput(0);
  const showOcc = () => {
    const s = siteOf(sites, oSite.value);
    if (!s) return;
    oNow.textContent = t('vol.occ_now', {
      occupancy: s.occupancy === undefined ? '–' : num(s.occupancy),
      capacity: s.capacity ? num(s.capacity) : '–',
      when: s['counted-at'] ? dateTime(s['counted-at']) : '',
    });
  };
  showOcc();
  oSite.addEventListener('change', showOcc);
  const occupancy = formCard(
    'occupancy',
    'vol.occ_title',
    'vol.occ_intro',
    [field('occupancy', 'site', 'form.centre', oSite), oNow, field('occupancy', 'occupancy', 'form.occupancy', oQty)],
    'vol.occ_submit',
    async (form) => {
      const id = val(form, 'site');
      const n = val(form, 'occupancy');
      // the count is of now: the coordinators see when it was made
      const countedAt = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
      await patch(`sites/${encodeURIComponent(id)}`, body({ occupancy: n, 'counted-at': countedAt }));
      const s = siteOf(sites, id);
      if (s) {
        s.occupancy = Number(n);
        s['counted-at'] = countedAt;
      }
      showOcc();
      return t('vol.occ_saved', { site: s ? siteLabel(s.name, s.code) : id, occupancy: num(n), capacity: s && s.capacity ? num(s.capacity) : '–' });
    },
  );

  // --- shift sign-up
  const sShift = h(
    'select',
    { required: true },
    upcoming.length ? upcoming.map((x) => option(x.id, shiftText(x), ctx.query.get('shift') === x.id)) : option('', t('vol.no_shifts')),
  );
  const sVolunteer = h('input', { type: 'text', autocomplete: 'name', required: true, value: storedBy() });
  const signup = formCard(
    'signup',
    'vol.signup_title',
    'vol.signup_intro',
    [
      field('signup', 'shift', 'form.shift', sShift),
      field('signup', 'volunteer', 'form.volunteer', sVolunteer),
      field('signup', 'contact', 'form.contact', h('input', { type: 'text', autocomplete: 'tel' }), { optional: true, hintKey: 'form.contact_hint' }),
    ],
    'vol.signup_submit',
    async (form) => {
      const id = val(form, 'shift');
      const volunteer = val(form, 'volunteer');
      await post(`shifts/${encodeURIComponent(id)}/signup`, body({ volunteer, contact: val(form, 'contact') }));
      let status = '';
      try {
        const fresh = await list('shifts');
        const x = fresh.find((y) => y.id === id);
        const mine = x && (x.signups || []).filter((y) => y.volunteer === volunteer).pop();
        if (mine) status = mine.status;
        if (x) {
          const opt = [...sShift.options].find((o) => o.value === id);
          if (opt) opt.textContent = shiftText(x);
        }
      } catch {
        status = '';
      }
      return t(status === 'waitlisted' ? 'vol.signed_up_wait' : 'vol.signed_up', { volunteer, shift: sShift.selectedOptions[0] ? sShift.selectedOptions[0].textContent : id });
    },
  );

  // --- dispatch to another site
  const xFrom = h('select', { required: true }, siteOptions(openSites));
  if (warehouse) xFrom.value = warehouse.id;
  const xTo = h('select', { required: true }, siteOptions(openSites, { centresFirst: true }));
  const xItem = h('select', { required: true }, itemOptions(items));
  const xStock = stockLine('dispatch-stock');
  const refreshX = () => showStock(xStock, xFrom.value, xItem.value, sites);
  xFrom.addEventListener('change', refreshX);
  xItem.addEventListener('change', refreshX);
  const dispatch = formCard(
    'dispatch',
    'vol.dispatch_title',
    'vol.dispatch_intro',
    [
      field('dispatch', 'from', 'form.from_site', xFrom),
      field('dispatch', 'to', 'form.to_site', xTo),
      field('dispatch', 'item', 'form.item', xItem),
      xStock,
      field('dispatch', 'qty', 'form.qty', numberInput(1)),
    ],
    'vol.dispatch_submit',
    async (form) => {
      const b = body({ from: val(form, 'from'), to: val(form, 'to'), item: val(form, 'item'), qty: val(form, 'qty') });
      const res = await post('stock/dispatch', b);
      const unit = (state.items.get(b.item) || {}).unit;
      const from = siteOf(sites, b.from);
      const to = siteOf(sites, b.to);
      form.elements.namedItem('qty').value = '';
      refreshX();
      // the new dispatch is in transit: list it among the arrivals to record
      await loadTransfers();
      return t('vol.dispatched', {
        qty: qty(b.qty, unit),
        item: itemName(b.item),
        from: from ? from.code || from.name : b.from,
        to: to ? to.code || to.name : b.to,
        transfer: res.transfer || '',
        balance: qty(res.balance, unit),
      });
    },
  );

  // --- arrival of a dispatch: the dispatches still in transit, as the node lists them
  // (GET movements?kind=dispatch&open=1), grouped by where they go
  let pending = [];
  const aTransfer = h('select', { required: true });
  const aQty = numberInput(0);
  const aSent = h('p', { class: 'stock-now', id: 'arrive-sent', 'aria-live': 'polite' });
  const findPending = (id) => pending.find((m) => transferId(m) === id);
  const showSent = () => {
    const m = findPending(aTransfer.value);
    if (m) aQty.value = String(m.qty);
    aSent.textContent = m ? t('vol.transfer_sent', { qty: qty(m.qty, (state.items.get(m.item) || {}).unit), item: itemName(m.item), from: placeText(m.site_code, m.site_name, m.site), when: dateTime(m.time), author: m.author || '?' }) : '';
  };
  const fillTransfers = (result) => {
    const keep = aTransfer.value;
    if (result.error) {
      pending = [];
      aSent.textContent = errorText(result.error);
    } else pending = result.value.filter((m) => m.kind === 'dispatch' && !m.voided && (m.arrived === null || m.arrived === undefined) && transferId(m));
    const groups = new Map();
    for (const m of pending) {
      const key = m.to || m.to_code || '';
      if (!groups.has(key)) groups.set(key, { label: t('vol.transfers_to', { to: siteLabel(m.to_name, m.to_code) || key }), rows: [] });
      groups.get(key).rows.push(m);
    }
    replace(
      aTransfer,
      pending.length
        ? [...groups.values()].map((g) => h('optgroup', { label: g.label }, g.rows.map((m) => option(transferId(m), transferText(m), transferId(m) === keep))))
        : option('', t('vol.no_transfers')),
    );
    if (!result.error) showSent();
  };
  const loadTransfers = async () => fillTransfers(await settleList(OPEN_TRANSFERS));
  fillTransfers(transfers);
  aTransfer.addEventListener('change', showSent);
  const arrive = formCard(
    'arrive',
    'vol.arrive_title',
    'vol.arrive_intro',
    [field('arrive', 'transfer', 'form.transfer', aTransfer), aSent, field('arrive', 'qty', 'form.qty_arrived', aQty, { hintKey: 'vol.arrive_hint' })],
    'vol.arrive_submit',
    async (form) => {
      const id = val(form, 'transfer');
      const m = findPending(id);
      const b = body({ transfer: id, qty: val(form, 'qty') });
      await post('stock/arrive', b);
      await loadTransfers();
      const unit = m ? (state.items.get(m.item) || {}).unit : undefined;
      const to = m ? placeText(m.to_code, m.to_name, m.to) : '';
      if (m && m.qty !== Number(b.qty)) return t('vol.arrived_diff', { qty: qty(b.qty, unit), sent: qty(m.qty, unit), item: itemName(m.item), to });
      return t('vol.arrived', { qty: qty(b.qty, unit), item: m ? itemName(m.item) : '', to });
    },
  );

  const by = h('input', { type: 'text', id: 'vol-by', autocomplete: 'name', value: storedBy() });
  by.addEventListener('change', () => {
    try {
      localStorage.setItem(BY_KEY, by.value.trim());
    } catch {
      /* not remembered */
    }
    if (!sVolunteer.value) sVolunteer.value = by.value.trim();
  });

  replace(
    main,
    h(
      'div',
      { class: 'view-head' },
      h('h1', { tabindex: '-1', class: 'view-title' }, t('vol.title')),
      h('div', { class: 'by-field' }, h('label', { for: 'vol-by' }, t('vol.by')), by, h('p', { class: 'field-hint' }, t('vol.by_hint'))),
    ),
    canWrite() ? null : h('p', { class: 'msg msg-error', role: 'alert' }, t('vol.readonly', { role: roleName(state.role) })),
    h('div', { class: 'grid grid-forms' }, distribute, receive, occupancy, signup, dispatch, arrive),
  );
  refreshD();
  refreshR();
  refreshX();
  if (ctx.query.get('shift')) sShift.focus();
}
