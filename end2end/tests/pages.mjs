// Shared by a11y.test.mjs and shell.test.mjs: every page of the app, for every role it is
// for, with the data it needs (a grant, a pending request), and the accessibility checks
// (axe-core, injected from end2end/node_modules; no CDN, nothing downloaded).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { newBrowser, loginAs, requestGrant } from './harness.mjs';

const require = createRequire(import.meta.url);
/** axe-core's browser build, from the npm package (a devDependency of end2end/). */
export const AXE_PATH = require.resolve('axe-core/axe.min.js');
const AXE_SOURCE = readFileSync(AXE_PATH, 'utf8');

/** The test IdP's users (end2end/idp/server.mjs) and the role each one stands for here. */
export const USERS = {
  alice: 'engineer',
  bob: 'lead',
  carol: 'auditor',
  erin: 'admin',
};

/** Signed-in browsers, one per user, and the data the pages show. */
export async function setUpPeople(baseUrl) {
  const people = {};
  for (const name of Object.keys(USERS)) {
    people[name] = await newBrowser();
    await loginAs(people[name].page, baseUrl, name, `${name}-pw`);
  }
  const alice = people.alice.page;
  // An active grant (auto-approved: 30 minutes) and a pending request (2 hours: needs a lead).
  const grant = await requestGrant(alice, 'payments-debug', 'INC-5100 a11y tour: grant', 1800);
  if (!grant) throw new Error('the 30-minute payments-debug request should be auto-approved');
  const pending = await alice.evaluate(async () => {
    const me = await (await fetch('/api/me')).json();
    const res = await fetch('/api/requests', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Keyhole-CSRF': me.csrf_token },
      body: JSON.stringify({ profile: 'payments-debug', reason: 'INC-5101 a11y tour: pending', duration_seconds: 7200 }),
    });
    return (await res.json()).id;
  });
  if (!pending) throw new Error('the pending request was not created');
  return {
    people,
    grant,
    pending,
    async close() {
      for (const p of Object.values(people)) await p.ctx.close();
    },
  };
}

/**
 * Every page × every role it is for. `owner`: `shell` (the frame, login, not-found, policy,
 * guards) or `pages` (the access, pods, terminal and sessions pages).
 * `ready`: a selector that is there once the page shows its data.
 */
export function pageList({ grant, pending }) {
  const pod = `/grants/${grant}/pods/payments/ledger-0`;
  return [
    { id: 'login', as: null, path: '/login', ready: '[data-testid=login-button]', owner: 'shell', title: 'Sign in — Keyhole' },
    { id: 'not-found', as: null, path: '/no/such/page', ready: '[data-testid=not-found]', owner: 'shell', title: 'Page not found — Keyhole', status: 404 },
    { id: 'not-found', as: 'alice', path: '/requests/1/no/such/page', ready: '[data-testid=not-found]', owner: 'shell', title: 'Page not found — Keyhole', status: 404 },
    ...['alice', 'bob', 'carol', 'erin'].map((as) => (
      { id: 'overview', as, path: '/', ready: '[data-testid=welcome]', owner: 'pages', title: 'Overview — Keyhole' })),
    ...['alice', 'bob'].map((as) => (
      { id: 'requests', as, path: '/requests', ready: '[data-testid=request-form]', owner: 'pages', title: 'Requests — Keyhole' })),
    ...['alice', 'bob', 'carol'].map((as) => (
      { id: 'request-detail', as, path: `/requests/${pending}`, ready: '[data-testid=request-state]', owner: 'pages', title: /Request.* — Keyhole$/ })),
    { id: 'approvals', as: 'bob', path: '/approvals', ready: '[data-testid=pending-item]', owner: 'pages', title: 'Approvals — Keyhole' },
    // An admin who approves no profile: the page says there is no queue for them (the API's
    // 403 for the pending queue is expected in the console).
    { id: 'approvals', as: 'erin', path: '/approvals', ready: '[data-testid=queue-empty]', owner: 'pages', title: 'Approvals — Keyhole',
      consoleNoise: /status of 403/ },
    { id: 'not-allowed', as: 'carol', path: '/approvals', ready: '[data-testid=not-allowed]', owner: 'shell', title: 'Approvals — Keyhole' },
    // With one active grant, /pods goes straight to its pods.
    { id: 'my-grants', as: 'alice', path: '/pods', ready: '[data-testid=pod-row]', owner: 'pages', title: /^Pods( of payments-debug)? — Keyhole$/ },
    { id: 'grant-pods', as: 'alice', path: `/grants/${grant}/pods`, ready: '[data-testid=pod-row]', owner: 'pages', title: 'Pods of payments-debug — Keyhole' },
    { id: 'terminal', as: 'alice', path: pod, ready: '[data-testid=term-status]', owner: 'pages', title: /ledger-0.* — Keyhole$/,
      settle: (page) => page.waitForFunction(
        () => document.querySelector('[data-testid=term-status]')?.textContent === 'connected', null, { timeout: 10000 }) },
    { id: 'logs', as: 'alice', path: `${pod}/logs`, ready: '[data-testid=logs]', owner: 'pages', title: /ledger-0.* — Keyhole$/ },
    ...['alice', 'bob', 'carol'].map((as) => (
      { id: 'sessions', as, path: '/sessions', ready: '[data-testid=session-row], [data-testid=sessions-empty]', owner: 'pages', title: 'Sessions — Keyhole' })),
    { id: 'policy', as: 'erin', path: '/admin/policy', ready: '[data-testid=policy-source]', owner: 'shell', title: 'Policy — Keyhole' },
  ];
}

