// Browser tests of the relief dashboard against a running demo node (see run.sh).
//   node test.mjs --base URL --relief BIN --data DIR --shots DIR [--chromium PATH] [--serverlog FILE]
// One line per check ("ok - ..." / "not ok - ..."), then "N passed, M failed".
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const BASE = args.base;
const SHOTS = args.shots;
const HOSTILE = '<img src=x onerror=alert(1)>';
mkdirSync(SHOTS, { recursive: true });

let passed = 0;
let failed = 0;
function ok(cond, name, detail) {
  if (cond) {
    passed += 1;
    console.log(`ok - ${name}`);
  } else {
    failed += 1;
    console.log(`not ok - ${name}${detail ? `: ${detail}` : ''}`);
  }
  return cond;
}
async function check(name, fn) {
  try {
    const r = await fn();
    if (r === false) ok(false, name);
    else if (typeof r === 'string') ok(false, name, r);
    else ok(true, name);
  } catch (e) {
    ok(false, name, String(e && e.message ? e.message : e).split('\n')[0]);
  }
}

/* the summary line, last; before it, on failure, the end of the server's log */
function finish() {
  if (failed && args.serverlog) {
    try {
      const lines = readFileSync(args.serverlog, 'utf8').trimEnd().split('\n').slice(-15);
      console.log('# server log (tail):');
      for (const l of lines) console.log(`#   ${l}`);
    } catch {
      /* no log */
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

function relief(...a) {
  return execFileSync(args.relief, ['--data', args.data, ...a], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

async function apiGet(path, token) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`${BASE}/api/v1/${path}`, { headers });
  return { status: res.status, body: await res.json().catch(() => null) };
}

async function apiPost(path, body, token) {
  const headers = { Accept: 'application/json', 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`${BASE}/api/v1/${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json().catch(() => null) };
}

/* a report as the API answers it (GET reports/NAME?format=...): status and text */
async function apiReport(name, format, token) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`${BASE}/api/v1/reports/${name}?format=${format}`, { headers });
  return { status: res.status, text: await res.text() };
}

/* a report's button on the coordinator's exports panel pressed, and the file the browser saved */
const exportButton = (report, format) => `#p-exports li[data-report="${report}"] button[data-format="${format}"]`;
async function exportFile(p, report, format) {
  const [dl] = await Promise.all([p.waitForEvent('download', { timeout: 5000 }), p.click(exportButton(report, format), { timeout: 5000 })]);
  const failure = await dl.failure();
  if (failure) throw new Error(`the download of ${report} ${format} failed: ${failure}`);
  return { name: dl.suggestedFilename(), bytes: readFileSync(await dl.path()) };
}

/* the HXL hashtags REPORTS.md gives a report's columns, in order */
function reportTags(name) {
  const doc = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'relief', 'REPORTS.md'), 'utf8');
  const section = doc.split(/^## /m).find((x) => x.startsWith(`${name} `) || x.startsWith(`${name}\n`));
  return [...section.matchAll(/^\|[^|]+\|[^|]+\| `(#[^`]+)` \|$/gm)].map((m) => m[1]);
}

/* every item of a list endpoint, page by page (1000 at most at once) */
async function apiAll(path, token) {
  const out = [];
  const sep = path.includes('?') ? '&' : '?';
  for (;;) {
    const r = await apiGet(`${path}${sep}limit=1000&offset=${out.length}`, token);
    if (r.status !== 200) throw new Error(`GET ${path} answered ${r.status}`);
    out.push(...r.body.items);
    if (!r.body.items.length || out.length >= r.body.total) return out;
  }
}

/* the coordinator's summary tiles: {label: number shown} */
async function tiles(p) {
  const l = await p.$$eval('.tiles .tile', (t) => t.map((x) => [x.querySelector('.tile-label').textContent.trim(), x.querySelector('.tile-value').textContent.trim()]));
  return Object.fromEntries(l.map(([k, v]) => [k, Number(v.replace(/[^0-9]/g, ''))]));
}

/* the alerts panel, one entry per alert: type, text, link */
async function alertRows(p) {
  return p.$$eval('#p-alerts li.alert', (l) =>
    l.map((li) => {
      const msg = li.querySelector('.alert-msg');
      return { type: li.dataset.type, text: msg ? msg.textContent : '', href: msg && msg.tagName === 'A' ? msg.getAttribute('href') : '', html: li.innerHTML };
    }),
  );
}

// a run that hangs still ends, with its summary line
setTimeout(() => {
  ok(false, 'the whole run ends within 4 minutes');
  finish();
}, 240000).unref();

let browser;
try {
  browser = await chromium.launch({ executablePath: args.chromium || '/usr/bin/chromium', args: ['--no-sandbox'] });
} catch (e) {
  ok(false, 'Chromium starts', String(e.message || e).split('\n')[0]);
  finish();
}

/* a page that records console errors, page errors, CSP violations and dialogs */
async function newPage({ locale = 'en-US', width = 1280, height = 720 } = {}) {
  const context = await browser.newContext({ locale, viewport: { width, height } });
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  context.setDefaultTimeout(10000);
  const page = await context.newPage();
  page.errors = [];
  page.dialogs = [];
  page.allowed = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    if (page.allowed.some((re) => re.test(text))) return;
    page.errors.push(text);
  });
  page.on('pageerror', (e) => page.errors.push(`pageerror: ${e.message}`));
  page.on('dialog', async (d) => {
    page.dialogs.push(d.message());
    await d.dismiss().catch(() => {});
  });
  return page;
}

async function clean(page) {
  const csp = await page.evaluate(() => window.__csp || []);
  const all = [...page.errors, ...csp.map((c) => `CSP: ${c}`)];
  page.errors = [];
  return all.length ? all.join(' | ').slice(0, 400) : true;
}

/* labels on every control, one h1 and no skipped heading level, text contrast at least 4.5:1 (3:1 large) */
async function a11y(page) {
  return page.evaluate(() => {
    const problems = [];
    for (const el of document.querySelectorAll('input, select, textarea')) {
      if (el.type === 'hidden' || el.closest('[hidden]')) continue;
      if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby')) problems.push(`unlabelled ${el.tagName} #${el.id}`);
    }
    const hs = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].filter((x) => x.offsetParent !== null || x.classList.contains('sr-only'));
    if (hs.filter((x) => x.tagName === 'H1').length !== 1) problems.push(`${hs.filter((x) => x.tagName === 'H1').length} h1`);
    let last = 0;
    for (const x of hs) {
      const n = Number(x.tagName[1]);
      if (n > last + 1) problems.push(`heading ${x.tagName} '${x.textContent.slice(0, 30)}' after h${last}`);
      last = n;
    }
    const rgb = (c) => {
      const m = c.match(/rgba?\(([^)]+)\)/);
      if (!m) return null;
      const [r, g, b, a = 1] = m[1].split(',').map(Number);
      return { r, g, b, a };
    };
    const lum = ({ r, g, b }) => {
      const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const bgOf = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c && c.a > 0.5) return c;
      }
      return { r: 255, g: 255, b: 255 };
    };
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const seen = new Set();
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!n.textContent.trim() || seen.has(el) || el.closest('svg, [hidden], .sr-only, option, select')) continue;
      seen.add(el);
      if (!el.getClientRects().length) continue;
      const st = getComputedStyle(el);
      const fg = rgb(st.color);
      const bg = bgOf(el);
      const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
      const ratio = (a + 0.05) / (b + 0.05);
      const size = parseFloat(st.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(st.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) problems.push(`contrast ${ratio.toFixed(2)} '${n.textContent.trim().slice(0, 30)}'`);
    }
    return problems.length ? problems.slice(0, 5).join('; ') : true;
  });
}

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function settle(page) {
  await page.waitForFunction(() => !document.getElementById('main').hasAttribute('aria-busy') && document.querySelector('#main .view-title'));
}

