// The donor's view: donations, and one donation's trace from pledge to distribution.
import { h, replace } from '../dom.js';
import { t, num, pct, money, dateTime } from '../i18n.js';
import { list, get } from '../api.js';
import { state, panel, table, errorBox, empty, siteLabel, itemName, qty } from '../ui.js';
import { stackedBars } from '../charts.js';

function pledged(d) {
  if (d.item) return t('donor.goods', { qty: qty(d.qty, (state.items.get(d.item) || {}).unit), item: itemName(d.item) });
  if (d.amount !== undefined) return money(d.amount, d.currency);
  return '';
}

function progress(d) {
  if (!d.item || !d.qty) return '';
  const ratio = Math.min(1, (d.delivered || 0) / d.qty);
  const fill = h('span', { class: 'occ-fill occ-done' });
  fill.style.width = `${ratio * 100}%`;
  const label = t('donor.delivered_of', { delivered: num(d.delivered || 0), qty: num(d.qty), pct: pct(ratio) });
  return h('div', { class: 'progress' }, h('div', { class: 'occ-bar', role: 'img', 'aria-label': label }, fill), h('span', null, label));
}

async function loadItems() {
  if (state.items.size) return;
  try {
    for (const it of await list('items')) state.items.set(it.code, it);
  } catch {
    /* item codes are shown instead of names */
  }
}

export async function renderList(main, ctx) {
  let donations;
  let err;
  try {
    [donations] = await Promise.all([list('donations'), loadItems()]);
  } catch (e) {
    err = e;
  }
  if (!ctx.current()) return;
  const sec = panel('p-donations', 'donor.list_title', { wide: true });
  if (err) replace(sec.body, errorBox(err));
  else if (!donations.length) replace(sec.body, empty('donor.none'));
  else
    replace(
      sec.body,
      table(
        'donor.list_title',
        [
          { key: 'col.donor', cell: (d) => d.donor || '' },
          { key: 'col.recipient', cell: (d) => siteLabel(d.to_name, d.to_code) || d.to || '' },
          { key: 'col.pledged', cell: pledged },
          { key: 'col.delivered', cell: progress },
          { key: 'col.pledged_on', cell: (d) => dateTime(d.created) },
          { key: 'col.trace', cell: (d) => h('a', { href: `#/donor/${encodeURIComponent(d.id)}`, class: 'trace-link' }, t('donor.trace_link', { donor: d.donor || d.id })) },
        ],
        donations,
      ),
    );
  replace(main, h('div', { class: 'view-head' }, h('h1', { tabindex: '-1', class: 'view-title' }, t('donor.title')), h('p', { class: 'hint' }, t('donor.intro'))), h('div', { class: 'grid' }, sec));
}

const STAGES = ['pledged', 'received', 'dispatched', 'arrived', 'distributed'];

function eventLine(e, unit) {
  const where = siteLabel(e.site_name, e.site_code);
  const to = e.stage === 'dispatched' && (e.to_name || e.to_code) ? siteLabel(e.to_name, e.to_code) : '';
  return h(
    'li',
    { class: 'event' },
    h('p', { class: 'event-what' }, e.qty !== undefined ? h('strong', null, qty(e.qty, unit)) : null, ' ', to ? t('trace.from_to', { from: where, to }) : t('trace.at', { site: where })),
    h('p', { class: 'event-meta' }, e.time ? h('time', { datetime: e.time }, dateTime(e.time)) : null, e.author ? ` · ${t('trace.by', { author: e.author })}` : ''),
  );
}

export async function renderTrace(main, ctx, id) {
  let tr;
  let err;
  try {
    [tr] = await Promise.all([get(`donations/${encodeURIComponent(id)}/trace`), loadItems()]);
  } catch (e) {
    err = e;
  }
  if (!ctx.current()) return;
  const back = h('a', { href: '#/donor', class: 'back' }, t('donor.back'));
  if (err) {
    replace(main, h('div', { class: 'view-head' }, back, h('h1', { tabindex: '-1', class: 'view-title' }, t('trace.title_plain'))), errorBox(err));
    return;
  }
  const events = tr.events || [];
  const unit = tr.item ? (state.items.get(tr.item) || {}).unit : '';
  const byStage = new Map(STAGES.map((s) => [s, []]));
  const extra = [];
  for (const e of events) (byStage.get(e.stage) || extra).push(e);
  const total = (stage) => byStage.get(stage).reduce((a, e) => a + (e.qty || 0), 0);
  const steps = STAGES.map((stage, i) => {
    const evs = byStage.get(stage);
    const done = evs.length > 0;
    return h(
      'li',
      { class: ['step', done ? 'step-done' : 'step-todo'] },
      h('span', { class: 'step-dot', 'aria-hidden': 'true' }, String(i + 1)),
      h(
        'div',
        { class: 'step-body' },
        h('h3', null, t(`stage.${stage}`), ' ', h('span', { class: 'step-state' }, done ? (tr.item ? t('trace.stage_qty', { qty: qty(total(stage), unit) }) : '') : t('trace.pending'))),
        done ? h('ol', { class: 'events' }, evs.map((e) => eventLine(e, unit))) : null,
      ),
    );
  });
  const summary = h(
    'dl',
    { class: 'facts' },
    h('dt', null, t('col.donor')),
    h('dd', null, tr.donor || ''),
    h('dt', null, t('col.recipient')),
    h('dd', null, siteLabel(tr.to_name, tr.to_code) || tr.to || ''),
    h('dt', null, t('col.pledged')),
    h('dd', null, pledged(tr)),
    tr.item ? h('dt', null, t('col.delivered')) : null,
    tr.item ? h('dd', null, progress(tr)) : null,
    tr.item ? h('dt', null, t('trace.distributed_total')) : null,
    tr.item ? h('dd', null, qty(total('distributed'), unit)) : null,
  );
  // how far the goods got: one bar per stage, against the pledge
  const flow = tr.item && tr.qty
    ? stackedBars(
        STAGES.map((stage) => ({
          label: t(`stage.${stage}`),
          qty: total(stage),
          segments: [{ value: total(stage), cls: 'seg-done', label: t(`stage.${stage}`) }],
        })),
        {
          title: t('trace.flow_title'),
          desc: t('trace.flow_desc', { qty: qty(tr.qty, unit) }),
          max: Math.max(tr.qty, ...STAGES.map(total)),
          labelW: 120,
          W: 480,
          valueText: (r) => qty(r.qty, unit),
        },
      )
    : null;
  replace(
    main,
    h(
      'div',
      { class: 'view-head' },
      back,
      h('h1', { tabindex: '-1', class: 'view-title' }, t('trace.title', { donor: tr.donor || '', recipient: tr.to_name || tr.to_code || '' })),
    ),
    h(
      'div',
      { class: 'grid' },
      h('section', { class: 'panel', 'aria-labelledby': 'trace-sum' }, h('h2', { id: 'trace-sum' }, t('trace.summary')), summary),
      flow ? h('section', { class: 'panel', 'aria-labelledby': 'trace-flow' }, h('h2', { id: 'trace-flow' }, t('trace.flow_title')), flow) : null,
      h(
        'section',
        { class: 'panel panel-wide', 'aria-labelledby': 'trace-tl' },
        h('h2', { id: 'trace-tl' }, t('trace.timeline')),
        h('ol', { class: 'timeline' }, steps),
        extra.length ? h('ol', { class: 'events' }, extra.map((e) => eventLine(e, unit))) : null,
      ),
    ),
  );
}