/** Opens `spec.path` and waits until the page shows its data (no "Loading…" left). */
export async function openPage(page, baseUrl, spec) {
  const res = await page.goto(baseUrl + spec.path);
  await page.waitForSelector(spec.ready, { timeout: 10000 });
  if (spec.loadingMayStay) await page.waitForTimeout(500);
  else await page.waitForFunction(() => !document.querySelector('.loading'), null, { timeout: 10000 });
  if (spec.settle) await spec.settle(page);
  return res;
}

/** The frame every page shares: its violations belong to the shell, whatever the page. */
const SHELL_SELECTOR = '.skip-link, .dev-banner, header.topbar, footer.footer';

/** Impacts that fail the checks (axe also reports `moderate` and `minor`). */
export const FAILING_IMPACTS = ['serious', 'critical'];

/**
 * Runs axe-core on the page (WCAG 2.x A/AA and best practices) and returns its violations of
 * every impact, each node marked `shell: true` when it is part of the frame.
 */
export async function axeViolations(page) {
  // Evaluated through the DevTools protocol: `page.addScriptTag` would add an inline <script>,
  // which the app's Content-Security-Policy rightly blocks.
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async (shellSelector) => {
    const result = await window.axe.run(document, {
      resultTypes: ['violations'],
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
    });
    return result.violations
      .map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        helpUrl: v.helpUrl,
        nodes: v.nodes.map((n) => {
          const el = typeof n.target[0] === 'string' ? document.querySelector(n.target[0]) : null;
          return {
            target: n.target.join(' '),
            html: n.html.slice(0, 160),
            summary: (n.failureSummary ?? '').replace(/\s+/g, ' ').trim(),
            shell: Boolean(el?.closest(shellSelector)),
          };
        }),
      }));
  }, SHELL_SELECTOR);
}

/** Violations as readable lines: rule, impact, help, then one line per element. */
export function formatViolations(where, violations) {
  const lines = [];
  for (const v of violations) {
    lines.push(`${where}: [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})`);
    for (const n of v.nodes) lines.push(`    ${n.shell ? '(shell) ' : ''}${n.target}  ${n.html}\n      ${n.summary}`);
  }
  return lines.join('\n');
}

/** Keeps only the nodes for which `keep(node)` holds (and the rules that still have nodes). */
export function filterNodes(violations, keep) {
  return violations
    .map((v) => ({ ...v, nodes: v.nodes.filter(keep) }))
    .filter((v) => v.nodes.length > 0);
}