// --- the catalogues: every key the code names is in English, every language has every key
const WEB = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'relief', 'web');
await check('i18n: index.json lists languages whose catalogues exist and parse', () => {
  const list = JSON.parse(readFileSync(join(WEB, 'i18n', 'index.json'), 'utf8'));
  if (!list.some((l) => l.code === 'en') || !list.some((l) => l.code === 'ja')) return 'en or ja missing';
  for (const l of list) JSON.parse(readFileSync(join(WEB, 'i18n', `${l.code}.json`), 'utf8'));
  return true;
});
await check('i18n: every message key used in the code is in en.json, and ja.json has all of en.json', () => {
  const en = JSON.parse(readFileSync(join(WEB, 'i18n', 'en.json'), 'utf8'));
  const ja = JSON.parse(readFileSync(join(WEB, 'i18n', 'ja.json'), 'utf8'));
  const files = [join(WEB, 'index.html')];
  const walk = (d) => {
    for (const f of readdirSync(d, { withFileTypes: true })) {
      if (f.isDirectory()) walk(join(d, f.name));
      else if (f.name.endsWith('.js')) files.push(join(d, f.name));
    }
  };
  walk(join(WEB, 'js'));
  const used = new Set();
  for (const f of files) {
    const src = readFileSync(f, 'utf8');
    for (const m of src.matchAll(/\bt\('([a-z0-9_.-]+)'/g)) used.add(m[1]);
    for (const m of src.matchAll(/(?:Key|key): '([a-z0-9_.-]+\.[a-z0-9_.-]+)'/g)) used.add(m[1]);
    for (const m of src.matchAll(/data-i18n="([a-z0-9_.-]+)"/g)) used.add(m[1]);
    for (const m of src.matchAll(/data-i18n-attr="[a-z-]+:([a-z0-9_.-]+)"/g)) used.add(m[1]);
  }
  for (const v of ['coordinator', 'volunteer', 'donor', 'site']) used.add(`nav.${v}`); // t(`nav.${view}`)
  for (const v of ['pledged', 'received', 'dispatched', 'arrived', 'distributed']) used.add(`stage.${v}`);
  const missing = [...used].filter((k) => !(k in en));
  const untranslated = Object.keys(en).filter((k) => !(k in ja));
  if (used.size < 100) return `only ${used.size} keys found in the code`;
  if (missing.length) return `not in en.json: ${missing.join(', ')}`;
  return untranslated.length === 0 || `not in ja.json: ${untranslated.join(', ')}`;
});

// a hostile site name, before any page loads (the node's own CLI writes it)
let hostileId = '';
await check('a site with a hostile name is added', () => {
  hostileId = relief('--json', 'site', 'add', '--kind', 'centre', '--name', HOSTILE, '--code', 'EVIL-1', '--lat', '38.43', '--lon', '141.30', '--capacity', '10', '--occupancy', '12');
  return hostileId.length > 0;
});

// --- security headers
await check('GET / answers the dashboard with a Content-Security-Policy', async () => {
  const page = await newPage();
  const res = await page.goto(`${BASE}/`);
  const csp = res.headers()['content-security-policy'] || '';
  await page.context().close();
  if (res.status() !== 200) return `status ${res.status()}`;
  if (!/script-src 'self'/.test(csp) || !/default-src 'self'/.test(csp)) return `CSP: '${csp}'`;
  if (!/frame-ancestors 'none'/.test(csp)) return `no frame-ancestors in '${csp}'`;
  return true;
});

// --- coordinator, English
const page = await newPage();
await check('coordinator view loads in English', async () => {
  await page.goto(`${BASE}/#/coordinator`);
  await settle(page);
  await page.waitForSelector('#p-occupancy .occ-row');
  const title = await page.textContent('#main .view-title');
  if (title.trim() !== 'Coordinator') return `title '${title}'`;
  if ((await page.getAttribute('html', 'lang')) !== 'en') return 'html lang is not en';
  return true;
});
await check('coordinator view: occupancy bars, needs chart, stock chart and site map drawn', async () => {
  const n = await page.$$eval('#p-occupancy .occ-row', (r) => r.length);
  const marks = await page.$$eval('#p-map svg .map-site', (r) => r.length);
  const needBars = await page.$$eval('#p-needs svg .bar-row', (r) => r.length);
  const stockBars = await page.$$eval('#p-stock svg .bar-row', (r) => r.length);
  if (n < 3) return `${n} occupancy rows`;
  if (marks < 6) return `${marks} sites on the map`;
  if (needBars < 1 || stockBars < 1) return `${needBars} need bars, ${stockBars} stock bars`;
  return true;
});
await check('coordinator view: alerts, short shifts and peers shown', async () => {
  const alerts = await page.$$eval('#p-alerts .alert', (r) => r.length);
  const shifts = await page.$eval('#p-shifts', (e) => e.textContent);
  const peers = await page.$eval('#p-peers', (e) => e.textContent);
  if (alerts < 1) return 'no alerts';
  if (!/KIT-MINATO/.test(shifts)) return 'the short kitchen shift is missing';
  if (!peers.trim()) return 'no peers panel';
  return true;
});
let minatoId = '';
let minatoName = '';
await check('alerts are worded from the catalogue, with the site as a link to its page', async () => {
  const api = (await apiGet('alerts')).body;
  const list = Array.isArray(api) ? api : api.items;
  const over = list.find((a) => a.type === 'over_capacity' && a.params && a.params.site_code === 'ISH-MINATO');
  if (!over) return 'no over_capacity alert for ISH-MINATO in GET /api/v1/alerts';
  minatoId = over.params.site;
  minatoName = over.params.site_name;
  const rows = await alertRows(page);
  const row = rows.find((r) => r.type === 'over_capacity' && r.text.includes('ISH-MINATO'));
  if (!row) return `no over-capacity alert for ISH-MINATO on the page: ${rows.map((r) => r.text).join(' | ')}`;
  const want = `${minatoName} (ISH-MINATO) shelters ${over.params.occupancy.toLocaleString('en-US')} people, more than its capacity of ${over.params.capacity.toLocaleString('en-US')}.`;
  if (row.text !== want) return `'${row.text}', expected '${want}'`;
  if (row.href !== `#/site/${minatoId}`) return `link '${row.href}', expected '#/site/${minatoId}'`;
  const mismatch = rows.find((r) => r.type === 'arrival_mismatch');
  if (!mismatch || !/^#\/site\/[0-9a-f]+$/.test(mismatch.href)) return `the arrival mismatch is not linked: ${JSON.stringify(mismatch)}`;
  return true;
});
await check('an alert naming a hostile site shows the name as text, not HTML', async () => {
  const rows = await alertRows(page);
  const row = rows.find((r) => r.text.includes(HOSTILE));
  if (!row) return 'no alert for the hostile site (occupancy 12 of 10)';
  if (row.html.includes('<img')) return 'an img element inside the alert';
  let id = hostileId;
  try {
    id = JSON.parse(hostileId).id || hostileId; // relief --json site add answers {"id": ..., "op": ...}
  } catch {
    /* a bare id */
  }
  return row.href === `#/site/${id}` || `link '${row.href}', expected '#/site/${id}'`;
});
await check('coordinator view: no console errors or CSP violations', () => clean(page));
await check('coordinator view: labels, headings and text contrast', () => a11y(page));
await shot(page, 'coordinator-en');

// --- a conflict (made by run.sh): every value with its author, and resolving it
await check('a conflict shows every value and its author', async () => {
  const form = page.locator('#p-conflicts form', { hasText: 'ISH-WATANOHA' });
  const text = await form.textContent({ timeout: 5000 });
  for (const w of ['705', '720', 'Aiko', 'Ben']) if (!text.includes(w)) return `'${w}' missing from '${text}'`;
  return true;
});
await check('picking a value resolves the conflict (PATCH)', async () => {
  const form = page.locator('#p-conflicts form', { hasText: 'ISH-WATANOHA' });
  await form.locator('li', { hasText: 'Ben' }).locator('input[type="radio"]').check();
  await form.locator('button[type="submit"]').click();
  await page.waitForFunction(() => !/ISH-WATANOHA/.test(document.getElementById('p-conflicts').textContent), null, { timeout: 8000 });
  const s = await apiGet('sites/ISH-WATANOHA');
  return s.body.occupancy === 720 || `occupancy ${s.body.occupancy}`;
});

// --- hostile name shown as text
await check('hostile site name is shown as exact text', async () => {
  const text = await page.evaluate(() => document.body.innerText);
  return text.includes(HOSTILE) || 'the name is not in the page text';
});
await check('hostile site name: no dialog, no injected img', async () => {
  const imgs = await page.$$eval('img', (l) => l.filter((i) => i.getAttribute('src') === 'x').length);
  if (page.dialogs.length) return `dialog: ${page.dialogs[0]}`;
  return imgs === 0 || `${imgs} img elements with src x`;
});

// --- Japanese and back
await check('switching to Japanese shows Japanese labels', async () => {
  await page.selectOption('#lang', 'ja');
  await page.waitForFunction(() => document.documentElement.lang === 'ja');
  await settle(page);
  await page.waitForSelector('#p-occupancy .occ-row');
  const title = (await page.textContent('#main .view-title')).trim();
  const nav = (await page.textContent('#nav a[data-view="volunteer"]')).trim();
  const occ = (await page.textContent('#p-occupancy h2')).trim();
  if (title !== '調整担当') return `title '${title}'`;
  if (nav !== 'ボランティア') return `nav '${nav}'`;
  if (occ !== '避難所の収容状況') return `heading '${occ}'`;
  const raw = await page.evaluate(() => document.body.innerText.match(/\b(?:vol|col|form|site|needs|stock|occ|map|sum|donor|trace|signin|error|peers|shifts|conflict|alerts|view|coord|kind|stage)\.[a-z_]+\b/));
  return !raw || `a raw message key is shown: ${raw[0]}`;
});
await check('alerts in Japanese: Japanese wording and no English message from the node', async () => {
  const api = (await apiGet('alerts')).body;
  const list = Array.isArray(api) ? api : api.items;
  const rows = await alertRows(page);
  if (rows.length !== list.length) return `${rows.length} alerts on the page, ${list.length} in the API`;
  const panel = await page.textContent('#p-alerts');
  for (const a of list) if (panel.includes(a.message)) return `the English message is shown: '${a.message}'`;
  if (/over capacity|dispatched|arrived|overbooked|expires/i.test(panel)) return `English words in the alerts: '${panel.slice(0, 200)}'`;
  const over = rows.find((r) => r.type === 'over_capacity' && r.text.includes('ISH-MINATO'));
  if (!over) return 'no over-capacity alert for ISH-MINATO';
  const o = list.find((a) => a.type === 'over_capacity' && a.params.site_code === 'ISH-MINATO').params;
  const wantOver = `${minatoName} (ISH-MINATO) の避難者は ${o.occupancy.toLocaleString('ja')} 人で、定員 ${o.capacity.toLocaleString('ja')} 人を超えています。`;
  if (over.text !== wantOver) return `'${over.text}', expected '${wantOver}'`;
  if (over.href !== `#/site/${minatoId}`) return `link '${over.href}'`;
  const m = list.find((a) => a.type === 'arrival_mismatch');
  const mm = rows.find((r) => r.type === 'arrival_mismatch');
  if (!m || !mm) return 'no arrival mismatch (demo: 120 blankets sent to ISH-WATANOHA, 110 arrived)';
  for (const w of ['輸送', m.params.transfer, '発送', '到着', '毛布', 'ISH-WATANOHA', `${m.params.dispatched} 枚`, `${m.params.arrived} 枚`]) if (!mm.text.includes(w)) return `'${w}' missing from '${mm.text}'`;
  const types = await page.$$eval('#p-alerts .alert-type', (l) => l.map((x) => x.textContent));
  return types.includes('定員超過') || `alert titles: ${types.join(', ')}`;
});
await check('exports in Japanese: データの書き出し, with CSV（Excel）, HXL and JSON for each report', async () => {
  const title = (await page.textContent('#p-exports-title')).trim();
  const heads = await page.$$eval('#p-exports h3', (l) => l.map((x) => x.textContent));
  const buttons = await page.$$eval('#p-exports li[data-report="needs"] button', (l) => l.map((x) => x.textContent));
  if (title !== 'データの書き出し') return `title '${title}'`;
  if (heads.join('|') !== 'ニーズ|在庫|シフト|寄付') return `reports ${heads.join('|')}`;
  return buttons.join('|') === 'CSV（Excel）|HXL|JSON' || `buttons ${buttons.join('|')}`;
});
await shot(page, 'coordinator-ja');
await check('the language choice is remembered across a reload', async () => {
  await page.reload();
  await settle(page);
  return (await page.getAttribute('html', 'lang')) === 'ja' || 'lang is not ja after reload';
});
await check('hostile site name is exact text in Japanese too, no dialog', async () => {
  await page.waitForSelector('#p-occupancy .occ-row');
  const text = await page.evaluate(() => document.body.innerText);
  if (page.dialogs.length) return 'a dialog fired';
  return text.includes(HOSTILE) || 'missing';
});
await check('switching back to English', async () => {
  await page.selectOption('#lang', 'en');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  await settle(page);
  const title = (await page.textContent('#main .view-title')).trim();
  return title === 'Coordinator' || `title '${title}'`;
});
await check('Japanese and English: no console errors or CSP violations', () => clean(page));

// --- exports: the reports saved as files, fetched with the page's token (none here: the laptop's node)
/* the header rows of REPORTS.md's reports, as the node writes them */
const REPORT_HEADERS = {
  needs: 'need,site code,site,prefecture,municipality,item,service,needed,fulfilled,gap,in stock,in transit,priority,due,status',
  stock: 'site code,site,prefecture,municipality,lat,lon,item,item name,unit,in stock,in transit',
};
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
await check('exports: the coordinator offers CSV (Excel), HXL and JSON of needs, stock, shifts and donations', async () => {
  await page.waitForSelector('#p-exports');
  const title = (await page.textContent('#p-exports-title')).trim();
  if (title !== 'Exports') return `panel title '${title}'`;
  const rows = await page.$$eval('#p-exports li.export-row', (l) => l.map((li) => [li.dataset.report, li.querySelector('h3').textContent, [...li.querySelectorAll('button')].map((b) => b.textContent)]));
  const want = [['needs', 'Needs'], ['stock', 'Stock'], ['shifts', 'Shifts'], ['donations', 'Donations']].map(([r, hd]) => [r, hd, ['CSV (Excel)', 'HXL', 'JSON']]);
  return JSON.stringify(rows) === JSON.stringify(want) || JSON.stringify(rows);
});
await page.evaluate(() => {
  // which object URLs the page makes and revokes
  window.__urls = { made: [], revoked: [] };
  const make = URL.createObjectURL;
  const revoke = URL.revokeObjectURL;
  URL.createObjectURL = (b) => {
    const u = make.call(URL, b);
    window.__urls.made.push(u);
    return u;
  };
  URL.revokeObjectURL = (u) => {
    window.__urls.revoked.push(u);
    return revoke.call(URL, u);
  };
});
for (const name of ['needs', 'stock']) {
  await check(`exports: ${name} as CSV (Excel) is relief-${name}.csv, a UTF-8 BOM then the API's CSV`, async () => {
    const f = await exportFile(page, name, 'csv');
    if (f.name !== `relief-${name}.csv`) return `file name '${f.name}'`;
    if (!f.bytes.subarray(0, 3).equals(BOM)) return `starts with ${[...f.bytes.subarray(0, 3)].map((x) => x.toString(16)).join(' ')}, not the BOM ef bb bf`;
    const text = f.bytes.subarray(3).toString('utf8');
    const header = text.split('\r\n')[0];
    if (header !== REPORT_HEADERS[name]) return `header row '${header}'`;
    const api = await apiReport(name, 'csv');
    if (api.status !== 200) return `the API answered ${api.status}`;
    if (text !== api.text) return `the file differs from the API's CSV: ${text.length} and ${api.text.length} characters`;
    if (text.split('\r\n').filter(Boolean).length < 3) return `only ${text.split('\r\n').length} lines`;
    if (name === 'stock' && !text.includes('石巻市総合体育館 物資倉庫')) return 'the Japanese site name of WH-ISH is not in the file as UTF-8';
    const msg = await page.textContent('#export-result');
    return msg.includes(`relief-${name}.csv`) || `the panel says '${msg}'`;
  });
  await check(`exports: ${name} as HXL is relief-${name}-hxl.csv, no BOM, REPORTS.md's hashtags in its second row`, async () => {
    const f = await exportFile(page, name, 'hxl');
    if (f.name !== `relief-${name}-hxl.csv`) return `file name '${f.name}'`;
    if (f.bytes[0] === 0xef) return 'the HXL file starts with a BOM';
    const text = f.bytes.toString('utf8');
    const lines = text.split('\r\n');
    if (lines[0] !== REPORT_HEADERS[name]) return `header row '${lines[0]}'`;
    const tags = reportTags(name);
    if (tags.length < 5) return `only ${tags.length} hashtags read from REPORTS.md`;
    if (lines[1] !== tags.join(',')) return `second row '${lines[1]}', REPORTS.md has '${tags.join(',')}'`;
    const api = await apiReport(name, 'hxl');
    return text === api.text || 'the file differs from the API\'s HXL';
  });
  await check(`exports: ${name} as JSON is relief-${name}.json, no BOM, the API's records`, async () => {
    const f = await exportFile(page, name, 'json');
    if (f.name !== `relief-${name}.json`) return `file name '${f.name}'`;
    if (f.bytes[0] === 0xef) return 'the JSON file starts with a BOM';
    const rows = JSON.parse(f.bytes.toString('utf8'));
    const api = await apiReport(name, 'json');
    if (!Array.isArray(rows) || !rows.length) return `not a list of records: ${f.bytes.toString('utf8').slice(0, 80)}`;
    if (JSON.stringify(rows) !== JSON.stringify(JSON.parse(api.text))) return 'the records differ from the API\'s';
    const csv = (await apiReport(name, 'csv')).text.split('\r\n').filter(Boolean).length - 1;
    return rows.length === csv || `${rows.length} records, ${csv} CSV rows`;
  });
}
await check('exports: shifts and donations download too', async () => {
  for (const [name, format, file] of [['shifts', 'csv', 'relief-shifts.csv'], ['donations', 'hxl', 'relief-donations-hxl.csv']]) {
    const f = await exportFile(page, name, format);
    const api = await apiReport(name, format);
    const text = f.bytes.toString('utf8').replace(/^\ufeff/, '');
    if (f.name !== file || text !== api.text) return `${name} ${format}: '${f.name}', ${text.length} characters, the API ${api.text.length}`;
  }
  return true;
});
await check('exports: every object URL is revoked once its download has started', async () => {
  await page.waitForFunction(() => window.__urls.made.every((u) => window.__urls.revoked.includes(u)), null, { timeout: 5000 }).catch(() => {});
  const u = await page.evaluate(() => window.__urls);
  if (u.made.length !== 8) return `${u.made.length} object URLs made for 8 downloads`;
  const left = u.made.filter((x) => !u.revoked.includes(x));
  return !left.length || `${left.length} not revoked`;
});
await check('exports: a node out of reach is said in the panel, and the page stays', async () => {
  page.allowed = [/ERR_FAILED|Failed to load resource/];
  await page.route('**/api/v1/reports/**', (r) => r.abort('failed'));
  let downloads = 0;
  const count = () => (downloads += 1);
  page.on('download', count);
  await page.click(exportButton('needs', 'csv'));
  await page.waitForSelector('#export-result.msg-error');
  const msg = await page.textContent('#export-result');
  await page.unroute('**/api/v1/reports/**');
  page.off('download', count);
  page.allowed = [];
  if (!/Cannot reach the node/.test(msg)) return `the panel says '${msg}'`;
  if (downloads) return 'a file was saved';
  const kept = await page.$$eval('#p-needs table, #p-stock table, #p-occupancy .occ-row', (l) => l.length);
  return kept > 2 || 'the rest of the page is gone';
});
await check('exports: a refusal (403) is said in the panel, and the next download works', async () => {
  page.allowed = [/status of 403/];
  const body = JSON.stringify({ error: 'forbidden', code: 'forbidden' });
  await page.route('**/api/v1/reports/**', (r) => r.fulfill({ status: 403, contentType: 'application/json', body }));
  await page.click(exportButton('stock', 'json'));
  await page.waitForFunction(() => /may not/.test(document.getElementById('export-result').textContent));
  const msg = await page.textContent('#export-result');
  await page.unroute('**/api/v1/reports/**');
  page.allowed = [];
  if (!(await page.$('#export-result.msg-error')) || !/Your role \(.+\) may not see or do this/.test(msg)) return `the panel says '${msg}'`;
  if (!(await page.$('#p-needs table'))) return 'the page is gone';
  const f = await exportFile(page, 'stock', 'json');
  if (f.name !== 'relief-stock.json') return `then '${f.name}'`;
  return (await page.$('#export-result.msg-ok')) !== null || `then the panel says '${await page.textContent('#export-result')}'`;
});
await check('exports: labels, headings and text contrast', () => a11y(page));
await check('exports: no console errors or CSP violations', () => clean(page));
if (await page.$('#p-exports')) await page.locator('#p-exports').screenshot({ path: join(SHOTS, 'exports-en.png') });

// --- site detail (reached from the map)
await check('a site opens from the map with its stock and needs', async () => {
  await page.click('#p-occupancy a[href^="#/site/"]');
  await settle(page);
  await page.waitForSelector('#p-site-stock');
  const h1 = (await page.textContent('#main .view-title')).trim();
  return h1.length > 0 || 'no title';
});
await check('site view: no console errors', () => clean(page));
await check('an alert opens its site\'s page', async () => {
  await page.goto(`${BASE}/#/coordinator`);
  await settle(page);
  await page.click('#p-alerts li[data-type="over_capacity"] a.alert-msg:has-text("ISH-MINATO")');
  await page.waitForFunction((id) => location.hash === `#/site/${id}`, minatoId);
  await settle(page);
  await page.waitForSelector('#p-site-stock');
  const h1 = (await page.textContent('#main .view-title')).trim();
  return h1 === minatoName || `title '${h1}'`;
});
await check('site view from an alert: no console errors', () => clean(page));

// --- volunteer: a distribution
const SITE = 'ISH-MINATO';
const ITEM = 'rice-5kg';
let siteId = '';
await check('volunteer view loads', async () => {
  const sites = await apiGet(`sites?q=${SITE}`);
  const s = (sites.body.items || []).find((x) => x.code === SITE);
  if (!s) return `no site ${SITE} in the API (${sites.status})`;
  siteId = s.id;
  await page.goto(`${BASE}/#/volunteer`);
  await settle(page);
  await page.waitForSelector('#distribute-site option', { state: 'attached' });
  return (await page.textContent('#main .view-title')).trim() === 'Volunteer' || 'wrong title';
});
await check('volunteer view: selects are filled from the API', async () => {
  const sites = await page.$$eval('#distribute-site option', (o) => o.length);
  const items = await page.$$eval('#distribute-item option', (o) => o.length);
  const shifts = await page.$$eval('#signup-shift option', (o) => o.map((x) => x.value).filter(Boolean).length);
  return (sites >= 5 && items >= 7 && shifts >= 1) || `${sites} sites, ${items} items, ${shifts} shifts`;
});
await check('volunteer view: hostile site name in a select is plain text', async () => {
  const texts = await page.$$eval('#distribute-site option', (o) => o.map((x) => x.textContent));
  if (!texts.some((x) => x.includes(HOSTILE))) return 'not found in the options';
  return page.dialogs.length === 0 || 'a dialog fired';
});
await check('the arrival form lists the open transfers of GET movements?kind=dispatch&open=1', async () => {
  const open = (await apiGet('movements?kind=dispatch&open=1')).body.items;
  if (!open.length) return 'the demo has no open transfer (the milk powder sent to ISH-MINATO)';
  const opts = await page.$$eval('#arrive-transfer option', (o) => o.map((x) => ({ value: x.value, text: x.textContent })));
  const want = open.map((m) => m.transfer).sort();
  const got = opts.map((o) => o.value).sort();
  if (JSON.stringify(want) !== JSON.stringify(got)) return `options ${JSON.stringify(got)}, open transfers ${JSON.stringify(want)}`;
  const milk = open.find((m) => m.item === 'milk-powder');
  const text = milk && opts.find((o) => o.value === milk.transfer).text;
  if (milk && !(text.includes('Infant formula') && text.includes('× 30') && text.includes('WH-ISH → ISH-MINATO'))) return `option '${text}'`;
  return true;
});
await shot(page, 'volunteer-en');
await check('volunteer view: labels, headings and text contrast', () => a11y(page));

let before = 0;
await check('recording a distribution shows the new balance on the page', async () => {
  const b = await apiGet(`stock?site=${encodeURIComponent(siteId)}&item=${ITEM}`);
  if (b.status !== 200) return `GET stock answered ${b.status}`;
  before = (b.body.items.find((x) => x.item === ITEM) || { balance: 0 }).balance;
  await page.selectOption('#distribute-site', siteId);
  await page.selectOption('#distribute-item', ITEM);
  await page.fill('#distribute-qty', '7');
  await page.click('#distribute-submit');
  await page.waitForFunction(() => document.getElementById('distribute-result').classList.contains('msg-ok') || document.getElementById('distribute-result').classList.contains('msg-error'));
  const text = await page.textContent('#distribute-result');
  const want = `Balance now ${(before - 7).toLocaleString('en-US')}`;
  return text.includes(want) || `'${text}' lacks '${want}'`;
});
await check('the distribution is in GET /api/v1/stock?site=...', async () => {
  const b = await apiGet(`stock?site=${encodeURIComponent(siteId)}&item=${ITEM}`);
  const bal = (b.body.items.find((x) => x.item === ITEM) || {}).balance;
  return bal === before - 7 || `balance ${bal}, expected ${before - 7}`;
});
await check('an API error is shown next to its field', async () => {
  page.allowed = [/status of 400/]; // the refused request is logged by the browser
  await page.fill('#distribute-qty', '0');
  await page.click('#distribute-submit');
  await page.waitForFunction(() => document.getElementById('distribute-result').classList.contains('msg-error'));
  const err = await page.$eval('#distribute-qty-err', (e) => (e.hidden ? '' : e.textContent));
  const invalid = await page.getAttribute('#distribute-qty', 'aria-invalid');
  page.allowed = [];
  /* worded from the answer's code (error.code.invalid), the node's sentence naming the value */
  return (err.startsWith('This value is not accepted: ') && invalid === 'true') || `field error '${err}', aria-invalid ${invalid}`;
});
await check('keyboard: Tab through the distribution form reaches the button and Enter submits', async () => {
  const b = await apiGet(`stock?site=${encodeURIComponent(siteId)}&item=${ITEM}`);
  const start = (b.body.items.find((x) => x.item === ITEM) || { balance: 0 }).balance;
  await page.focus('#distribute-site');
  const seen = [];
  for (let i = 0; i < 12; i += 1) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => document.activeElement && document.activeElement.id);
    seen.push(id);
    if (id === 'distribute-qty') {
      await page.keyboard.press('Control+A');
      await page.keyboard.type('2');
    }
    if (id === 'distribute-submit') break;
  }
  if (seen[seen.length - 1] !== 'distribute-submit') return `tab order: ${seen.join(', ')}`;
  if (!seen.includes('distribute-qty')) return `the quantity was skipped: ${seen.join(', ')}`;
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  if (outline === 'none') return 'no visible focus outline on the button';
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /Distributed/.test(document.getElementById('distribute-result').textContent));
  const after = await apiGet(`stock?site=${encodeURIComponent(siteId)}&item=${ITEM}`);
  const bal = (after.body.items.find((x) => x.item === ITEM) || {}).balance;
  return bal === start - 2 || `balance ${bal}, expected ${start - 2}`;
});
await check('reporting tonight\'s occupancy', async () => {
  await page.selectOption('#occupancy-site', siteId);
  await page.fill('#occupancy-occupancy', '655');
  await page.click('#occupancy-submit');
  await page.waitForFunction(() => document.getElementById('occupancy-result').classList.contains('msg-ok') || document.getElementById('occupancy-result').classList.contains('msg-error'));
  const s = await apiGet(`sites/${siteId}`);
  if (!s.body['counted-at']) return 'no counted-at recorded with the count';
  return s.body.occupancy === 655 || `occupancy ${s.body.occupancy}; page says '${await page.textContent('#occupancy-result')}'`;
});
await check('signing up for a shift', async () => {
  const id = await page.$eval('#signup-shift', (e) => e.value);
  await page.fill('#signup-volunteer', 'Browser Test');
  await page.click('#signup-submit');
  await page.waitForFunction(() => document.getElementById('signup-result').classList.contains('msg-ok') || document.getElementById('signup-result').classList.contains('msg-error'));
  const sh = await apiGet('shifts');
  const x = (sh.body.items || []).find((y) => y.id === id);
  return (x && x.signups.some((y) => y.volunteer === 'Browser Test')) || `not in the roster; page says '${await page.textContent('#signup-result')}'`;
});
await check('handing out more than the stock on record asks for a second press', async () => {
  const b = await apiGet(`stock?site=${encodeURIComponent(siteId)}&item=${ITEM}`);
  const start = (b.body.items.find((x) => x.item === ITEM) || { balance: 0 }).balance;
  await page.selectOption('#distribute-site', siteId);
  await page.selectOption('#distribute-item', ITEM);
  await page.waitForFunction(() => /ISH-MINATO/.test(document.getElementById('distribute-stock').textContent));
  await page.fill('#distribute-qty', String(start + 1000));
  await page.click('#distribute-submit');
  await page.waitForSelector('#distribute-result.msg-warn');
  const after = await apiGet(`stock?site=${encodeURIComponent(siteId)}&item=${ITEM}`);
  const bal = (after.body.items.find((x) => x.item === ITEM) || {}).balance;
  await page.fill('#distribute-qty', '');
  return bal === start || `recorded at the first press: balance ${bal}`;
});
let transfer = '';
await check('a dispatch shows its transfer, and its arrival is recorded', async () => {
  const wh = (await apiGet('sites?q=WH-ISH')).body.items.find((x) => x.code === 'WH-ISH');
  await page.selectOption('#dispatch-from', wh.id);
  await page.selectOption('#dispatch-to', siteId);
  await page.selectOption('#dispatch-item', 'blanket');
  await page.fill('#dispatch-qty', '5');
  await page.click('#dispatch-submit');
  await page.waitForSelector('#dispatch-result.msg-ok, #dispatch-result.msg-error');
  const text = await page.textContent('#dispatch-result');
  const m = text.match(/transfer ([0-9a-f]+-\d+)/);
  if (!m) return `no transfer in '${text}'`;
  transfer = m[1];
  const open = (await apiGet(`movements?kind=dispatch&open=1&site=${encodeURIComponent(siteId)}`)).body.items;
  if (!open.some((x) => x.transfer === transfer && x.arrived === null)) return `transfer ${transfer} is not open in the API`;
  await page.waitForSelector(`#arrive-transfer option[value="${transfer}"]`, { state: 'attached' });
  const label = await page.textContent(`#arrive-transfer option[value="${transfer}"]`);
  for (const w of ['Blanket', '× 5', 'WH-ISH → ISH-MINATO']) if (!label.includes(w)) return `'${w}' missing from the option '${label}'`;
  await page.selectOption('#arrive-transfer', transfer);
  await page.fill('#arrive-qty', '5');
  await page.click('#arrive-submit');
  await page.waitForSelector('#arrive-result.msg-ok, #arrive-result.msg-error');
  const st = await apiGet(`stock?site=${encodeURIComponent(siteId)}&item=blanket`);
  const row = st.body.items.find((x) => x.item === 'blanket') || {};
  return (row.balance === 5 && row.in_transit === 0) || `at the centre: ${JSON.stringify(row)}; page says '${await page.textContent('#arrive-result')}'`;
});
await check('recording the arrival removes the transfer from the list', async () => {
  await page.waitForFunction((id) => !document.querySelector(`#arrive-transfer option[value="${id}"]`), transfer, { timeout: 5000 });
  const open = (await apiGet('movements?kind=dispatch&open=1')).body.items.map((m) => m.transfer).sort();
  const opts = (await page.$$eval('#arrive-transfer option', (o) => o.map((x) => x.value))).filter(Boolean).sort();
  if (open.includes(transfer)) return 'still open in the API';
  return JSON.stringify(open) === JSON.stringify(opts) || `options ${JSON.stringify(opts)}, open ${JSON.stringify(open)}`;
});
await check('a dispatch made through the API is offered for arrival once the view reloads', async () => {
  const wh = (await apiGet('sites?q=WH-ISH')).body.items.find((x) => x.code === 'WH-ISH');
  const r = await apiPost('stock/dispatch', { from: wh.id, to: siteId, item: 'water-2l', qty: 12, by: 'browser test' });
  if (r.status !== 201 || !r.body.transfer) return `POST stock/dispatch answered ${r.status} ${JSON.stringify(r.body)}`;
  await page.reload();
  await settle(page);
  await page.waitForSelector(`#arrive-transfer option[value="${r.body.transfer}"]`, { state: 'attached' });
  await page.selectOption('#arrive-transfer', r.body.transfer);
  const qty = await page.inputValue('#arrive-qty');
  const sent = await page.textContent('#arrive-sent');
  if (qty !== '12') return `quantity prefilled '${qty}'`;
  if (!sent.includes('browser test') || !sent.includes('WH-ISH')) return `'${sent}'`;
  await page.fill('#arrive-qty', '10');
  await page.click('#arrive-submit');
  await page.waitForSelector('#arrive-result.msg-ok, #arrive-result.msg-error');
  const res = await page.textContent('#arrive-result');
  if (!/10 .*of the 12/.test(res)) return `page says '${res}'`;
  await page.waitForFunction((id) => !document.querySelector(`#arrive-transfer option[value="${id}"]`), r.body.transfer, { timeout: 5000 });
  // (by site and kind: the node's movements answer nothing for site and item together)
  const mv = (await apiGet(`movements?kind=dispatch&site=${encodeURIComponent(siteId)}`)).body.items.find((x) => x.transfer === r.body.transfer);
  return (mv && mv.arrived === 10) || `arrived ${mv && mv.arrived}`;
});
await check('volunteer view fits 1024×600 without sideways scrolling', async () => {
  await page.setViewportSize({ width: 1024, height: 600 });
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  await shot(page, 'volunteer-1024x600');
  await page.setViewportSize({ width: 1280, height: 720 });
  return w <= 1024 || `page is ${w}px wide`;
});
await check('volunteer view: no console errors or CSP violations', () => clean(page));

