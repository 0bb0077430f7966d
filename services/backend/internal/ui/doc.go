// Package ui is the admin web UI (admin-ui.md): server-rendered pages
// from html/template, htmx 2.0 and a small app.js, every file embedded.
// It is a second face of the service layer behind /api/v1: each mutation
// calls the same service functions as its API twin (U1; Table lists the
// twins and a test checks them), with no HTTP hop.
//
// # Rendering
//
// The templates (templates/: layout, partials, dialogs, pages) are parsed
// once by Routes; a missing template, template function or static asset
// is an error of Routes, not of a request. A request with HX-Request (and
// without HX-History-Restore-Request) gets a page's fragment, any other the
// whole page, with Vary: HX-Request (U7). Static files are served as
// /static/<name>.<hash>.<ext>, immutable for a year; the asset template
// function resolves the names.
//
// # Sessions and CSRF
//
// The UI uses the backend's one session cookie and package auth's cookie
// sessions (AuthenticateCookie, Login in cookie mode, Logout), so a session
// opened here also authenticates /api/v1. The session row keeps only the
// hash of the CSRF token, so the UI keeps the token itself in a second
// HttpOnly cookie, mcpbox_csrf, set at its login: pages render it in
// <meta name="csrf-token"> and in the _csrf field of every form, and a
// mutation must send it back in X-CSRF-Token or _csrf, compared with the
// session's hash in constant time (the cookie is never accepted as the
// proof). A session opened through the API has no such cookie and counts
// as signed out here. Before a session exists, setup and login forms carry
// the token of a 10-minute HttpOnly pre-session cookie (double submit,
// compared in constant time, issue time inside the token). Every non-GET
// request first passes the Origin (else Sec-Fetch-Site) check of /api/v1;
// a refusal of either check is 403 "This form has expired. Reload the page
// and try again." and counts in mcpbox_backend_csrf_rejections_total.
//
// Without a session a page answers 303 to /login?next=<path> (htmx: 401
// with HX-Redirect); next accepts only a local path. While no admin exists
// every page but /setup redirects there.
//
// # First-run setup
//
// /setup has two steps, each with its API twin: the account (POST /setup:
// auth.Setup, then auth.Login in cookie mode, so the admin is signed in)
// and the security defaults (POST /setup/security: policy.ApplyProfile,
// then policy.CompleteOnboarding). GET /setup shows step 1 while no admin
// exists and step 2 to the signed-in admin until onboarding is complete;
// otherwise it is 404. Field rules and messages are the backend's own
// (auth.CheckUsername, password.CheckNew), checked before the setup code
// is tried; app.js shows the same messages before submitting.
//
// # Live updates
//
// GET /ui/events is one Server-Sent Events stream per tab, fed by the
// activity broker (LISTEN/NOTIFY, so any replica's changes arrive): it
// notifies, never carrying user content, and app.js re-dispatches each
// event on <body> as mcpbox:<type>. A session holds at most 8 streams on a
// replica; the oldest is closed. Execution events carry no server or tool
// id: the broker's wake-up says only that records were written.
//
// # DOM contract
//
// What app.js, fragments and the browser checks rely on:
//
//   - <html data-theme="light|dark|system"> from the mcpbox_theme cookie;
//     <body data-offline-after data-fallback-tick> (ms) and data-ready,
//     set by app.js once htmx has processed the page.
//   - Shell: a.skip-link[href="#main"]; header#site-header with
//     #signed-in-user, #live-indicator (role=status, data-state
//     connecting|live|offline, text "Live" / "Offline — retrying") and
//     form#logout-form; button#menu-button (aria-controls="nav-drawer",
//     aria-expanded) below 1024 px; nav#nav-drawer[aria-label="Main"] with
//     button#menu-close, #nav-backdrop and links a[data-nav=dashboard|
//     servers|approvals|activity|remote-access|settings] (aria-current on
//     the current one); span#approvals-badge (data-count, hidden at zero,
//     visually hidden "N pending approvals", re-fetched from /ui/badge on
//     mcpbox:approvals); fieldset#theme-switch with #theme-light,
//     #theme-dark, #theme-system; main#main (tabindex=-1, one h1);
//     footer#site-footer with #version; #toasts-status (role=status,
//     polite) and #toasts-alert (role=alert).
//   - Forms: novalidate; each control #<id> with #<id>-error (hidden when
//     empty) in its aria-describedby, aria-invalid on error, data-msg (the
//     server's message, {n} = length), data-length, data-match,
//     data-differs; #error-summary (role=alert, tabindex=-1, links to the
//     fields) takes focus unless a control carries data-autofocus; submit
//     buttons carry data-busy-label. A field the admin typed in is checked
//     again when focus leaves it (except on the way to its submit button),
//     and a field showing an error when it changes.
//   - Dialogs: native <dialog>, opened modal by <button type="button"
//     data-dialog-open="<dialog id>">; first focus is [data-autofocus], else
//     [data-dialog-focus], else the first field, else [data-dialog-cancel].
//     A form inside closes its dialog when its htmx request answers 2xx; a
//     dialog the server renders open (its form failed) is made modal.
//   - Confirmation: data-confirm="<dialog id>" on a control, or
//     data-confirm-from="<selector>" on a form naming the control whose
//     data-confirm applies; dialogs carry [data-dialog-cancel] and
//     [data-dialog-confirm]. data-confirm-match="<text>" on a field keeps
//     its dialog's [data-dialog-confirm] (or its form's submit button)
//     disabled until the field holds exactly that text.
//   - Long actions (§6): data-long-action on an htmx element sends a fresh
//     X-Request-Id with each request; its busy button reads "<busy label>
//     <n> s". data-progress="<container id>" names a hidden container
//     holding a labelled <progress> and a [data-progress-text]: shown while
//     the request runs, indeterminate until the first progress event with
//     that request id, then "<done> of <total> <data-progress-unit, default
//     items>"; events of other requests change nothing.
//   - Live refreshes (X-Background-Refresh) never mark a button busy; one
//     whose target holds keyboard focus (:focus-visible) on an element the
//     new content lacks (htmx focuses an element with the same id again)
//     or inside a dialog is not swapped but repeated once focus has left
//     the target (or after the next swap settles).
//   - Toasts: HX-Trigger {"mcpbox:toast": {level, message, request_id}}.
//   - Clipboard: data-copy="text" or data-copy-target="<id>"; local time:
//     <time datetime> (data-format="relative" for "5 min ago").
package ui
