// The dashboard: header, language, sign-in, and the hash router (#/coordinator, #/volunteer,
// #/donor, #/donor/ID, #/site/ID).
import * as i18n from './i18n.js';
import { h, replace } from './dom.js';
import { get, getToken, setToken, onUnauthorized } from './api.js';
import { state, roleName, errorText, errorBox } from './ui.js';
import * as coordinator from './views/coordinator.js';
import * as volunteer from './views/volunteer.js';
import * as donor from './views/donor.js';
import * as site from './views/site.js';

const t = i18n.t;
let seq = 0;
let needSignIn = false;

const $ = (id) => document.getElementById(id);

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, q] = raw.split('?');
  let parts;
  try {
    parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    parts = [];
  }
  return { parts, query: new URLSearchParams(q || '') };
}

function defaultView() {
  return state.role === 'donor' ? 'donor' : 'coordinator';
}

/* which roles may open which view */
const ALLOWED = {
  coordinator: ['write', 'read'],
  site: ['write', 'read'],
  volunteer: ['write', 'read'],
  donor: ['write', 'read', 'donor'],
};

function renderHeader() {
  const st = state.status;
  $('node-name').textContent = st && st.name ? st.name : '';
  $('role').textContent = needSignIn ? t('header.signed_out') : t('header.role', { role: roleName(state.role) });
  // signed in with a token: sign out; served without one (the laptop's own node): sign in
  $('signout').hidden = needSignIn;
  $('signout').textContent = getToken() ? t('signout') : t('signin.button');
  const view = parseHash().parts[0] || defaultView();
  for (const a of document.querySelectorAll('#nav a')) {
    const v = a.dataset.view;
    const allowed = !state.role || ALLOWED[v].includes(state.role);
    a.parentElement.hidden = !allowed;
    if (v === view || (view === 'site' && v === 'coordinator')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function fillLanguages() {
  const sel = $('lang');
  replace(
    sel,
    i18n.getLanguages().map((l) => h('option', { value: l.code, lang: l.code, selected: l.code === i18n.getLang() }, l.name)),
  );
}

function banner(text) {
  const b = $('banner');
  b.textContent = text || '';
  b.hidden = !text;
}

async function loadStatus() {
  try {
    state.status = await get('status');
    state.role = state.status.role || '';
    const at = Date.parse(state.status.now);
    state.clock = Number.isFinite(at) ? at - Date.now() : 0;
    needSignIn = false;
    banner('');
  } catch (err) {
    state.status = null;
    state.role = '';
    // a token the node does not know (401), or one for another use such as sync (403)
    if (err.status === 401 || (err.status === 403 && getToken())) needSignIn = true;
    else banner(errorText(err));
  }
  renderHeader();
}

/* A token form (the ids name its parts): on submit the token is kept (remembered when asked) and
   the node's status read with it; then done() runs, needSignIn saying whether it was refused. */
function tokenForm(ids, msg, extra, done) {
  const input = h('input', { type: 'password', id: ids.token, name: 'token', autocomplete: 'off', spellcheck: 'false', required: true });
  const remember = h('input', { type: 'checkbox', id: ids.remember });
  const form = h(
    'form',
    { class: 'card-form', id: ids.form },
    h('div', { class: 'field' }, h('label', { for: ids.token }, t('signin.token')), input),
    h('div', { class: 'field field-check' }, remember, h('label', { for: ids.remember }, t('signin.remember'))),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', id: ids.submit }, t('signin.submit')), extra),
    msg,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const token = input.value.trim();
    if (!token) {
      input.focus();
      return;
    }
    setToken(token, remember.checked);
    msg.className = 'result';
    msg.textContent = t('signin.checking');
    await loadStatus();
    await done();
  });
  return { form, input };
}

function showSignIn(refused) {
  needSignIn = true;
  seq += 1;
  renderHeader();
  const cancel = state.status
    ? h('button', { type: 'button', class: 'button-secondary', on: { click: () => { needSignIn = false; route(true); } } }, t('signin.cancel'))
    : null;
  const main = $('main');
  const msg = h('p', { class: 'result', id: 'signin-result', role: 'status', 'aria-live': 'polite' });
  if (refused) {
    msg.className = 'result msg-error';
    msg.textContent = t('signin.refused');
  }
  const { form } = tokenForm({ token: 'token', remember: 'remember', form: 'signin-form', submit: 'signin-submit' }, msg, cancel, async () => {
    if (needSignIn) {
      setToken('');
      await loadStatus(); // without a token, the laptop's own node may still serve this page
      showSignIn(true);
      $('token').focus();
      return;
    }
    const v = parseHash().parts[0];
    if (!v || !ALLOWED[v] || !ALLOWED[v].includes(state.role)) location.hash = `#/${defaultView()}`;
    else route(true);
  });
  replace(
    main,
    h('div', { class: 'view-head' }, h('h1', { tabindex: '-1', class: 'view-title' }, t('signin.title'))),
    h('section', { class: 'panel signin', 'aria-labelledby': 'signin-intro' }, h('h2', { id: 'signin-intro', class: 'sr-only' }, t('signin.title')), h('p', null, t('signin.intro')), form),
  );
}

/* A write refused for its token (revoked, or tokens made since the page opened): the page stays
   as it is, with what was typed in its forms, and a panel under its title takes a token; the
   refused change is sent again with its own button. So for a report refused at its download
   button (err.download): it is asked for again with that button. */
function signInAgain(err) {
  let box = $('signin-again');
  if (box) {
    const input = $('again-token');
    if (input) input.focus();
    return;
  }
  setToken('');
  renderHeader();
  const role = state.role;
  const back = document.activeElement;
  const download = Boolean(err && err.download);
  const msg = h('p', { class: 'result', id: 'again-result', role: 'status', 'aria-live': 'polite' });
  const { form, input } = tokenForm({ token: 'again-token', remember: 'again-remember', form: 'again-form', submit: 'again-submit' }, msg, null, () => {
    if (needSignIn) {
      // refused too: the page and its forms stay, the panel asks again
      needSignIn = false;
      setToken('');
      renderHeader();
      msg.className = 'result msg-error';
      msg.textContent = t('signin.refused');
      input.focus();
      return;
    }
    if (state.role !== role) {
      // another role: the view is drawn again for it
      route(true);
      return;
    }
    replace(box, h('p', { class: 'msg msg-ok', role: 'status' }, t(download ? 'signin.again_done_download' : 'signin.again_done')));
    if (back && back !== document.body && back.isConnected) back.focus();
  });
  box = h(
    'section',
    { class: 'panel signin signin-again', id: 'signin-again', 'aria-labelledby': 'again-title' },
    h('h2', { id: 'again-title' }, t('signin.again_title')),
    h('p', { class: 'msg msg-error', role: 'alert' }, t(download ? 'signin.again_intro_download' : 'signin.again_intro')),
    form,
  );
  const head = $('main').querySelector('.view-head');
  if (head) head.after(box);
  else $('main').prepend(box);
  input.focus();
}

async function signOut() {
  setToken('');
  state.status = null;
  state.role = '';
  await loadStatus();
  if (needSignIn) showSignIn();
  else route(true);
}

async function route(focus) {
  if (needSignIn) {
    showSignIn();
    return;
  }
  const my = ++seq;
  const { parts, query } = parseHash();
  const view = parts[0] || defaultView();
  renderHeader();
  const main = $('main');
  const ctx = { current: () => my === seq && !needSignIn, rerender: () => route(false), query };
  main.setAttribute('aria-busy', 'true');
  document.title = `${t(`nav.${ALLOWED[view] ? view : 'coordinator'}`)} · ${t('app.title')}`;
  try {
    if (!ALLOWED[view]) {
      location.replace(`#/${defaultView()}`);
      return;
    }
    if (state.role && !ALLOWED[view].includes(state.role)) {
      replace(
        main,
        h('div', { class: 'view-head' }, h('h1', { tabindex: '-1', class: 'view-title' }, t(`nav.${view}`))),
        h('p', { class: 'msg msg-error', role: 'alert' }, t('error.view_role', { role: roleName(state.role) })),
        h('p', null, h('a', { href: `#/${defaultView()}` }, t(`nav.${defaultView()}`))),
      );
    } else if (view === 'coordinator') await coordinator.render(main, ctx);
    else if (view === 'volunteer') await volunteer.render(main, ctx);
    else if (view === 'donor' && parts[1]) await donor.renderTrace(main, ctx, parts[1]);
    else if (view === 'donor') await donor.renderList(main, ctx);
    else if (view === 'site' && parts[1]) await site.render(main, ctx, parts[1]);
    else location.replace(`#/${defaultView()}`);
  } catch (err) {
    if (ctx.current()) replace(main, errorBox(err));
  } finally {
    if (my === seq) main.removeAttribute('aria-busy');
  }
  if (focus && ctx.current()) {
    const title = main.querySelector('.view-title');
    if (title) title.focus();
  }
}

async function start() {
  await i18n.init();
  fillLanguages();
  i18n.applyStatic();
  $('lang').addEventListener('change', async (ev) => {
    await i18n.setLang(ev.target.value);
    i18n.applyStatic();
    fillLanguages();
    if (needSignIn) showSignIn();
    else route(false);
  });
  $('signout').addEventListener('click', () => {
    if (getToken()) signOut();
    else {
      showSignIn(false);
      $('token').focus();
    }
  });
  $('skip').addEventListener('click', (ev) => {
    ev.preventDefault();
    const title = $('main').querySelector('.view-title') || $('main');
    title.focus();
  });
  onUnauthorized((err) => {
    if (needSignIn) return;
    // a refused write or download keeps the page and what was typed in it; so does a read once
    // the panel is up
    if (err.write || err.download || $('signin-again')) signInAgain(err);
    else {
      if (getToken()) setToken('');
      showSignIn(false);
    }
  });
  window.addEventListener('hashchange', () => route(true));
  await loadStatus();
  if (needSignIn) showSignIn();
  else route(false);
}

start();