// --- a site's movements, and voiding one
await check('a site lists its movements and a mistake is voided', async () => {
  await page.goto(`${BASE}/#/site/${encodeURIComponent(siteId)}`);
  await settle(page);
  await page.waitForSelector('#void-form');
  const moves = await apiGet(`movements?site=${encodeURIComponent(siteId)}&limit=50`);
  const target = moves.body.items.find((m) => m.kind === 'distribute' && !m.voided && m.qty === 2);
  if (!target) return 'the keyboard distribution of 2 is not in GET /api/v1/movements';
  const before = (await apiGet(`stock?site=${encodeURIComponent(siteId)}&item=${ITEM}`)).body.items.find((x) => x.item === ITEM).balance;
  await page.selectOption('#void-movement', target.op);
  await page.click('#void-submit');
  await page.waitForSelector('#void-reason[aria-invalid="true"]');
  await page.fill('#void-reason', 'typed 2 instead of 0');
  await page.click('#void-submit');
  await page.waitForSelector('#void-result.msg-ok, #void-result.msg-error');
  const after = (await apiGet(`stock?site=${encodeURIComponent(siteId)}&item=${ITEM}`)).body.items.find((x) => x.item === ITEM).balance;
  return after === before + 2 || `balance ${before} → ${after}; page says '${await page.textContent('#void-result')}'`;
});
await check('a site\'s movements show what arrived of each dispatch', async () => {
  const rows = await page.$$eval('#p-site-moves table', (tables) => {
    const tbl = tables[0];
    const heads = [...tbl.querySelectorAll('thead th')].map((x) => x.textContent.trim());
    return [...tbl.querySelectorAll('tbody tr')].map((tr) => {
      const cells = [...tr.children].map((x) => x.textContent.trim());
      return Object.fromEntries(heads.map((hd, i) => [hd, cells[i]]));
    });
  });
  if (!rows.length || !('Arrived' in rows[0])) return `no Arrived column: ${JSON.stringify(rows[0])}`;
  const disp = rows.filter((r) => r.Kind === 'dispatched');
  const blanket = disp.find((r) => r.Item.startsWith('Blanket') && r.Quantity.startsWith('5 '));
  if (!blanket || !blanket.Arrived.startsWith('5')) return `the 5 blankets: ${JSON.stringify(blanket)}`;
  const water = disp.find((r) => r.Item.startsWith('Water') && r.Quantity.startsWith('12 '));
  if (!water || !/^10 .*differs/.test(water.Arrived)) return `the 12 waters (10 arrived): ${JSON.stringify(water)}`;
  const milk = disp.find((r) => r.Item.startsWith('Infant formula'));
  if (!milk || milk.Arrived !== 'in transit') return `the milk powder still in transit: ${JSON.stringify(milk)}`;
  return rows.filter((r) => r.Kind !== 'dispatched').every((r) => r.Arrived === '') || 'an Arrived value on a movement that is not a dispatch';
});
await check('site view: labels, headings and text contrast', () => a11y(page));
await shot(page, 'site-en');
await check('site view with movements: no console errors', () => clean(page));

