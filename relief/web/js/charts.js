// Charts drawn locally as SVG (no tiles, no libraries): stacked bars and a plot of the sites.
import { s, h, newId } from './dom.js';
import { t, num } from './i18n.js';

/* rough width of a string in em (bold, generous): CJK and other wide characters one em, capitals and digits about 3/4 */
function textEm(str) {
  let w = 0;
  for (const ch of str) {
    const c = ch.codePointAt(0);
    w += c > 0x2e80 ? 1 : /[A-Z0-9@#%&MW]/.test(ch) ? 0.74 : 0.6;
  }
  return w;
}

function fit(str, px, fontPx) {
  if (textEm(str) * fontPx <= px) return str;
  let out = '';
  for (const ch of str) {
    if (textEm(out + ch + '…') * fontPx > px) break;
    out += ch;
  }
  return out + '…';
}

function niceStep(span, target) {
  const raw = span / target;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

/* A legend in HTML (readable at any size, text in the page's language). */
export function legend(entries) {
  return h(
    'ul',
    { class: 'legend' },
    entries.map((e) => h('li', null, h('span', { class: `swatch ${e.cls}`, 'aria-hidden': 'true' }), e.label)),
  );
}

/*
 * Horizontal stacked bars.
 * rows: [{label, note, segments: [{value, cls, label}]}]; each row is scaled to max (or its own sum).
 * title/desc: accessible name and description of the picture.
 */
export function stackedBars(rows, { title, desc, max, valueText, rowMax, labelW = 210, W = 640 } = {}) {
  const rowH = 26;
  const valueW = 90;
  const top = 6;
  const barW = W - labelW - valueW - 8;
  const H = top + rows.length * rowH + 6;
  const m = max || Math.max(1, ...rows.map((r) => r.segments.reduce((a, x) => a + Math.max(0, x.value), 0)));
  const tid = newId('chart-title');
  const did = newId('chart-desc');
  const svg = s(
    'svg',
    { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-labelledby': `${tid} ${did}` },
    s('title', { id: tid }, title || ''),
    s('desc', { id: did }, desc || ''),
  );
  const defs = s('defs');
  const hatch = newId('hatch');
  defs.appendChild(
    s(
      'pattern',
      { id: hatch, width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
      s('rect', { width: 6, height: 6, class: 'seg-gap-bg' }),
      s('rect', { width: 3, height: 6, class: 'seg-gap' }),
    ),
  );
  svg.appendChild(defs);
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const g = s('g', { class: 'bar-row' });
    const full = r.note ? `${r.label} — ${r.note}` : r.label;
    g.appendChild(s('title', null, full));
    g.appendChild(s('text', { x: labelW - 8, y: y + rowH / 2 + 4, class: 'bar-label', 'text-anchor': 'end' }, fit(r.label, labelW - 12, 12)));
    g.appendChild(s('rect', { x: labelW, y: y + 4, width: barW, height: rowH - 8, class: 'bar-track' }));
    const rm = rowMax ? Math.max(1, rowMax(r)) : m;
    let x = labelW;
    for (const seg of r.segments) {
      const v = Math.max(0, seg.value);
      if (!v) continue;
      const w = Math.max(1, (v / rm) * barW);
      const rect = s('rect', {
        x,
        y: y + 4,
        width: Math.min(w, labelW + barW - x),
        height: rowH - 8,
        class: seg.cls,
        fill: seg.cls === 'seg-gap' ? `url(#${hatch})` : null,
      });
      rect.appendChild(s('title', null, `${r.label}: ${seg.label} ${num(v)}`));
      g.appendChild(rect);
      x += w;
    }
    if (r.marker && r.marker.value > 0) {
      const mx = labelW + Math.min(1, r.marker.value / rm) * barW;
      const line = s('path', { d: `M${mx},${y + 1} v${rowH - 2}`, class: 'bar-marker' });
      line.appendChild(s('title', null, `${r.label}: ${r.marker.label} ${num(r.marker.value)}`));
      g.appendChild(line);
    }
    const vt = valueText ? valueText(r) : num(r.segments.reduce((a, x2) => a + x2.value, 0));
    g.appendChild(s('text', { x: W - 4, y: y + rowH / 2 + 4, class: 'bar-value', 'text-anchor': 'end' }, vt));
    svg.appendChild(g);
  });
  return svg;
}

const SHAPES = {
  centre: (x, y, r) => s('circle', { cx: x, cy: y, r }),
  warehouse: (x, y, r) => s('rect', { x: x - r * 0.9, y: y - r * 0.9, width: r * 1.8, height: r * 1.8 }),
  school: (x, y, r) => s('polygon', { points: `${x},${y - r * 1.1} ${x + r},${y + r * 0.8} ${x - r},${y + r * 0.8}` }),
  kitchen: (x, y, r) => s('polygon', { points: `${x},${y - r * 1.2} ${x + r * 1.2},${y} ${x},${y + r * 1.2} ${x - r * 1.2},${y}` }),
  point: (x, y, r) => s('circle', { cx: x, cy: y, r: r * 0.7 }),
};

export function markerIcon(kind) {
  const shape = (SHAPES[kind] || SHAPES.point)(8, 8, 6);
  shape.setAttribute('class', `mark mark-${SHAPES[kind] ? kind : 'point'}`);
  return s('svg', { viewBox: '0 0 16 16', class: 'marker-icon', 'aria-hidden': 'true', focusable: 'false' }, shape);
}

/*
 * A plot of the sites by latitude and longitude (equirectangular around their middle), with a
 * grid, a scale bar, labels placed to avoid each other, and a link per site.
 * sites: [{id, name, code, kind, lat, lon, capacity, occupancy, href, tip}]
 */
export function siteMap(sites, { title } = {}) {
  const W = 560;
  const H = 340;
  const pad = 52;
  const pts = sites.filter((x) => Number.isFinite(x.lat) && Number.isFinite(x.lon));
  const tid = newId('map-title');
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'map', role: 'group', 'aria-labelledby': tid });
  svg.appendChild(s('title', { id: tid }, title || ''));
  svg.appendChild(s('rect', { x: 0, y: 0, width: W, height: H, class: 'map-bg' }));
  if (!pts.length) {
    svg.appendChild(s('text', { x: W / 2, y: H / 2, class: 'map-empty', 'text-anchor': 'middle' }, t('map.empty')));
    return svg;
  }
  let minLat = Math.min(...pts.map((p) => p.lat));
  let maxLat = Math.max(...pts.map((p) => p.lat));
  let minLon = Math.min(...pts.map((p) => p.lon));
  let maxLon = Math.max(...pts.map((p) => p.lon));
  if (maxLat - minLat < 0.01) {
    minLat -= 0.005;
    maxLat += 0.005;
  }
  if (maxLon - minLon < 0.01) {
    minLon -= 0.005;
    maxLon += 0.005;
  }
  const kx = Math.cos((((minLat + maxLat) / 2) * Math.PI) / 180);
  const scale = Math.min((W - 2 * pad) / ((maxLon - minLon) * kx), (H - 2 * pad) / (maxLat - minLat));
  const cx = W / 2;
  const cy = H / 2;
  const lon0 = (minLon + maxLon) / 2;
  const lat0 = (minLat + maxLat) / 2;
  const px = (lon) => cx + (lon - lon0) * kx * scale;
  const py = (lat) => cy - (lat - lat0) * scale;

  // grid
  const grid = s('g', { class: 'map-grid', 'aria-hidden': 'true' });
  const lonSpan = W / (kx * scale);
  const latSpan = H / scale;
  const stepLon = niceStep(lonSpan, 5);
  const stepLat = niceStep(latSpan, 4);
  const decimals = (st) => Math.max(0, -Math.floor(Math.log10(st) + 1e-9));
  for (let lo = Math.ceil((lon0 - lonSpan / 2) / stepLon) * stepLon; lo <= lon0 + lonSpan / 2; lo += stepLon) {
    const x = px(lo);
    grid.appendChild(s('line', { x1: x, y1: 0, x2: x, y2: H }));
    if (x < W - 50) grid.appendChild(s('text', { x: x + 3, y: H - 4 }, t('map.lon', { n: num(lo, { minimumFractionDigits: decimals(stepLon), maximumFractionDigits: decimals(stepLon) }) })));
  }
  for (let la = Math.ceil((lat0 - latSpan / 2) / stepLat) * stepLat; la <= lat0 + latSpan / 2; la += stepLat) {
    const y = py(la);
    grid.appendChild(s('line', { x1: 0, y1: y, x2: W, y2: y }));
    if (y > 24) grid.appendChild(s('text', { x: 3, y: y - 3 }, t('map.lat', { n: num(la, { minimumFractionDigits: decimals(stepLat), maximumFractionDigits: decimals(stepLat) }) })));
  }
  svg.appendChild(grid);

  // scale bar: about a fifth of the width, in a round number of km
  const kmPerUnit = 111.32 / scale;
  const km = niceStep(kmPerUnit * W * 0.2, 1);
  const barPx = km / kmPerUnit;
  svg.appendChild(
    s(
      'g',
      { class: 'map-scale', 'aria-hidden': 'true' },
      s('path', { d: `M${W - 16 - barPx},${H - 30} v6 h${barPx} v-6` }),
      s('text', { x: W - 16 - barPx / 2, y: H - 36, 'text-anchor': 'middle' }, t('map.km', { n: num(km) })),
      s('text', { x: W - 16, y: 20, 'text-anchor': 'end', class: 'map-north' }, t('map.north')),
    ),
  );

  // markers
  const maxCap = Math.max(1, ...pts.map((p) => p.capacity || 0));
  const placed = [];
  const marks = pts.map((p) => {
    const x = px(p.lon);
    const y = py(p.lat);
    const r = p.kind === 'centre' && p.capacity ? 6 + 7 * Math.sqrt(p.capacity / maxCap) : 7;
    placed.push({ x0: x - r, y0: y - r, x1: x + r, y1: y + r });
    return { p, x, y, r };
  });
  // label each marker where it overlaps least with other labels and markers
  const fontPx = 13;
  const labels = [];
  for (const m of marks) {
    const text = m.p.code || m.p.name || '';
    const w = textEm(text) * fontPx;
    const hgt = fontPx + 2;
    const cands = [
      [m.x + m.r + 4, m.y + 4, 'start'],
      [m.x - m.r - 4, m.y + 4, 'end'],
      [m.x, m.y - m.r - 5, 'middle'],
      [m.x, m.y + m.r + 14, 'middle'],
      [m.x + m.r + 2, m.y - m.r - 4, 'start'],
      [m.x - m.r - 2, m.y + m.r + 12, 'end'],
    ];
    let best = null;
    for (const [x, y, anchor] of cands) {
      const x0 = anchor === 'start' ? x : anchor === 'end' ? x - w : x - w / 2;
      const box = { x0, y0: y - fontPx, x1: x0 + w, y1: y - fontPx + hgt };
      let cost = 0;
      for (const b of placed.concat(labels)) {
        const ox = Math.min(box.x1, b.x1) - Math.max(box.x0, b.x0);
        const oy = Math.min(box.y1, b.y1) - Math.max(box.y0, b.y0);
        if (ox > 0 && oy > 0) cost += ox * oy;
      }
      if (box.x0 < 0 || box.x1 > W || box.y0 < 0 || box.y1 > H) cost += 10000;
      if (!best || cost < best.cost) best = { cost, x, y, anchor, box };
      if (cost === 0) break;
    }
    labels.push(best.box);
    m.label = { ...best, text };
  }
  const layer = s('g', { class: 'map-sites' });
  const names = s('g', { class: 'map-labels', 'aria-hidden': 'true' });
  for (const m of marks) {
    const kind = SHAPES[m.p.kind] ? m.p.kind : 'point';
    const shape = SHAPES[kind](m.x, m.y, m.r);
    const over = m.p.capacity && m.p.occupancy > m.p.capacity;
    shape.setAttribute('class', `mark mark-${kind}${over ? ' mark-over' : ''}`);
    const a = s('a', { href: m.p.href, class: 'map-site', 'aria-label': m.p.tip }, s('title', null, m.p.tip), shape);
    layer.appendChild(a);
    names.appendChild(s('text', { x: m.label.x, y: m.label.y, 'text-anchor': m.label.anchor, class: 'map-label' }, m.label.text));
  }
  svg.appendChild(layer);
  svg.appendChild(names);
  return svg;
}
