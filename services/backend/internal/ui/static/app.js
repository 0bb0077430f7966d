// MCPbox admin UI behaviour (admin-ui.md §2): plain ES2020, no dependencies.
// Templates bind behaviour with data-* attributes only; no page holds a
// script or a style (CSP script-src 'self'). Sets <body data-ready="true">
// once htmx has processed the page.
'use strict';
(() => {
  const body = document.body;
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  let leaving = false; // the page is navigating away
  const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), ' +
    'select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

  // CSRF token on every htmx request; background refreshes (fragments
  // re-fetched on a live event) do not extend the session.
  document.addEventListener('htmx:configRequest', (e) => {
    const token = $('meta[name="csrf-token"]')?.content;
    if (token) e.detail.headers['X-CSRF-Token'] = token;
    if (e.detail.triggeringEvent?.type?.startsWith('mcpbox:')) e.detail.headers['X-Background-Refresh'] = '1';
  });

  // Toasts: info in the polite status region, errors in the alert region;
  // 6 s, paused while hovered or focused, with Dismiss.
  function toast(message, level = 'info', requestId = '') {
    const region = $(level === 'error' ? '#toasts-alert' : '#toasts-status');
    if (!region || !message) return;
    const el = document.createElement('div');
    el.className = 'toast toast-' + (level === 'error' ? 'error' : 'info');
    const p = document.createElement('p');
    p.textContent = requestId ? `${message} (request ${requestId})` : message;
    const dismiss = document.createElement('button');
    dismiss.type = 'button';
    dismiss.className = 'button button-quiet';
    dismiss.textContent = 'Dismiss';
    el.append(p, dismiss);
    region.append(el);
    let left = 6000, started = 0, timer = 0, holds = 0;
    const close = () => { clearTimeout(timer); el.remove(); };
    const run = () => { started = Date.now(); timer = setTimeout(close, left); };
    const hold = () => { if (holds++ === 0) { clearTimeout(timer); left -= Date.now() - started; } };
    const release = () => { if (holds > 0 && --holds === 0) run(); };
    el.addEventListener('mouseenter', hold);
    el.addEventListener('mouseleave', release);
    el.addEventListener('focusin', hold);
    el.addEventListener('focusout', release);
    dismiss.addEventListener('click', close);
    run();
  }
  document.addEventListener('mcpbox:toast', (e) => toast(e.detail?.message, e.detail?.level, e.detail?.request_id));
  document.addEventListener('htmx:responseError', (e) => {
    const xhr = e.detail.xhr;
    if (xhr.getResponseHeader('HX-Trigger')) return; // the server sent its own toast
    toast(`The request failed (status ${xhr.status}).`, 'error', xhr.getResponseHeader('X-Request-Id') || '');
  });
  document.addEventListener('htmx:sendError', () => {
    toast('Connection lost. Retrying…', 'error');
    setLive('offline');
  });

  // Busy buttons: disabled, saying what happens, while their request runs.
  function busy(button, on) {
    if (!button?.dataset.busyLabel) return;
    if (on) {
      if (button.dataset.idleLabel !== undefined) return;
      button.dataset.idleLabel = button.textContent;
      button.textContent = button.dataset.busyLabel;
      button.disabled = true;
    } else if (button.dataset.idleLabel !== undefined) {
      button.textContent = button.dataset.idleLabel;
      delete button.dataset.idleLabel;
      button.disabled = false;
    }
  }
  const submitterOf = (elt) => (elt?.matches?.('button') ? elt : elt?.querySelector?.('button[data-busy-label]'));
  document.addEventListener('htmx:beforeRequest', (e) => busy(submitterOf(e.detail.elt), true));
  document.addEventListener('htmx:afterRequest', (e) => busy(submitterOf(e.detail.elt), false));

  // Form validation with the server's own messages (data-msg, {n} = the
  // length in characters); forms are novalidate, so this replaces the
  // browser's bubbles with the error summary and the errors under fields.
  function messageFor(input) {
    const v = input.value, n = [...v].length, msg = (input.dataset.msg || input.validationMessage || 'Check this field.').replace('{n}', String(n));
    if (input.dataset.match && document.getElementById(input.dataset.match)?.value !== v) return msg;
    if (!input.validity.valid) return msg;
    if (input.dataset.length) {
      const [lo, hi] = input.dataset.length.split('-').map(Number);
      if (n < lo || n > hi) return msg;
    }
    const other = input.dataset.differs && document.getElementById(input.dataset.differs);
    if (other && v && other.value.toLowerCase() === v.toLowerCase()) return input.dataset.msgDiffers || msg;
    return '';
  }
  function setFieldError(input, msg) {
    const err = document.getElementById(input.id + '-error');
    if (err) { err.textContent = msg; err.hidden = !msg; }
    if (msg) input.setAttribute('aria-invalid', 'true'); else input.removeAttribute('aria-invalid');
  }
  function showSummary(form, problems) {
    let s = $('#error-summary', form);
    if (!s) {
      s = document.createElement('div');
      s.id = 'error-summary';
      s.className = 'error-summary';
      s.setAttribute('role', 'alert');
      s.setAttribute('aria-labelledby', 'error-summary-title');
      s.tabIndex = -1;
      form.prepend(s);
    }
    const h = document.createElement('h2');
    h.id = 'error-summary-title';
    h.textContent = 'There is a problem';
    const ul = document.createElement('ul');
    for (const [input, msg] of problems) {
      const a = document.createElement('a');
      a.href = '#' + input.id;
      a.textContent = msg;
      const li = document.createElement('li');
      li.append(a);
      ul.append(li);
    }
    s.replaceChildren(h, ul);
    s.focus();
  }
  document.addEventListener('submit', (e) => {
    const form = e.target;
    if (!(form instanceof HTMLFormElement) || !form.noValidate) return;
    const problems = [];
    for (const input of $$('input, select, textarea', form)) {
      if (input.type === 'hidden' || input.disabled || !input.id) continue;
      const msg = messageFor(input);
      setFieldError(input, msg);
      if (msg) problems.push([input, msg]);
    }
    if (problems.length) {
      e.preventDefault();
      e.stopImmediatePropagation(); // htmx never sees the submit
      showSummary(form, problems);
      return;
    }
    if (form.hasAttribute('hx-post')) return; // htmx confirms (htmx:confirm) and marks busy
    const id = confirmId(form);
    if (id && !form.dataset.confirmed && document.getElementById(id)) {
      e.preventDefault();
      const submitter = e.submitter;
      openDialog(document.getElementById(id), submitter, () => { form.dataset.confirmed = '1'; form.requestSubmit(submitter); });
      return;
    }
    busy(e.submitter, true);
    leaving = true; // a plain submit navigates: a session event must not race it
  }, true);
  document.addEventListener('click', (e) => {
    const link = e.target.closest?.('.error-summary a[href^="#"]');
    const field = link && document.getElementById(link.getAttribute('href').slice(1));
    if (field) { e.preventDefault(); field.focus(); }
  });

  // Confirmation dialogs: a control (or its form, through
  // data-confirm-from) names a <dialog> in data-confirm; the request is
  // issued only on Confirm. Native dialogs, focus kept inside, Escape and
  // the backdrop cancel, focus returns to the opener.
  function confirmId(elt) {
    if (elt.dataset?.confirm) return elt.dataset.confirm;
    if (elt.dataset?.confirmFrom) return elt.querySelector(elt.dataset.confirmFrom)?.dataset.confirm || '';
    return '';
  }
  document.addEventListener('htmx:confirm', (e) => {
    const id = confirmId(e.detail.elt);
    const dialog = id && document.getElementById(id);
    if (!dialog) return;
    e.preventDefault();
    openDialog(dialog, document.activeElement, () => e.detail.issueRequest(true));
  });
  function trapTab(root, e) {
    const items = $$(FOCUSABLE, root).filter((el) => el.getClientRects().length > 0);
    if (!items.length) return;
    const first = items[0], last = items[items.length - 1];
    if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
  }
  function openDialog(dialog, opener, onConfirm) {
    const done = (ok) => {
      dialog.removeEventListener('keydown', onKey);
      dialog.removeEventListener('click', onClick);
      dialog.removeEventListener('cancel', onCancel);
      dialog.close();
      if (opener?.isConnected) opener.focus();
      if (ok) onConfirm();
    };
    const onKey = (e) => { if (e.key === 'Tab') trapTab(dialog, e); };
    const onCancel = (e) => { e.preventDefault(); done(false); };
    const onClick = (e) => {
      const r = dialog.getBoundingClientRect();
      const outside = e.target === dialog && (e.clientX < r.left || e.clientX > r.right || e.clientY < r.top || e.clientY > r.bottom);
      if (outside || e.target.closest('[data-dialog-cancel]')) done(false);
      else if (e.target.closest('[data-dialog-confirm]')) done(true);
    };
    dialog.addEventListener('keydown', onKey);
    dialog.addEventListener('click', onClick);
    dialog.addEventListener('cancel', onCancel);
    dialog.showModal();
    const first = $('[data-dialog-focus]', dialog) || $('input:not([type="hidden"]), select, textarea', dialog) || $('[data-dialog-cancel]', dialog);
    first?.focus();
  }

  // Focus after a page load or a swap: the error summary, or the control a
  // template marks (the password after a failed sign-in).
  function autofocus(root) {
    const el = root?.matches?.('[data-autofocus]') ? root : root?.querySelector?.('[data-autofocus]');
    el?.focus();
  }
  document.addEventListener('htmx:afterSettle', (e) => { autofocus(e.detail.elt); localTimes(e.detail.elt); });

  // Theme: Light, Dark or System, in the mcpbox_theme cookie the server
  // reads to render data-theme on <html>.
  for (const radio of $$('input[name="theme"]')) {
    radio.addEventListener('change', () => {
      document.documentElement.dataset.theme = radio.value;
      document.cookie = `mcpbox_theme=${radio.value}; Path=/; Max-Age=31536000; SameSite=Lax` + (location.protocol === 'https:' ? '; Secure' : '');
    });
  }

  // Clipboard: data-copy="text", or data-copy-target="<element id>".
  document.addEventListener('click', async (e) => {
    const b = e.target.closest?.('[data-copy], [data-copy-target]');
    if (!b) return;
    const text = b.dataset.copy ?? document.getElementById(b.dataset.copyTarget)?.textContent ?? '';
    try {
      await navigator.clipboard.writeText(text);
      toast(b.dataset.copyDone || 'Copied to the clipboard.');
    } catch {
      toast('Copying failed; select the text and copy it by hand.', 'error');
    }
  });

  // Local time: <time datetime> (UTC) shown in the browser's zone;
  // data-format="relative" shows "5 min ago" and keeps the absolute time in
  // the accessible name.
  const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto', style: 'short' });
  function ago(date) {
    const s = Math.round((date - Date.now()) / 1000), a = Math.abs(s);
    if (a < 60) return relative.format(s, 'second');
    if (a < 3600) return relative.format(Math.round(s / 60), 'minute');
    if (a < 86400) return relative.format(Math.round(s / 3600), 'hour');
    return relative.format(Math.round(s / 86400), 'day');
  }
  function localTimes(root) {
    for (const t of $$('time[datetime]', root?.querySelectorAll ? root : document)) {
      const d = new Date(t.getAttribute('datetime'));
      if (Number.isNaN(d.getTime())) continue;
      const abs = absolute.format(d);
      t.title = abs;
      if (t.dataset.format !== 'relative') { t.textContent = abs; continue; }
      const shown = document.createElement('span'), name = document.createElement('span');
      shown.setAttribute('aria-hidden', 'true');
      shown.textContent = ago(d);
      name.className = 'visually-hidden';
      name.textContent = abs;
      t.replaceChildren(shown, name);
    }
  }

  // The navigation drawer below 1024 px: Menu toggles it; Escape, its
  // close button and the backdrop close it and return focus to Menu.
  const menu = $('#menu-button'), drawer = $('#nav-drawer'), backdrop = $('#nav-backdrop');
  function setDrawer(open, refocus) {
    if (!menu || !drawer) return;
    menu.setAttribute('aria-expanded', String(open));
    drawer.classList.toggle('is-open', open);
    if (backdrop) backdrop.hidden = !open;
    body.classList.toggle('drawer-open', open);
    if (open) $('#menu-close', drawer)?.focus();
    else if (refocus) menu.focus();
  }
  const isOpen = () => menu?.getAttribute('aria-expanded') === 'true';
  menu?.addEventListener('click', () => setDrawer(!isOpen(), true));
  $('#menu-close')?.addEventListener('click', () => setDrawer(false, true));
  backdrop?.addEventListener('click', () => setDrawer(false, true));
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && isOpen() && !$('dialog[open]')) setDrawer(false, true);
  });
  matchMedia('(min-width: 1024px)').addEventListener('change', (e) => { if (e.matches) setDrawer(false, false); });

  // Live updates (admin-ui.md §6): one event stream per tab; each event is
  // re-dispatched on <body> as mcpbox:<type>. After the stream has been
  // down for data-offline-after ms the indicator reads "Offline — retrying"
  // and every refresh event is dispatched every data-fallback-tick ms.
  const live = $('#live-indicator');
  const offlineAfter = Number(body.dataset.offlineAfter) || 10000;
  const tickEvery = Number(body.dataset.fallbackTick) || 30000;
  const TYPES = ['hello', 'activity', 'approvals', 'servers', 'settings', 'progress', 'session'];
  const REFRESH = ['activity', 'approvals', 'servers', 'settings'];
  let stream = null, downTimer = 0, tick = 0, offline = false;
  addEventListener('beforeunload', () => { leaving = true; });
  function setLive(state) {
    if (!live) return;
    live.dataset.state = state;
    const text = $('.live-text', live);
    if (text) text.textContent = state === 'live' ? 'Live' : state === 'offline' ? 'Offline — retrying' : 'Connecting…';
  }
  const dispatch = (type, detail = {}) => body.dispatchEvent(new CustomEvent('mcpbox:' + type, { detail }));
  function goOffline() {
    offline = true;
    setLive('offline');
    if (!tick) tick = setInterval(() => REFRESH.forEach((t) => dispatch(t)), tickEvery);
  }
  function up() {
    clearTimeout(downTimer);
    clearInterval(tick);
    downTimer = tick = 0;
    const resync = offline;
    offline = false;
    setLive('live');
    if (resync) REFRESH.forEach((t) => dispatch(t)); // catch up on what the stream missed
  }
  function connect() {
    stream = new EventSource('/ui/events');
    for (const type of TYPES) {
      stream.addEventListener(type, (ev) => {
        let data = {};
        try { data = JSON.parse(ev.data || '{}'); } catch { /* events only notify */ }
        if (type === 'hello') up();
        if (type === 'session' && data.state === 'ended') {
          // Give this tab's own sign-out (its redirect) a moment to win.
          stream.close();
          setTimeout(() => {
            if (!leaving) location.assign('/login?reason=expired&next=' + encodeURIComponent(location.pathname + location.search));
          }, 1000);
          return;
        }
        dispatch(type, data);
      });
    }
    stream.addEventListener('error', () => {
      if (!downTimer && !offline) downTimer = setTimeout(goOffline, offlineAfter);
      if (stream.readyState === EventSource.CLOSED) setTimeout(connect, 3000); // refused (401, 5xx): retry by hand
    });
  }
  if (live) {
    connect();
    addEventListener('pagehide', () => stream?.close());
  }

  localTimes(document);
  autofocus(document);
  // htmx 2 records the current path in sessionStorage on every load and
  // history push (not configurable); nothing of ours lives in browser
  // storage (admin-ui.md §4, UI-3), so it is removed again.
  const forgetPath = () => { try { sessionStorage.removeItem('htmx-current-path-for-history'); } catch { /* storage disabled */ } };
  forgetPath();
  document.addEventListener('htmx:pushedIntoHistory', forgetPath);
  document.addEventListener('htmx:load', (e) => { if (e.target === body) { forgetPath(); body.dataset.ready = 'true'; } });
})();