// --- donor view (no token yet: the laptop's own write role)
let donationId = '';
await check('donor view lists donations', async () => {
  await page.goto(`${BASE}/#/donor`);
  await settle(page);
  await page.waitForSelector('#p-donations a.trace-link');
  donationId = decodeURIComponent((await page.getAttribute('#p-donations a.trace-link', 'href')).split('/').pop());
  return donationId.length > 0 || 'no trace link';
});
await check('donor view: no console errors', () => clean(page));
await check('donor view: labels, headings and text contrast', () => a11y(page));
await shot(page, 'donor-en');
await page.context().close();

// --- tokens: from now on every API request needs one
let writeToken = '';
let donorToken = '';
await check('tokens are made with relief token add', () => {
  writeToken = relief('token', 'add', '--role', 'write', '--name', 'browser-write').split('\n').pop().trim();
  donorToken = relief('token', 'add', '--role', 'donor', '--name', 'browser-donor').split('\n').pop().trim();
  return (writeToken.length >= 16 && donorToken.length >= 16) || 'no token printed';
});

const dp = await newPage();
// the page's first call is refused until the donor signs in, and the write test is refused: both expected
dp.allowed = [/status of 401/, /status of 403/];
await check('with tokens, the page asks to sign in with a token', async () => {
  await dp.goto(`${BASE}/#/donor`);
  await dp.waitForSelector('#signin-form input[type="password"]#token');
  if (await dp.isVisible('#signout')) return 'a sign-in/out button shows beside the sign-in form';
  return true;
});
await check('a wrong token is refused', async () => {
  await dp.fill('#token', 'not-a-token');
  await dp.click('#signin-submit');
  await dp.waitForSelector('#signin-result.msg-error');
  return true;
});
await check('signing in with the donor token shows the donor role', async () => {
  await dp.fill('#token', donorToken);
  await dp.click('#signin-submit');
  await dp.waitForSelector('#p-donations a.trace-link');
  const role = (await dp.textContent('#role')).trim();
  const coordHidden = await dp.$eval('#nav a[data-view="coordinator"]', (a) => a.parentElement.hidden);
  if (!/donor/.test(role)) return `role shown: '${role}'`;
  return coordHidden || 'the coordinator link is offered to a donor';
});
await check('the token is not in the URL', async () => !dp.url().includes(donorToken) || 'token in URL');
await check('donor: the trace timeline goes from pledge to distribution', async () => {
  await dp.click('#p-donations a.trace-link');
  await settle(dp);
  await dp.waitForSelector('.timeline .step');
  const steps = await dp.$$eval('.timeline .step', (l) => l.map((x) => ({ done: x.classList.contains('step-done'), h: x.querySelector('h3').textContent })));
  if (steps.length !== 5) return `${steps.length} steps`;
  const names = steps.map((s) => s.h).join(' | ');
  for (const w of ['Pledged', 'Received', 'Dispatched', 'Arrived', 'Distributed']) if (!names.includes(w)) return `no '${w}' in ${names}`;
  if (!steps.every((s) => s.done)) return `not every stage done: ${names}`;
  const text = await dp.evaluate(() => document.body.innerText);
  if (!/WH-ISH/.test(text) || !/SCH-SOL/.test(text)) return 'sites missing from the timeline';
  return true;
});
await shot(dp, 'donor-trace-en');
await check('donor trace: labels, headings and text contrast', () => a11y(dp));
await check('donor: no contact strings anywhere in the page', async () => {
  const html = await dp.content();
  const text = await dp.evaluate(() => document.body.innerText);
  for (const bad of ['rotary@example.org', '@example.org']) if (html.includes(bad) || text.includes(bad)) return `'${bad}' is in the page`;
  return true;
});
await check('donor: the donation list and trace from the API carry no contacts', async () => {
  const l = await apiGet('donations', donorToken);
  const tr = await apiGet(`donations/${encodeURIComponent(donationId)}/trace`, donorToken);
  if (l.status !== 200 || tr.status !== 200) return `statuses ${l.status}, ${tr.status}`;
  const all = JSON.stringify(l.body) + JSON.stringify(tr.body);
  return !all.includes('@example.org') || 'a contact is in the answer';
});
await check('donor: a write from the page with the donor token is refused with 403', async () => {
  const status = await dp.evaluate(async (token) => {
    const res = await fetch('/api/v1/stock/receive', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({ site: 'WH-ISH', item: 'rice-5kg', qty: 1 }),
    });
    return res.status;
  }, donorToken);
  return status === 403 || `status ${status}`;
});
await check('donor: the coordinator view is not offered', async () => {
  await dp.goto(`${BASE}/#/coordinator`);
  await settle(dp);
  const text = await dp.textContent('#main');
  return /not available to your role/.test(text) || 'no role message';
});
await check('donor: no export panel or report button anywhere, and the API refuses a donor reports (403)', async () => {
  for (const view of ['coordinator', 'donor']) {
    await dp.goto(`${BASE}/#/${view}`);
    await settle(dp);
    if (view === 'donor') await dp.waitForSelector('#p-donations a.trace-link');
    if ((await dp.$('#p-exports')) || (await dp.$('button[data-format]'))) return `an export panel in the ${view} view`;
    if (/CSV \(Excel\)|Exports/.test(await dp.textContent('#main'))) return `export words in the ${view} view`;
  }
  const r = await apiReport('needs', 'csv', donorToken);
  return r.status === 403 || `GET reports/needs with the donor token answered ${r.status}`;
});
await check('donor: a site\'s page is refused under the heading Site, and the tab says Site', async () => {
  await dp.goto(`${BASE}/#/site/${encodeURIComponent(minatoId)}`);
  await settle(dp);
  const h1 = (await dp.textContent('#main .view-title')).trim();
  const title = await dp.title();
  return (h1 === 'Site' && title === 'Site · relief') || `heading '${h1}', title '${title}'`;
});
await check('a message missing from every catalogue is not shown as its key', async () => {
  await dp.route('**/i18n/en.json', async (r) => {
    const res = await r.fetch();
    const cat = await res.json();
    delete cat['nav.site'];
    await r.fulfill({ response: res, body: JSON.stringify(cat) });
  });
  await dp.reload();
  await settle(dp);
  await dp.unroute('**/i18n/en.json');
  const h1 = (await dp.textContent('#main .view-title')).trim();
  const title = await dp.title();
  return (!/nav\./.test(h1) && !/nav\./.test(title) && h1.length > 0) || `heading '${h1}', title '${title}'`;
});
await check('donor pages: no console errors or CSP violations', () => clean(dp));
await check('signing out asks for a token again', async () => {
  await dp.click('#signout');
  await dp.waitForSelector('#signin-form');
  const stored = await dp.evaluate(() => sessionStorage.getItem('relief.token') || localStorage.getItem('relief.token'));
  return !stored || 'the token is still stored';
});
await dp.context().close();

