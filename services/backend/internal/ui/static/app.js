// MCPbox admin UI behaviour (admin-ui.md §2): plain ES2020, no dependencies.
// Templates bind behaviour with data-* attributes only; no page holds a
// script or a style (CSP script-src 'self'). Sets <body data-ready="true">
// once htmx has processed the page.
'use strict';
(() => {
  const body = document.body;
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  // make builds an element from properties and children (text, never HTML).
  const make = (tag, props, ...kids) => { const e = Object.assign(document.createElement(tag), props); e.append(...kids); return e; };
  let leaving = false; // the page is navigating away
  const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), ' +
    'select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

  // CSRF token on every htmx request; background refreshes (fragments
  // re-fetched on a live event) do not extend the session; a long action
  // (data-long-action, admin-ui.md §6) sends a fresh X-Request-Id, the id
  // its progress events carry.
  const uuid = () => crypto.randomUUID?.() ?? Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
  document.addEventListener('htmx:configRequest', (e) => {
    const h = e.detail.headers, token = $('meta[name="csrf-token"]')?.content;
    if (token) h['X-CSRF-Token'] = token;
    if (e.detail.triggeringEvent?.type?.startsWith('mcpbox:')) h['X-Background-Refresh'] = '1';
    else if (e.detail.elt.closest?.('[data-long-action]')) h['X-Request-Id'] = uuid();
  });

  // Toasts: info in the polite status region, errors in the alert region;
  // 6 s, paused while hovered or focused, with Dismiss.
  function toast(message, level = 'info', requestId = '') {
    const region = $(level === 'error' ? '#toasts-alert' : '#toasts-status');
    if (!region || !message) return;
    const dismiss = make('button', { type: 'button', className: 'button button-quiet', textContent: 'Dismiss' });
    const el = make('div', { className: 'toast toast-' + (level === 'error' ? 'error' : 'info') },
      make('p', { textContent: requestId ? `${message} (request ${requestId})` : message }), dismiss);
    region.append(el);
    let left = 6000, started = 0, timer = 0, holds = 0;
    const close = () => { clearTimeout(timer); el.remove(); };
    const run = () => { started = Date.now(); timer = setTimeout(close, left); };
    const hold = () => { if (holds++ === 0) { clearTimeout(timer); left -= Date.now() - started; } };
    const release = () => { if (holds > 0 && --holds === 0) run(); };
    for (const [type, fn] of [['mouseenter', hold], ['mouseleave', release], ['focusin', hold], ['focusout', release]]) el.addEventListener(type, fn);
    dismiss.addEventListener('click', close);
    run();
  }
  document.addEventListener('mcpbox:toast', (e) => toast(e.detail?.message, e.detail?.level, e.detail?.request_id));
  document.addEventListener('htmx:responseError', (e) => {
    const xhr = e.detail.xhr;
    if (xhr.getResponseHeader('HX-Trigger')) return; // the server sent its own toast
    toast(`The request failed (status ${xhr.status}).`, 'error', xhr.getResponseHeader('X-Request-Id') || '');
  });
  document.addEventListener('htmx:sendError', () => { toast('Connection lost. Retrying…', 'error'); setLive('offline'); });

  // Busy buttons: disabled, saying what happens, while their request runs
  // (admin-ui.md §12); a long action adds the seconds elapsed.
  function busy(button, on) {
    if (!button?.dataset.busyLabel || on === (button.dataset.idleLabel !== undefined)) return;
    if (on) button.dataset.idleLabel = button.textContent;
    button.textContent = on ? button.dataset.busyLabel : button.dataset.idleLabel;
    button.disabled = on;
    if (!on) delete button.dataset.idleLabel;
  }
  // A long action's progress: with data-progress="<container id>" the
  // container shows its <progress> (indeterminate until the first event
  // carrying this request's id) and "<done> of <total> <unit>".
  function longAction(elt, button, id) {
    const box = document.getElementById(elt.dataset.progress || ''), bar = box && $('progress', box), text = box && $('[data-progress-text]', box);
    const started = Date.now();
    const tick = setInterval(() => {
      if (button?.dataset.idleLabel !== undefined) button.textContent = `${button.dataset.busyLabel} ${Math.round((Date.now() - started) / 1000)} s`;
    }, 1000);
    const onProgress = (e) => {
      const p = e.detail || {};
      if (!bar || p.request_id !== id || !(p.total > 0)) return;
      Object.assign(bar, { max: p.total, value: p.done });
      if (text) text.textContent = `${p.done} of ${p.total} ${box.dataset.progressUnit || 'items'}`;
    };
    if (bar) { bar.removeAttribute('value'); box.hidden = false; }
    if (text) text.textContent = '';
    body.addEventListener('mcpbox:progress', onProgress);
    return () => { clearInterval(tick); body.removeEventListener('mcpbox:progress', onProgress); if (box) box.hidden = true; };
  }
  // A background refresh never takes the admin's place. Its swap is held
  // while one of the admin's own requests runs (or a confirmed one is about
  // to start: the refresh could overtake its answer), while a dialog is open
  // inside its target, or while keyboard focus (:focus-visible) is inside it
  // on an element the new content lacks (htmx refocuses one with the same
  // id); its live event is dispatched again once nothing holds it.
  const held = new Map(); // target → the live event whose refresh waits
  let own = 0; // the admin's requests in flight
  const modalIn = (t) => !!t.querySelector('dialog[open]');
  const holds = (t) => own > 0 || modalIn(t) || (document.activeElement?.matches(':focus-visible') && t.contains(document.activeElement));
  document.addEventListener('htmx:beforeSwap', (e) => {
    const d = e.detail, a = document.activeElement, t = d.target;
    if (!d.requestConfig?.headers['X-Background-Refresh'] || !t || !holds(t)) return;
    if (!own && !modalIn(t) && a.id && String(d.serverResponse).includes(`id="${a.id}"`)) return;
    d.shouldSwap = false;
    held.set(t, d.requestConfig.triggeringEvent);
  });
  document.addEventListener('htmx:beforeRequest', (e) => {
    const d = e.detail, cfg = d.requestConfig;
    if (cfg.headers['X-Background-Refresh']) return;
    const button = cfg.triggeringEvent?.submitter || (d.elt.matches('button') ? d.elt : $('button[data-busy-label]', d.elt));
    const long = d.elt.closest('[data-long-action]'), dialog = d.elt.closest('dialog');
    const stop = long && longAction(long, button, cfg.headers['X-Request-Id']);
    busy(button, true); // and a form in a dialog closes it when its request succeeds:
    own++;
    cfg.mcpboxDone = (ok) => { own--; busy(button, false); if (stop) stop(); if (ok && dialog?.open && dialog.isConnected) dialog.close(); };
  });
  document.addEventListener('htmx:afterRequest', (e) => {
    const cfg = e.detail.requestConfig, done = cfg?.mcpboxDone, status = e.detail.xhr?.status;
    if (done) { cfg.mcpboxDone = null; done(status >= 200 && status < 300); }
  });
  // Focus lost with its element (a swap) does not count: the swap settles first.
  const flush = () => held.forEach((ev, target) => {
    if (target.isConnected && holds(target)) return;
    held.delete(target);
    body.dispatchEvent(new CustomEvent(ev.type, { detail: ev.detail }));
  });
  document.addEventListener('focusout', (e) => setTimeout(() => { if (e.target.isConnected) flush(); }));

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
      s = make('div', { id: 'error-summary', className: 'error-summary', tabIndex: -1 });
      s.setAttribute('role', 'alert');
      s.setAttribute('aria-labelledby', 'error-summary-title');
      form.prepend(s);
    }
    const items = problems.map(([input, msg]) => make('li', {}, make('a', { href: '#' + input.id, textContent: msg })));
    s.replaceChildren(make('h2', { id: 'error-summary-title', textContent: 'There is a problem' }), make('ul', {}, ...items));
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
  // A field the admin typed in is checked when focus leaves it, not on the way to its
  // submit button, and after a click, not under it (a message would move its target).
  const touched = new WeakSet();
  let pressing = false;
  for (const [type, down] of [['pointerdown', true], ['pointerup', false]]) addEventListener(type, () => { pressing = down; }, true);
  document.addEventListener('focusout', (e) => {
    const f = e.target, next = e.relatedTarget, check = () => { if (f.isConnected) setFieldError(f, messageFor(f)); };
    if (!f.form?.noValidate || !touched.has(f) || (next?.type === 'submit' && next.form === f.form)) return;
    if (pressing) document.addEventListener('click', check, { once: true }); else setTimeout(check); // a swap removing f blurs it
  });
  // data-confirm-match="<text>" on a field: its dialog's Confirm (or its
  // form's submit button) stays disabled until the field holds the text.
  function syncMatch() {
    for (const input of $$('[data-confirm-match]')) {
      const scope = input.closest('dialog') || input.form;
      const button = scope && ($('[data-dialog-confirm]', scope) || $('[type="submit"]', scope));
      if (button) button.disabled = input.value !== input.dataset.confirmMatch;
    }
  }
  document.addEventListener('input', (e) => { touched.add(e.target); syncMatch(); });
  // A file, choice or select showing an error (the server's too) is checked again once changed (typed fields on blur).
  document.addEventListener('change', (e) => { const f = e.target; if (f.form?.noValidate && f.getAttribute('aria-invalid') === 'true' && !/^(text|search|url|email|password|number|textarea)$/.test(f.type)) setFieldError(f, messageFor(f)); });

  // Dialogs (admin-ui.md §7), native and modal: data-dialog-open="<id>"
  // opens one; data-confirm=
  // "<id>" on a control, or data-confirm-from="<selector>" on a form naming
  // the control whose data-confirm applies, asks first and issues the
  // request only on Confirm. Tab and Shift-Tab wrap inside, Escape and the
  // backdrop cancel, focus returns to the opener.
  document.addEventListener('click', (e) => {
    const opener = e.target.closest?.('[data-dialog-open]'), link = e.target.closest?.('.error-summary a[href^="#"]');
    const dialog = opener && document.getElementById(opener.dataset.dialogOpen);
    const field = link && document.getElementById(link.getAttribute('href').slice(1));
    if (dialog || field) e.preventDefault();
    if (dialog) openDialog(dialog, opener);
    field?.focus();
  });
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
    const items = $$(FOCUSABLE, root).filter((el) => el.getClientRects().length > 0), first = items[0], last = items[items.length - 1];
    if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
  }
  function openDialog(dialog, opener, onConfirm) {
    let confirmed = false;
    const onKey = (e) => { if (e.key === 'Tab') trapTab(dialog, e); };
    const onClick = (e) => {
      const r = dialog.getBoundingClientRect();
      const outside = e.target === dialog && (e.clientX < r.left || e.clientX > r.right || e.clientY < r.top || e.clientY > r.bottom);
      confirmed = !outside && !!e.target.closest('[data-dialog-confirm]');
      if (confirmed) own++; // until its request has started (onClose)
      if (outside || confirmed || e.target.closest('[data-dialog-cancel]')) dialog.close();
    };
    // Every way of closing (Escape, Cancel, Confirm, a native close
    // command, a successful request) ends here; a close event queued before
    // showModal finds the dialog open and is ignored.
    const onClose = () => {
      if (dialog.open) return;
      for (const [type, fn] of listeners) dialog.removeEventListener(type, fn);
      if (opener?.isConnected) opener.focus();
      if (confirmed) { onConfirm?.(); own--; }
    };
    const listeners = [['keydown', onKey], ['click', onClick], ['close', onClose]];
    for (const [type, fn] of listeners) dialog.addEventListener(type, fn);
    dialog.showModal();
    syncMatch();
    ($('[data-autofocus]', dialog) || $('[data-dialog-focus]', dialog) || $('input:not([type="hidden"]), select, textarea', dialog) ||
      $('[data-dialog-cancel]', dialog))?.focus();
  }
  // A dialog the server renders open (its form failed) is made modal.
  const modalize = () => $$('dialog[open]:not(:modal)').forEach((d) => { d.close(); openDialog(d, $(`[data-dialog-open="${d.id}"]`)); });

  // Focus after a page load or a swap: the error summary, or the control a
  // template marks (the password after a failed sign-in).
  const autofocus = (root) => (root?.matches?.('[data-autofocus]') ? root : root?.querySelector?.('[data-autofocus]'))?.focus();
  document.addEventListener('htmx:afterSettle', (e) => { modalize(); syncMatch(); autofocus(e.detail.elt); localTimes(e.detail.elt); flush(); });

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
    try {
      await navigator.clipboard.writeText(b.dataset.copy ?? document.getElementById(b.dataset.copyTarget)?.textContent ?? '');
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
    const [n, unit] = a < 60 ? [s, 'second'] : a < 3600 ? [s / 60, 'minute'] : a < 86400 ? [s / 3600, 'hour'] : [s / 86400, 'day'];
    return relative.format(Math.round(n), unit);
  }
  function localTimes(root) {
    for (const t of $$('time[datetime]', root?.querySelectorAll ? root : document)) {
      const d = new Date(t.getAttribute('datetime'));
      if (Number.isNaN(d.getTime())) continue;
      const abs = absolute.format(d);
      t.title = abs;
      if (t.dataset.format !== 'relative') { t.textContent = abs; continue; }
      const shown = make('span', { textContent: ago(d) });
      shown.setAttribute('aria-hidden', 'true');
      t.replaceChildren(shown, make('span', { className: 'visually-hidden', textContent: abs }));
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
  let stream = null, downTimer = 0, tick = 0, offline = false, synced = false;
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
    const resync = offline;
    downTimer = tick = 0, offline = false;
    setLive('live');
    if (resync) REFRESH.forEach((t) => dispatch(t)); // catch up on what the stream missed
  }
  function connect() {
    stream = new EventSource('/ui/events');
    for (const type of TYPES) {
      stream.addEventListener(type, (ev) => {
        let data = {};
        try { data = JSON.parse(ev.data || '{}'); } catch { /* events only notify */ }
        if (type === 'hello') { up(); synced = false; }
        // The pending count sent on (re)connect refreshes nothing when the badge already shows it.
        if (type === 'approvals' && !synced && (synced = true) && String(data.pending) === $('#approvals-badge')?.dataset.count) return;
        if (type === 'session' && data.state === 'ended') {
          // Give this tab's own sign-out (its redirect) a moment to win.
          stream.close();
          setTimeout(() => { if (!leaving) location.assign('/login?reason=expired&next=' + encodeURIComponent(location.pathname + location.search)); }, 1000);
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
  if (live) { connect(); addEventListener('pagehide', () => stream?.close()); }

  localTimes(document);
  modalize(), syncMatch(), autofocus(document);
  // htmx 2 records the current path in sessionStorage on every load and
  // history push (not configurable); nothing of ours lives in browser
  // storage (admin-ui.md §4, UI-3), so it is removed again.
  const forgetPath = () => { try { sessionStorage.removeItem('htmx-current-path-for-history'); } catch { /* storage disabled */ } };
  forgetPath();
  document.addEventListener('htmx:pushedIntoHistory', forgetPath);
  document.addEventListener('htmx:load', (e) => { if (e.target === body) { forgetPath(); body.dataset.ready = 'true'; } });
})();
