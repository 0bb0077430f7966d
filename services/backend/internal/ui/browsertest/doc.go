//go:build browser

// Package browsertest is the browser harness of the admin web UI
// (admin-ui.md §15) and its acceptance checks (§16). Every file carries the
// build tag `browser`:
//
//	go test -tags browser ./services/backend/internal/ui/browsertest/...
//
// (`make test-ui`; the e2e stage of `make test` runs it with
// MCPBOX_UI_TESTS=1). The harness lives in this package's _test.go files
// (main_test.go starts the browser in TestMain; page_test.go,
// uihelpers_test.go, record_test.go, axe_test.go, artifacts_test.go drive
// it; backend_test.go and sandbox_test.go are the backend and its fake
// sandbox); the checks are named after their ids (TestUI1_…). This file
// holds only the package documentation.
//
// # What runs
//
//   - Debian's Chromium (/usr/bin/chromium, or MCPBOX_CHROMIUM) driven by
//     chromedp through its DevTools pipe, headless, with --disable-gpu
//     --no-first-run --disable-background-networking
//     --disable-component-update --disable-sync, and --no-sandbox only as
//     root or inside a container (where Chromium refuses to start without
//     it). Main starts ONE browser process per test package, with a
//     temporary profile removed at the end; NewPage gives each check a fresh
//     browser context (Target.createBrowserContext), so cookies and storage
//     never leak between checks.
//   - NewBackend: the real backend, built by package wiring exactly as the
//     binary builds it, each listener on its own httptest.Server on
//     127.0.0.1, over a throw-away PostgreSQL database (db/dbtest), with a
//     fake sandbox (FakeSandbox: analyze, execute, packages, discover, MCP
//     call, fetch, readyz), the fast password hasher and shortened timers.
//     Data is seeded through the internal API (/internal/v1/manage/*,
//     /internal/v1/executions) with the gateway's service token: the path
//     the LLM and the gateway use.
//
// # Skip rule
//
// Without Chromium, or without a database (MCPBOX_TEST_DATABASE_URL, else
// postgres@127.0.0.1:5432), a check skips and says why, unless
// MCPBOX_UI_TESTS=1: then it fails. Checks that need no backend (the
// harness self-tests) need only Chromium.
//
// # Waiting
//
// Nothing sleeps. A page is ready when the load event fired and app.js set
// the data-ready attribute on <body> (Page.Open, Page.WaitReady); an htmx
// action is done at its htmx:afterSettle event (Page.Settle); a form that
// navigates is done when a new document is ready (Page.Submit); anything
// else is polled in the page with a deadline (Page.WaitFor), across
// navigations. Time-based rules are not waited out either: the backend's
// auth clock is Backend.Clock (login throttling, UI-3).
//
// # What fails a check on its own
//
//   - a securitypolicyviolation event: an init script installed through the
//     DevTools protocol (Page.addScriptToEvaluateOnNewDocument, in an
//     isolated world, so the page's own CSP and globals are untouched)
//     reports each one through a Runtime binding;
//   - a console error: console.error/console.assert, an uncaught exception
//     or unhandled rejection (Runtime events), or a browser log entry of
//     level error (Log domain) other than the network layer's "the server
//     responded with a status of N" for a status the check asked for
//     (checks assert their statuses themselves; they are logged);
//   - an axe-core serious or critical violation (Page.Axe); moderate and
//     minor ones are logged.
//
// A failed check also saves a full-page screenshot and the DOM of its page
// into the artifacts directory as <Test>-failure.png and .html, and prints
// the backend's log.
//
// # Clicks and responses
//
// Click scrolls its target to the middle of the viewport and fails when
// another element covers the target's centre: an overlay that takes a
// user's click is a defect, not something to click through. Record keeps
// every response with its headers and body (UI-7's CSP check, UI-21's
// secret search): it holds each response at the Fetch domain's response
// stage and reads the body there, because Network.getResponseBody loses
// the bodies of a document the page has already left; event-stream
// messages come from Network.eventSourceMessageReceived.
//
// # Artifacts
//
// Screenshots go to MCPBOX_UI_ARTIFACTS (default test-artifacts/ui under
// the repository root, ignored by git) as <page>-<width>-<theme>.png. They
// are review artifacts, never pixel-compared. UI-49 and UI-53 run light and
// dark at 1280 px and light at 375 px; MCPBOX_UI_MATRIX=full adds dark at
// 375 px (make test-ui).
//
// # axe-core
//
// testdata/axe.min.js is axe-core 4.x from its npm package (testdata/NOTICE:
// version, source, SHA-256, licence MPL-2.0); it is injected through
// Runtime.evaluate, which the page's CSP does not govern, and run with the
// tags wcag2a wcag2aa wcag21a wcag21aa. It is never fetched at test time and
// never embedded in the product.
package browsertest