// --- the write token, and Japanese screenshots of the other views
const wp = await newPage({ locale: 'ja-JP' });
wp.allowed = [/status of 401/];
await check('signing in with a write token shows the coordinator view (Japanese from the browser)', async () => {
  await wp.goto(`${BASE}/`);
  await wp.waitForSelector('#signin-form');
  if ((await wp.getAttribute('html', 'lang')) !== 'ja') return 'navigator.language ja-JP did not pick Japanese';
  await wp.fill('#token', writeToken);
  await wp.press('#token', 'Enter');
  await wp.waitForSelector('#p-occupancy .occ-row');
  const role = (await wp.textContent('#role')).trim();
  return role.includes('書き込み') || `role '${role}'`;
});
await shot(wp, 'coordinator-ja-signed-in');
await check('volunteer and donor views in Japanese', async () => {
  await wp.goto(`${BASE}/#/volunteer`);
  await settle(wp);
  await wp.waitForSelector('#distribute-site option', { state: 'attached' });
  const h = (await wp.textContent('#distribute-title')).trim();
  await shot(wp, 'volunteer-ja');
  await wp.goto(`${BASE}/#/donor/${encodeURIComponent(donationId)}`);
  await settle(wp);
  await wp.waitForSelector('.timeline .step');
  await shot(wp, 'donor-trace-ja');
  return h === '物資の配布' || `heading '${h}'`;
});
await check('a site\'s page in Japanese: the tab says 拠点', async () => {
  await wp.goto(`${BASE}/#/site/${encodeURIComponent(minatoId)}`);
  await settle(wp);
  await wp.waitForSelector('#p-site-stock');
  const title = await wp.title();
  return title === '拠点 · relief' || `title '${title}'`;
});
await check('signed-in pages: no console errors or CSP violations', () => clean(wp));
await wp.context().close();

