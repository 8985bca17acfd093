// The app's frame, in a real browser: the skip link is the first Tab stop and moves focus to
// the main landmark; unknown URLs answer 404 and show the not-found page; the navigation marks
// where you are (aria-current) and shows a lead the live number of requests waiting for them;
// the menu button on a 390 px screen works from the keyboard; every page names its place in
// the window title; the development banner says the cluster is a stand-in, before and after
// sign-in. Screenshots: end2end/artifacts/shell-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startStack, newBrowser, loginAs, requestGrant, artifacts } from './harness.mjs';

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

/** What has focus: its test id, else tag and id. */
const focused = (page) => page.evaluate(() => {
  const el = document.activeElement;
  return el?.dataset?.testid ?? `${el?.tagName.toLowerCase()}#${el?.id ?? ''}`;
});

test('the skip link is the first Tab stop and moves focus to main', async () => {
  const alice = await newBrowser();
  try {
    // Signed out (the login page) and signed in (a page with the full navigation).
    await alice.page.goto(`${stack.baseUrl}/login`);
    await alice.page.waitForSelector('[data-testid=login-button]');
    await alice.page.keyboard.press('Tab');
    assert.equal(await focused(alice.page), 'skip-link');

    await loginAs(alice.page, stack.baseUrl, 'alice', 'alice-pw');
    await alice.page.goto(`${stack.baseUrl}/requests`);
    await alice.page.waitForSelector('[data-testid=request-form]');
    await alice.page.keyboard.press('Tab');
    assert.equal(await focused(alice.page), 'skip-link');
    const link = alice.page.locator('[data-testid=skip-link]');
    assert.equal((await link.textContent()).trim(), 'Skip to content');
    const onScreen = async () => {
      const box = await link.boundingBox();
      return box.y + box.height > 0 && box.x >= 0;
    };
    assert.ok(await onScreen(), 'the focused skip link is on screen');
    await alice.page.screenshot({ path: join(artifacts, 'shell-skip-link.png') });
    await alice.page.keyboard.press('Enter');
    assert.equal(await focused(alice.page), 'main#main');
    assert.equal(await alice.page.evaluate(() => document.activeElement.tagName), 'MAIN');
    assert.equal(new URL(alice.page.url()).pathname, '/requests', 'no navigation');
    // The next Tab stop is inside main, past the header.
    await alice.page.keyboard.press('Tab');
    assert.ok(await alice.page.evaluate(() => document.querySelector('main').contains(document.activeElement)));
    assert.equal(await onScreen(), false, 'the skip link hides again once it loses focus');
    assert.deepEqual(alice.errors, []);
  } finally {
    await alice.ctx.close();
  }
});

test('an unknown URL answers 404 and shows the not-found page; deep links answer 200', async () => {
  const alice = await newBrowser();
  try {
    let res = await alice.page.goto(`${stack.baseUrl}/no/such/page`);
    assert.equal(res.status(), 404);
    assert.match(res.headers()['content-type'], /^text\/html/);
    await alice.page.waitForSelector('[data-testid=not-found]');
    assert.equal(await alice.page.title(), 'Page not found — Keyhole');

    await loginAs(alice.page, stack.baseUrl, 'alice', 'alice-pw');
    const grant = await requestGrant(alice.page, 'payments-debug', 'INC-5200 deep links', 1800);
    res = await alice.page.goto(`${stack.baseUrl}/grants/${grant}/pods/payments/ledger-0/logs`);
    assert.equal(res.status(), 200);
    await alice.page.waitForSelector('[data-testid=logs]');
    res = await alice.page.goto(`${stack.baseUrl}/grants/${grant}/pods/payments/ledger-0/nope`);
    assert.equal(res.status(), 404);
    await alice.page.waitForSelector('[data-testid=not-found]');
    // Nothing in the navigation claims an unknown address.
    assert.equal(await alice.page.locator('#main-nav a[aria-current]').count(), 0);
    await alice.page.screenshot({ path: join(artifacts, 'shell-not-found.png') });
    // The way back works.
    await alice.page.click('[data-testid=not-found] a');
    await alice.page.waitForSelector('[data-testid=welcome]');
    const unexpected = alice.errors.filter((e) => !/status of 404/.test(e));
    assert.deepEqual(unexpected, []);
  } finally {
    await alice.ctx.close();
  }
});