// --- a page signed in with a token (every API request needs one from here on)
async function signedIn(token, opts, setup) {
  const p = await newPage(opts);
  p.allowed = [/status of 401/];
  if (setup) await setup(p);
  await p.goto(`${BASE}/#/coordinator`);
  await p.waitForSelector('#signin-form');
  await p.fill('#token', token);
  await p.press('#token', 'Enter');
  await p.waitForSelector('#p-occupancy .occ-row');
  await settle(p);
  return p;
}

/* a table of the page as rows of {column heading: cell text} */
async function tableRows(p, sel) {
  return p.$eval(sel, (tbl) => {
    const heads = [...tbl.querySelectorAll('thead th')].map((x) => x.textContent.trim());
    return [...tbl.querySelectorAll('tbody tr')].map((tr) => Object.fromEntries([...tr.children].map((x, i) => [heads[i], x.textContent.trim()])));
  });
}
const count = (text) => Number(String(text).replace(/[^0-9]/g, '') || 0);

// --- a closed need is met or dropped: not open, not against the stock; an item needed and held nowhere
let closedNeed = null;
await check('a need is closed, and one is added for an item no site holds', async () => {
  const needs = await apiAll('needs', writeToken);
  closedNeed = needs.find((n) => n.item === 'blanket' && n.status !== 'closed' && n.gap > 0);
  if (!closedNeed) return 'no open blanket need in the demo';
  relief('need', 'set', closedNeed.id, '--status', 'closed');
  relief('item', 'add', 'tarp', '--name', 'Tarpaulin', '--unit', 'piece');
  relief('need', 'add', '--site', 'ISH-MINATO', '--item', 'tarp', '--qty', '30');
  return true;
});
const np = await signedIn(writeToken);
await check('a closed need is not counted among the open needs', async () => {
  const needs = await apiAll('needs', writeToken);
  if (!needs.some((n) => n.id === closedNeed.id && n.status === 'closed')) return 'the need is not closed in GET /api/v1/needs';
  const want = needs.filter((n) => n.status !== 'closed' && n.gap > 0).length;
  const t = await tiles(np);
  return t['Open needs'] === want || `Open needs says ${t['Open needs']}, the API has ${want} open with a gap`;
});
await check('the needs table lists the closed need last, marked closed; the chart leaves it out', async () => {
  const rows = await tableRows(np, '#p-needs table');
  const i = rows.findIndex((r) => r.Site.includes(closedNeed.site_code) && r['Item or service'].startsWith('Blanket'));
  if (i < 0) return 'the closed need is not in the table';
  if (!/closed/.test(rows[i]['Item or service'])) return `not marked closed: ${JSON.stringify(rows[i])}`;
  const later = rows.slice(i + 1).find((r) => !/closed/.test(r['Item or service']));
  if (later) return `an open need is listed after it: ${JSON.stringify(later)}`;
  const bars = await np.$$eval('#p-needs svg .bar-row title', (l) => l.map((x) => x.textContent));
  return !bars.some((b) => b.includes(closedNeed.site_code) && b.includes('Blanket')) || 'the closed need has a bar in the chart';
});
await check('the stock panel counts only open needs against an item', async () => {
  const needs = await apiAll('needs', writeToken);
  const want = needs.filter((n) => n.item === 'blanket' && n.status !== 'closed' && n.gap > 0).reduce((a, n) => a + n.gap, 0);
  const row = (await tableRows(np, '#p-stock table')).find((r) => r.Item.startsWith('Blanket'));
  if (!row) return 'no Blanket row';
  return count(row['Open needs']) === want || `Open needs of blankets: '${row['Open needs']}', expected ${want}`;
});
await check('an item needed but held nowhere has a stock row, short by its need', async () => {
  const row = (await tableRows(np, '#p-stock table')).find((r) => r.Item === 'Tarpaulin');
  if (!row) return 'no Tarpaulin row in the stock panel';
  if (count(row['On hand']) !== 0 || count(row['Open needs']) !== 30 || count(row['Short by']) !== 30) return JSON.stringify(row);
  const bars = await np.$$eval('#p-stock svg .bar-row title', (l) => l.map((x) => x.textContent));
  return bars.some((b) => b.includes('Tarpaulin')) || 'no Tarpaulin bar';
});
await check('with no stock anywhere, the stock panel still shows what the open needs lack', async () => {
  const empty = JSON.stringify({ items: [], total: 0, offset: 0, limit: 1000 });
  await np.route('**/api/v1/stock/totals*', (r) => r.fulfill({ status: 200, contentType: 'application/json', body: empty }));
  await np.click('#refresh');
  await np.waitForFunction(() => /No stock recorded/.test(document.getElementById('p-stock').textContent));
  await settle(np);
  await np.unroute('**/api/v1/stock/totals*');
  const needs = await apiAll('needs', writeToken);
  const items = new Map((await apiAll('items', writeToken)).map((x) => [x.code, x.name]));
  const want = [...new Set(needs.filter((n) => n.item && n.status !== 'closed' && n.gap > 0).map((n) => items.get(n.item)))].sort();
  const rows = await np.$$eval('#p-stock table tbody tr', (l) => l.map((tr) => tr.firstElementChild.textContent.trim()));
  return JSON.stringify(rows.slice().sort()) === JSON.stringify(want) || `rows ${JSON.stringify(rows)}, open needs of ${JSON.stringify(want)}`;
});
await check('English units agree with their number: 1 piece, 30 pieces', async () => {
  const one = JSON.stringify({ items: [{ item: 'tarp', unit: 'piece', balance: 1, in_transit: 0, sites: 1 }], total: 1, offset: 0, limit: 1000 });
  await np.route('**/api/v1/stock/totals*', (r) => r.fulfill({ status: 200, contentType: 'application/json', body: one }));
  await np.click('#refresh');
  await np.waitForFunction(() => !/No stock recorded/.test(document.getElementById('p-stock').textContent));
  await settle(np);
  await np.unroute('**/api/v1/stock/totals*');
  const row = (await tableRows(np, '#p-stock table')).find((r) => r.Item === 'Tarpaulin');
  return (row && row['On hand'] === '1 piece' && row['Open needs'] === '30 pieces' && row['Short by'] === '29 pieces') || JSON.stringify(row);
});
await check('the volunteer\'s distribution form does not offer a closed need', async () => {
  await np.goto(`${BASE}/#/volunteer`);
  await settle(np);
  await np.waitForSelector('#distribute-site option', { state: 'attached' });
  await np.selectOption('#distribute-site', closedNeed.site);
  await np.selectOption('#distribute-item', closedNeed.item);
  const opts = await np.$$eval('#distribute-need option', (o) => o.map((x) => x.value));
  return !opts.includes(closedNeed.id) || 'the closed need is offered';
});
await check('closed needs and stock: no console errors', () => clean(np));
await np.context().close();

// --- a write refused for a revoked token: said to be not saved, the form kept, signing in again on the page
const rp = await signedIn(relief('token', 'add', '--role', 'write', '--name', 'browser-revoked').split('\n').pop().trim());
let riceBefore = 0;
await check('a distribution with a revoked token says it was not saved and keeps the form', async () => {
  await rp.goto(`${BASE}/#/volunteer`);
  await settle(rp);
  await rp.waitForSelector('#distribute-site option', { state: 'attached' });
  await rp.selectOption('#distribute-site', siteId);
  await rp.selectOption('#distribute-item', ITEM);
  await rp.fill('#distribute-qty', '3');
  riceBefore = (await apiGet(`stock?site=${encodeURIComponent(siteId)}&item=${ITEM}`, writeToken)).body.items.find((x) => x.item === ITEM).balance;
  const id = JSON.parse(relief('--json', 'token', 'list')).find((x) => x.name === 'browser-revoked').id;
  relief('token', 'revoke', id);
  await rp.click('#distribute-submit');
  await rp.waitForSelector('#signin-again #again-token');
  if (await rp.$('#signin-form')) return 'the page was replaced by the sign-in page';
  const kept = [await rp.inputValue('#distribute-site'), await rp.inputValue('#distribute-item'), await rp.inputValue('#distribute-qty')];
  if (JSON.stringify(kept) !== JSON.stringify([siteId, ITEM, '3'])) return `the form now holds ${JSON.stringify(kept)}`;
  const result = await rp.textContent('#distribute-result');
  if (!/NOT saved/.test(result) || !/refused your token/.test(result)) return `the form says '${result}'`;
  const panel = await rp.textContent('#signin-again');
  if (!/NOT saved/.test(panel) || !/refused your token/.test(panel)) return `the sign-in panel says '${panel}'`;
  await shot(rp, 'volunteer-signin-again');
  const bal = (await apiGet(`stock?site=${encodeURIComponent(siteId)}&item=${ITEM}`, writeToken)).body.items.find((x) => x.item === ITEM).balance;
  return bal === riceBefore || `the balance changed: ${riceBefore} → ${bal}`;
});
await check('the sign-in panel: labels, headings and text contrast', () => a11y(rp));
await check('signing in again on the page keeps the form, and sending it again saves it', async () => {
  await rp.fill('#again-token', 'not-a-token');
  await rp.click('#again-submit');
  await rp.waitForSelector('#again-result.msg-error');
  await rp.fill('#again-token', writeToken);
  await rp.click('#again-submit');
  await rp.waitForSelector('#signin-again .msg-ok');
  if ((await rp.inputValue('#distribute-qty')) !== '3') return `the quantity is now '${await rp.inputValue('#distribute-qty')}'`;
  await rp.click('#distribute-submit');
  await rp.waitForSelector('#distribute-result.msg-ok, #distribute-result.msg-error');
  const bal = (await apiGet(`stock?site=${encodeURIComponent(siteId)}&item=${ITEM}`, writeToken)).body.items.find((x) => x.item === ITEM).balance;
  return bal === riceBefore - 3 || `balance ${riceBefore} → ${bal}; the form says '${await rp.textContent('#distribute-result')}'`;
});
await check('a revoked token\'s write: no console errors but the refusals', () => clean(rp));
await rp.context().close();