test('the navigation marks the current page and every route names its place in the title', async () => {
  const alice = await newBrowser();
  try {
    await loginAs(alice.page, stack.baseUrl, 'alice', 'alice-pw');
    const grant = await requestGrant(alice.page, 'payments-debug', 'INC-5201 titles', 1800);
    const current = () => alice.page.$$eval('#main-nav a[aria-current=page]', (as) => as.map((a) => a.dataset.testid));
    const steps = [
      ['nav-requests', '/requests', 'Requests — Keyhole'],
      // With one active grant the Pods nav goes straight to its pods, else to the list.
      ['nav-pods', /\/(pods|grants\/[^/]+\/pods)$/, '^Pods( of payments-debug)? — Keyhole$'],
      ['nav-sessions', '/sessions', 'Sessions — Keyhole'],
      ['nav-overview', '/', 'Overview — Keyhole'],
    ];
    for (const [testid, path, title] of steps) {
      // Client-side navigation (the router), not a page load.
      await alice.page.click(`[data-testid=${testid}]`);
      await alice.page.waitForURL(typeof path === 'string' ? `${stack.baseUrl}${path}` : path);
      await alice.page.waitForFunction(
        (t) => (t.startsWith('^') ? new RegExp(t).test(document.title) : document.title === t), title);
      assert.deepEqual(await current(), [testid], path);
      // Like a page load, a client-side navigation leaves focus at the new page's start.
      await alice.page.waitForFunction(() => document.activeElement?.id === 'main');
    }
    // The current item looks different, not by colour alone: a bar under it and bolder text.
    const style = (testid) => alice.page.$eval(`[data-testid=${testid}]`, (a) => {
      const s = getComputedStyle(a);
      return { shadow: s.boxShadow, weight: s.fontWeight };
    });
    const [on, off] = [await style('nav-overview'), await style('nav-requests')];
    assert.notEqual(on.shadow, 'none');
    assert.equal(off.shadow, 'none');
    assert.ok(Number(on.weight) > Number(off.weight), `${on.weight} > ${off.weight}`);

    // A grant's pages belong to "Pods".
    await alice.page.goto(`${stack.baseUrl}/grants/${grant}/pods`);
    await alice.page.waitForSelector('[data-testid=pod-row]');
    assert.deepEqual(await current(), ['nav-pods']);
    assert.equal(await alice.page.title(), 'Pods of payments-debug — Keyhole');
    assert.deepEqual(alice.errors, []);
  } finally {
    await alice.ctx.close();
  }
});

test('a lead sees how many requests wait for them, live, and accessibly', async () => {
  const alice = await newBrowser();
  const bob = await newBrowser();
  try {
    await loginAs(bob.page, stack.baseUrl, 'bob', 'bob-pw');
    await bob.page.goto(`${stack.baseUrl}/sessions`);
    await bob.page.waitForSelector('[data-testid=nav-approvals]');
    const approvals = bob.page.locator('[data-testid=nav-approvals]');
    const count = bob.page.locator('[data-testid=nav-approvals-count]');
    // Earlier tests' requests were auto-approved: nothing waits yet.
    assert.equal(await count.count(), 0);

    await loginAs(alice.page, stack.baseUrl, 'alice', 'alice-pw');
    const ids = [];
    for (const reason of ['INC-5300 first', 'INC-5301 second']) {
      ids.push(await alice.page.evaluate(async (reason) => {
        const me = await (await fetch('/api/me')).json();
        const res = await fetch('/api/requests', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-Keyhole-CSRF': me.csrf_token },
          body: JSON.stringify({ profile: 'payments-debug', reason, duration_seconds: 7200 }),
        });
        return (await res.json()).id;
      }, reason));
    }
    // Without a reload: the badge shows 2, and the link's accessible name says it in words.
    await bob.page.waitForFunction(
      () => document.querySelector('[data-testid=nav-approvals-count]')?.textContent === '2', null, { timeout: 5000 });
    assert.equal(await count.getAttribute('aria-hidden'), 'true');
    await bob.page.getByRole('link', { name: 'Approvals (2 waiting)', exact: true }).waitFor();
    await bob.page.screenshot({ path: join(artifacts, 'shell-approvals-count.png') });

    // Bob approves one (through the API, as his page would): the count follows.
    await bob.page.evaluate(async (id) => {
      const me = await (await fetch('/api/me')).json();
      await fetch(`/api/requests/${id}/approve`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Keyhole-CSRF': me.csrf_token },
        body: JSON.stringify({ comment: 'ok' }),
      });
    }, ids[0]);
    await bob.page.getByRole('link', { name: 'Approvals (1 waiting)', exact: true }).waitFor({ timeout: 5000 });
    // Alice cancels the other: the badge goes away.
    await alice.page.evaluate(async (id) => {
      const me = await (await fetch('/api/me')).json();
      await fetch(`/api/requests/${id}/cancel`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Keyhole-CSRF': me.csrf_token },
        body: '{}',
      });
    }, ids[1]);
    await bob.page.getByRole('link', { name: 'Approvals', exact: true }).waitFor({ timeout: 5000 });
    assert.equal(await count.count(), 0);
    // Engineers have no Approvals link at all.
    assert.equal(await alice.page.locator('[data-testid=nav-approvals]').count(), 0);
    assert.equal((await approvals.textContent()).trim(), 'Approvals');
    assert.deepEqual(bob.errors, []);
    assert.deepEqual(alice.errors, []);
  } finally {
    await alice.ctx.close();
    await bob.ctx.close();
  }
});