// --- exports with a read token; one revoked while the page is open asks to sign in again, on the page
const readToken = () => relief('token', 'add', '--role', 'read', '--name', 'browser-read').split('\n').pop().trim();
const xp = await signedIn(readToken());
await check('exports: a read token has the export panel, and its CSV is the API\'s', async () => {
  const role = (await xp.textContent('#role')).trim();
  if (role !== 'Role: read') return `'${role}'`;
  const f = await exportFile(xp, 'needs', 'csv');
  const api = await apiReport('needs', 'csv', writeToken);
  return (f.bytes.subarray(0, 3).equals(BOM) && f.bytes.subarray(3).toString('utf8') === api.text) || `'${f.name}' is not the BOM and the API's CSV`;
});
await check('exports: a download with a revoked token says so, keeps the page and asks to sign in again on it', async () => {
  relief('token', 'revoke', JSON.parse(relief('--json', 'token', 'list')).find((x) => x.name === 'browser-read').id);
  await xp.click(exportButton('stock', 'csv'));
  await xp.waitForSelector('#signin-again #again-token');
  if (await xp.$('#signin-form')) return 'the page was replaced by the sign-in page';
  if (!(await xp.$('#p-needs table')) || !(await xp.$('#p-exports'))) return 'the coordinator view is gone';
  const msg = await xp.textContent('#export-result');
  if (!/NOT downloaded/.test(msg) || !/refused your token/.test(msg)) return `the panel says '${msg}'`;
  const again = await xp.textContent('#signin-again');
  return (/NOT downloaded/.test(again) && !/saved/.test(again)) || `the sign-in panel says '${again}'`;
});
await check('exports: signed in again on the page, the same button downloads the report', async () => {
  await xp.fill('#again-token', readToken());
  await xp.click('#again-submit');
  await xp.waitForSelector('#signin-again .msg-ok');
  const done = await xp.textContent('#signin-again');
  if (!/download/.test(done)) return `'${done}'`;
  const f = await exportFile(xp, 'stock', 'csv');
  const api = await apiReport('stock', 'csv', writeToken);
  return (f.name === 'relief-stock.csv' && f.bytes.subarray(3).toString('utf8') === api.text) || `'${f.name}' is not the API's CSV`;
});
await check('exports with a read token: no console errors but the refusal', () => clean(xp));
await xp.context().close();

// --- the coordinator's time moves on: each refresh is of now (the shift window too)
const shiftWindows = [];
const tp = await signedIn(writeToken, {}, async (p) => {
  await p.clock.install();
  p.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname === '/api/v1/shifts' && u.searchParams.get('short') === '1') shiftWindows.push(u.searchParams.get('from'));
  });
});
await check('a refresh shows the time it was made and asks for the shifts of the next 24 hours from then', async () => {
  const before = (await tp.textContent('#main .updated')).replace('Refresh', '').trim();
  const from0 = Date.parse(shiftWindows[shiftWindows.length - 1]);
  await tp.clock.fastForward('02:30:00');
  await tp.click('#refresh');
  await tp.waitForFunction((b) => !document.getElementById('main').hasAttribute('aria-busy') && !document.querySelector('#main .updated').textContent.includes(b), before, { timeout: 5000 }).catch(() => {});
  const after = (await tp.textContent('#main .updated')).replace('Refresh', '').trim();
  if (after === before) return `still '${after}' 2½ hours later`;
  const from1 = Date.parse(shiftWindows[shiftWindows.length - 1]);
  const moved = (from1 - from0) / 60000;
  return (moved >= 149 && moved <= 152) || `the shift window moved by ${moved} minutes (${shiftWindows.join(', ')})`;
});
await check('the coordinator\'s time: no console errors', () => clean(tp));
await tp.context().close();

// --- closed and archived centres shelter nobody: not in the people sheltered, not in the occupancy list
const shown = (x) => !x.archived && x.status !== 'closed';
await check('a closed and an archived centre are recorded', () => {
  relief('site', 'add', '--kind', 'centre', '--name', 'Closed hall', '--code', 'SHUT-1', '--capacity', '6000', '--occupancy', '5000', '--status', 'closed');
  relief('site', 'add', '--kind', 'centre', '--name', 'Archived hall', '--code', 'GONE-1', '--capacity', '8000', '--occupancy', '7000');
  relief('site', 'set', 'GONE-1', '--archived', 'yes');
  return true;
});
const cp = await signedIn(writeToken);
await check('people sheltered and places count open centres only', async () => {
  const sites = await apiAll('sites', writeToken);
  if (!sites.some((x) => x.code === 'SHUT-1' && x.status === 'closed') || !sites.some((x) => x.code === 'GONE-1' && x.archived)) return 'SHUT-1 closed and GONE-1 archived are not in GET /api/v1/sites';
  const centres = sites.filter((x) => x.kind === 'centre' && shown(x));
  const people = centres.reduce((a, x) => a + (x.occupancy || 0), 0);
  const cap = centres.reduce((a, x) => a + (x.capacity || 0), 0);
  const t = await tiles(cp);
  if (t['People sheltered'] !== people) return `People sheltered says ${t['People sheltered']}, the open centres shelter ${people}`;
  const note = await cp.$eval('.tiles .tile', (x) => x.querySelector('.tile-note').textContent);
  return note.includes(`of ${cap.toLocaleString('en-US')} places`) || `'${note}', the open centres have ${cap} places`;
});
await check('the occupancy list leaves out closed and archived centres', async () => {
  const text = await cp.textContent('#p-occupancy');
  for (const code of ['SHUT-1', 'GONE-1']) if (text.includes(code)) return `${code} is listed`;
  return true;
});
await check('closed and archived centres: no console errors', () => clean(cp));
await cp.context().close();

// --- a long name without a space wraps: the page stays as wide as the window
let longId = '';
await check('a site named with 500 letters and no space is added', () => {
  longId = JSON.parse(relief('--json', 'site', 'add', '--kind', 'centre', '--name', 'A'.repeat(500), '--code', 'LONG-1', '--capacity', '50', '--occupancy', '10')).id;
  relief('need', 'add', '--site', 'LONG-1', '--item', 'blanket', '--qty', '5');
  return longId.length > 0;
});
const lp = await signedIn(writeToken);
for (const [view, ready] of [
  ['coordinator', '#p-occupancy .occ-row'],
  ['site/LONG', '#p-site-stock'],
  ['volunteer', '#distribute-site option'],
]) {
  await check(`a 500-letter name: the ${view.split('/')[0]} view fits 375 and 1280 px wide`, async () => {
    const widths = [];
    for (const width of [375, 1280]) {
      await lp.setViewportSize({ width, height: 800 });
      await lp.goto(`${BASE}/#/${view.replace('LONG', longId)}`);
      await settle(lp);
      await lp.waitForSelector(ready, { state: 'attached' });
      const w = await lp.evaluate(() => document.documentElement.scrollWidth);
      await shot(lp, `long-name-${view.split('/')[0]}-${width}`);
      if (w > width) widths.push(`${w} px at ${width}`);
    }
    return !widths.length || `the page is ${widths.join(', ')}`;
  });
}
await check('a 500-letter name wraps in the needs table, which needs no sideways scrolling at 1280 px', async () => {
  await lp.setViewportSize({ width: 1280, height: 800 });
  await lp.goto(`${BASE}/#/coordinator`);
  await settle(lp);
  await lp.waitForSelector('#p-needs table');
  const [scroll, client] = await lp.$eval('#p-needs .table-wrap', (e) => [e.scrollWidth, e.clientWidth]);
  return scroll <= client || `the needs table is ${scroll} px wide in ${client} px`;
});
await check('a 500-letter name: no console errors', () => clean(lp));
await lp.context().close();

// --- more sites than one page of the API (a list answers at most 1000 at once)
await check('1,010 more centres are imported from a CSV file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'relief-browser-'));
  const file = join(dir, 'sites.csv');
  const rows = ['name,kind,code,capacity,occupancy'];
  for (let i = 1; i <= 1010; i += 1) rows.push(`Bulk centre ${i},centre,BULK-${String(i).padStart(4, '0')},100,1`);
  writeFileSync(file, `${rows.join('\n')}\n`);
  try {
    relief('import', 'sites', file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return true;
});
const bp = await signedIn(writeToken);
await check('past 1,000 sites: the coordinator counts every site and lists every centre', async () => {
  const sites = await apiAll('sites', writeToken);
  if (sites.length < 1010) return `only ${sites.length} sites in the API`;
  const t = await tiles(bp);
  const want = sites.filter((x) => !x.archived).length;
  if (t.Sites !== want) return `the Sites tile says ${t.Sites}, the API has ${want}`;
  const rows = await bp.$$eval('#p-occupancy .occ-row', (r) => r.length);
  const centres = sites.filter((x) => (x.kind === 'centre' || x.capacity) && shown(x)).length;
  if (rows !== centres) return `${rows} occupancy rows, ${centres} centres`;
  const last = await bp.$$eval('#p-occupancy .occ-name a', (l) => l.some((a) => a.textContent.includes('BULK-1010')));
  return last || 'BULK-1010 is not in the occupancy list';
});
await check('past 1,000 sites: the volunteer view offers every open site', async () => {
  await bp.goto(`${BASE}/#/volunteer`);
  await settle(bp);
  await bp.waitForSelector('#distribute-site option', { state: 'attached' });
  const sites = (await apiAll('sites', writeToken)).filter(shown);
  const opts = await bp.$$eval('#distribute-site option', (o) => o.map((x) => x.value));
  if (opts.length !== sites.length) return `${opts.length} options, ${sites.length} open sites`;
  const ids = new Set(opts);
  const lost = sites.filter((x) => !ids.has(x.id));
  return !lost.length || `not offered: ${lost.slice(0, 3).map((x) => x.code).join(', ')}`;
});
await check('past 1,000 sites: no console errors', () => clean(bp));
await bp.context().close();

await browser.close();
finish();