test('at 390 px the menu button opens and closes the navigation from the keyboard', async () => {
  const bob = await newBrowser();
  try {
    await loginAs(bob.page, stack.baseUrl, 'bob', 'bob-pw');
    await bob.page.setViewportSize({ width: 390, height: 844 });
    const toggle = bob.page.locator('[data-testid=nav-toggle]');
    const nav = bob.page.locator('#main-nav');
    assert.equal(await toggle.getAttribute('aria-controls'), 'main-nav');
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    assert.equal(await nav.isVisible(), false);
    // Tab from the top reaches the button.
    await bob.page.evaluate(() => document.activeElement?.blur());
    for (let i = 0; i < 10 && (await focused(bob.page)) !== 'nav-toggle'; i++) await bob.page.keyboard.press('Tab');
    assert.equal(await focused(bob.page), 'nav-toggle');
    await bob.page.keyboard.press('Enter');
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    assert.ok(await nav.isVisible());
    // The next Tab stops are the links, in order.
    await bob.page.keyboard.press('Tab');
    assert.equal(await focused(bob.page), 'nav-overview');
    await bob.page.keyboard.press('Tab');
    assert.equal(await focused(bob.page), 'nav-requests');
    // Escape closes it and gives focus back to the button.
    await bob.page.keyboard.press('Escape');
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    assert.equal(await focused(bob.page), 'nav-toggle');
    // Choosing a link closes it too.
    await bob.page.keyboard.press('Space');
    await bob.page.click('[data-testid=nav-sessions]');
    await bob.page.waitForURL(`${stack.baseUrl}/sessions`);
    await bob.page.waitForFunction(() => document.querySelector('[data-testid=nav-toggle]').getAttribute('aria-expanded') === 'false');
    assert.equal(await nav.isVisible(), false);
    // At 1280 px there is no menu button: the links are always shown.
    await bob.page.setViewportSize({ width: 1280, height: 800 });
    assert.equal(await toggle.isVisible(), false);
    assert.ok(await nav.isVisible());
    assert.deepEqual(bob.errors, []);
  } finally {
    await bob.ctx.close();
  }
});

test('the development banner says the cluster is a stand-in, on every page', async () => {
  const alice = await newBrowser();
  try {
    const check = async () => {
      const banner = alice.page.getByRole('note', { name: 'Development mode' });
      await banner.waitFor();
      const text = await banner.textContent();
      assert.match(text, /development stand-in/);
      assert.match(text, /local processes on this machine, not a real Kubernetes cluster/);
      // In a landmark of its own, so it is found with the page's other regions.
      await alice.page.getByRole('complementary', { name: 'Development mode' }).waitFor();
    };
    await alice.page.goto(`${stack.baseUrl}/login`);
    await check();
    await loginAs(alice.page, stack.baseUrl, 'alice', 'alice-pw');
    await check();
    await alice.page.goto(`${stack.baseUrl}/no/such/page`);
    await check();
    // This stack signs in through a real IdP: no development-IdP sentence.
    assert.equal(await alice.page.locator('[data-testid=dev-idp-banner]').count(), 0);
  } finally {
    await alice.ctx.close();
  }
});
