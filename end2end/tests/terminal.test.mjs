// The terminal journey: Alice gets an auto-approved grant (through the API, from the page, as
// the UI would), goes Pods → her grant → the pod picker, opens a shell in the checkout pod, types a command and
// sees the pod's own output in xterm.js (read through the `window.__term` test hook).
// Screenshots: end2end/artifacts/terminal.png, terminal-ended.png.
//
// The ending: a lead revokes Alice's grant while her terminal is open; the page says who ended
// it and when, stops the countdown, keeps the output readable (nothing over it), and offers
// "Request again" with the same profile, pod and reason. Keyboard: Tab goes to the shell, Esc
// then Tab leaves the terminal. Screenshots: terminal-{live,revoked}-{1280x800,390x844}.png.
// An expired grant: the warning and countdown go, "Request again" is offered
// (terminal-expired.png).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startStack, newBrowser, loginAs, requestGrant, artifacts } from './harness.mjs';

const POD = 'checkout-7d9f-abc12';

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

/** The whole xterm buffer as text. */
const bufferText = () => {
  const b = window.__term?.buffer.active;
  if (!b) return '';
  const lines = [];
  for (let i = 0; i < b.length; i++) lines.push(b.getLine(i).translateToString(true));
  return lines.join('\n');
};

test('alice opens a shell in a granted pod and sees its output', async () => {
  const alice = await newBrowser();
  try {
    await loginAs(alice.page, stack.baseUrl, 'alice', 'alice-pw');
    const grant = await requestGrant(alice.page, 'payments-debug', 'INC-4211 e2e terminal', 1800);
    assert.ok(grant, 'the request should be auto-approved');

    // Through the UI: the Pods nav goes straight to the one active grant's pod picker.
    await alice.page.goto(`${stack.baseUrl}/`);
    await alice.page.click('[data-testid=nav-pods]');
    await alice.page.waitForURL(`${stack.baseUrl}/grants/${grant}/pods`);
    const row = alice.page.locator('[data-testid=pod-row]', { hasText: 'checkout-7d9f-abc12' });
    await row.waitFor();
    assert.match(await row.textContent(), /Running/);
    await row.locator('[data-testid=open-terminal]').first().click();
    await alice.page.waitForURL(/\/grants\/.+\/pods\/payments\/checkout-7d9f-abc12/);
    await alice.page.waitForFunction(
      () => document.querySelector('[data-testid=term-status]')?.textContent === 'connected',
      null, { timeout: 10000 });
    assert.equal(await alice.page.textContent('[data-testid=term-user]'), 'alice@example.test');

    await alice.page.click('[data-testid=terminal]');
    await alice.page.keyboard.type('echo hello-from-$HOSTNAME');
    await alice.page.keyboard.press('Enter');
    // (No `new Function`/eval in page context: the app's CSP forbids it.)
    await alice.page.waitForFunction(
        () => {
          const b = window.__term?.buffer.active;
          if (!b) return false;
          for (let i = 0; i < b.length; i++) {
            if (b.getLine(i).translateToString(true).startsWith('hello-from-checkout-7d9f-abc12')) return true;
          }
          return false;
        }, null, { timeout: 10000 });
    const text = await alice.page.evaluate(bufferText);
    assert.match(text, /^hello-from-checkout-7d9f-abc12$/m);
    assert.match(await alice.page.textContent('[data-testid=term-left]'), /^(29m|30m) \d\ds$/);
    await alice.page.screenshot({ path: join(artifacts, 'terminal.png') });

    // Exiting the shell shows why the session ended.
    await alice.page.keyboard.type('exit');
    await alice.page.keyboard.press('Enter');
    await alice.page.waitForSelector('[data-testid=term-ended]', { timeout: 10000 });
    assert.match(await alice.page.textContent('[data-testid=term-ended]'), /The shell exited/);
    // The grant still lasts: a new shell under it, not a new request.
    assert.equal(await alice.page.textContent('[data-testid=term-reconnect]'), 'Open a new shell');
    assert.equal(await alice.page.locator('[data-testid=term-request-again]').count(), 0);
    await alice.page.screenshot({ path: join(artifacts, 'terminal-ended.png') });

    // The deep link opens a new shell directly.
    await alice.page.goto(`${stack.baseUrl}/grants/${grant}/pods/payments/ledger-0?container=sidecar`);
    await alice.page.waitForFunction(
      () => document.querySelector('[data-testid=term-status]')?.textContent === 'connected',
      null, { timeout: 10000 });
    assert.match(await alice.page.textContent('[data-testid=term-bar]'), /payments\/ledger-0.*sidecar/);
    assert.deepEqual(alice.errors, []);
  } finally {
    await alice.ctx.close();
  }
});

/** Waits until a line of the xterm buffer starts with `prefix`. */
async function waitForLine(page, prefix) {
  await page.waitForFunction((prefix) => {
    const b = window.__term?.buffer.active;
    if (!b) return false;
    for (let i = 0; i < b.length; i++) {
      if (b.getLine(i).translateToString(true).startsWith(prefix)) return true;
    }
    return false;
  }, prefix, { timeout: 10000 });
}

/** Whether the focused element is inside the terminal. */
const focusInTerminal = () =>
  !!document.querySelector('[data-testid=terminal]')?.contains(document.activeElement);

/** What must hold for the output to stay readable: nothing over it, nothing dimming it. */
const readability = () => {
  const host = document.querySelector('[data-testid=terminal]');
  const screen = host.querySelector('.xterm-screen');
  let opacity = 1;
  let filter = 'none';
  for (let el = screen; el; el = el.parentElement) {
    const cs = getComputedStyle(el);
    opacity *= Number(cs.opacity);
    if (cs.filter !== 'none') filter = cs.filter;
  }
  const r = screen.getBoundingClientRect();
  const panel = document.querySelector('[data-testid=term-ended]')?.getBoundingClientRect();
  const intersects = !!panel && panel.left < r.right && r.left < panel.right && panel.top < r.bottom && r.top < panel.bottom;
  // Whatever is on top at a few points of the text area belongs to the terminal.
  const points = [[0.1, 0.1], [0.5, 0.5], [0.9, 0.9], [0.1, 0.9]];
  const covered = points.filter(([x, y]) => {
    const el = document.elementFromPoint(r.left + r.width * x, r.top + r.height * y);
    return !el || !host.contains(el);
  }).length;
  return { opacity, filter, intersects, covered, height: r.height };
};

test('a revoked terminal says who ended it, stays readable, and offers Request again', async () => {
  const alice = await newBrowser();
  const bob = await newBrowser();
  const reason = 'INC-4242 e2e ending: checkout 502s & retries';
  try {
    await loginAs(alice.page, stack.baseUrl, 'alice', 'alice-pw');
    const grant = await requestGrant(alice.page, 'payments-debug', reason, 1800);
    assert.ok(grant, 'the request should be auto-approved');
    const page = alice.page;
    await page.goto(`${stack.baseUrl}/grants/${grant}/pods/payments/${POD}`);
    await page.waitForFunction(
      () => document.querySelector('[data-testid=term-status]')?.textContent === 'connected',
      null, { timeout: 10000 });

    // An honest bar: nothing records sessions; the pod is a local process of devstack.
    assert.equal(await page.textContent('[data-testid=term-recorded]'), 'not recorded');
    assert.match(await page.textContent('[data-testid=term-dev]'), /dev stand-in: local process/);
    assert.doesNotMatch((await page.textContent('[data-testid=term-bar]')).replace('not recorded', ''), /recorded/);
    assert.match(await page.textContent('[data-testid=term-hint]'), /Esc then Tab leaves the terminal/);
    assert.match(await page.title(), new RegExp(`^${POD} · (29|30)m left — Keyhole$`));

    await page.click('[data-testid=terminal]');
    await page.keyboard.type('seq -f line-%g 1 150; echo marker-before-the-end');
    await page.keyboard.press('Enter');
    await waitForLine(page, 'marker-before-the-end');

    // Keyboard: a plain Tab goes to the shell and focus stays; Esc then Tab leaves the terminal
    // (the Esc itself still reaches the shell); Esc then Shift+Tab goes back to the bar.
    await page.evaluate(() => {
      window.__sent = [];
      window.__term.onData((d) => window.__sent.push(d));
    });
    await page.keyboard.press('Tab');
    assert.ok(await page.evaluate(focusInTerminal), 'a plain Tab keeps the focus in the terminal');
    assert.deepEqual(await page.evaluate(() => window.__sent), ['\t']);
    await page.keyboard.press('Escape');
    await page.keyboard.press('Tab');
    assert.ok(!(await page.evaluate(focusInTerminal)), 'Esc then Tab moves the focus out of the terminal');
    assert.deepEqual(await page.evaluate(() => window.__sent), ['\t', '\x1b']);
    await page.click('[data-testid=terminal]');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Shift+Tab');
    assert.ok(!(await page.evaluate(focusInTerminal)), 'Esc then Shift+Tab moves the focus out too');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Logs');
    // Esc then another key: both reach the shell, focus stays.
    await page.click('[data-testid=terminal]');
    await page.keyboard.press('Escape');
    await page.keyboard.press('KeyX');
    assert.ok(await page.evaluate(focusInTerminal));
    assert.deepEqual((await page.evaluate(() => window.__sent)).slice(-2), ['\x1b', 'x']);
    await page.keyboard.press('Control+C');

    await page.screenshot({ path: join(artifacts, 'terminal-live-1280x800.png') });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(artifacts, 'terminal-live-390x844.png') });
    await page.setViewportSize({ width: 1280, height: 800 });

    // Bob (a payments lead) revokes the grant.
    await loginAs(bob.page, stack.baseUrl, 'bob', 'bob-pw');
    const revoked = await bob.page.evaluate(async (grant) => {
      const me = await (await fetch('/api/me')).json();
      const res = await fetch(`/api/grants/${grant}/revoke`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Keyhole-CSRF': me.csrf_token },
        body: JSON.stringify({ reason: 'INC-4242 handed over to the on-call' }),
      });
      return res.status;
    }, grant);
    assert.equal(revoked, 200);

    const ended = page.locator('[data-testid=term-ended]');
    await ended.waitFor({ timeout: 5000 });
    assert.equal(await ended.getAttribute('data-reason'), 'revoked');
    assert.match(await ended.textContent(), /The grant was revoked/);
    assert.match(await ended.textContent(), /handed over to the on-call/);
    await page.locator('[data-testid=term-ended-who]', { hasText: 'Revoked by Bob Lead' }).waitFor({ timeout: 5000 });
    assert.match(await page.textContent('[data-testid=term-ended-who]'),
      /^Revoked by Bob Lead at \d\d:\d\d: “INC-4242 handed over to the on-call”$/);

    // The countdown and warnings are gone; the bar says when it ended; so does the title.
    assert.equal(await page.locator('[data-testid=term-left]').count(), 0);
    assert.equal(await page.locator('[data-testid=term-notice]').count(), 0);
    assert.match(await page.textContent('[data-testid=term-ended-at]'), /^\d\d:\d\d$/);
    assert.equal(await page.textContent('[data-testid=term-status]'), 'ended');
    await page.waitForFunction((pod) => document.title === `${pod} · ended — Keyhole`, POD);

    // "Request again" (main action) asks for the same profile, pod and reason.
    const again = page.locator('[data-testid=term-request-again]');
    await again.waitFor();
    const href = new URL(await again.getAttribute('href'), stack.baseUrl);
    assert.equal(href.pathname, '/requests');
    assert.equal(href.searchParams.get('profile'), 'payments-debug');
    assert.equal(href.searchParams.get('namespace'), 'payments');
    assert.equal(href.searchParams.get('pod'), POD);
    assert.equal(href.searchParams.get('reason'), reason);
    assert.ok((await again.getAttribute('class')).includes('btn-primary'));
    assert.equal(await page.getAttribute('[data-testid=term-back-requests]', 'href'), '/requests');
    assert.equal(await page.locator('[data-testid=term-reconnect]').count(), 0);

    // The output stays readable: full opacity, no filter, nothing over it; and selectable.
    await page.waitForTimeout(100); // the refit after the panel appeared
    const r = await page.evaluate(readability);
    assert.deepEqual({ ...r, height: r.height > 100 }, { opacity: 1, filter: 'none', intersects: false, covered: 0, height: true });
    assert.match(await page.evaluate(bufferText), /^marker-before-the-end$/m);
    const selected = await page.evaluate(() => { window.__term.selectAll(); return window.__term.getSelection(); });
    assert.match(selected, /marker-before-the-end/);
    await page.evaluate(() => window.__term.clearSelection());
    // The scrollback scrolls with the mouse wheel over the terminal (nothing catches it).
    const box = await page.locator('[data-testid=terminal]').boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    const bottom = await page.evaluate(() => window.__term.buffer.active.viewportY);
    assert.ok(bottom > 0, 'there is scrollback');
    await page.mouse.wheel(0, -600);
    await page.waitForFunction((bottom) => window.__term.buffer.active.viewportY < bottom, bottom);
    await page.evaluate(() => window.__term.scrollToBottom());
    // After the end a plain Tab leaves the terminal too (nothing to complete any more).
    await page.click('[data-testid=terminal]');
    await page.keyboard.press('Tab');
    assert.ok(!(await page.evaluate(focusInTerminal)), 'after the end Tab leaves the terminal');

    await page.screenshot({ path: join(artifacts, 'terminal-revoked-1280x800.png') });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(100);
    const small = await page.evaluate(readability);
    assert.deepEqual({ ...small, height: small.height > 100 }, { opacity: 1, filter: 'none', intersects: false, covered: 0, height: true });
    await page.screenshot({ path: join(artifacts, 'terminal-revoked-390x844.png'), fullPage: true });

    // "Request again" opens the new-request form prefilled; the terminal's title goes with it.
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.click('[data-testid=term-request-again]');
    await page.waitForURL((u) => u.pathname === '/requests');
    await page.waitForFunction((reason) => document.querySelector('[data-testid=reason]')?.value === reason, reason);
    await page.waitForFunction(() => !document.title.includes('ended'));
    assert.deepEqual(alice.errors, []);
  } finally {
    await alice.ctx.close();
    await bob.ctx.close();
  }
});

test('an expired terminal drops its warning and countdown and offers Request again', async () => {
  const alice = await newBrowser();
  const reason = 'INC-4243 e2e short grant';
  try {
    await loginAs(alice.page, stack.baseUrl, 'alice', 'alice-pw');
    // Shorter than the 60 s warning: the warning shows at once, then the grant expires.
    const grant = await requestGrant(alice.page, 'payments-debug', reason, 8);
    assert.ok(grant, 'the request should be auto-approved');
    const page = alice.page;
    await page.goto(`${stack.baseUrl}/grants/${grant}/pods/payments/${POD}`);
    await page.locator('[data-testid=term-notice]').waitFor({ timeout: 10000 });
    assert.match(await page.title(), new RegExp(`^${POD} · <1m left — Keyhole$`));

    const ended = page.locator('[data-testid=term-ended]');
    await ended.waitFor({ timeout: 15000 });
    assert.equal(await ended.getAttribute('data-reason'), 'expired');
    assert.match(await ended.textContent(), /The grant has expired/);
    assert.match(await page.textContent('[data-testid=term-ended-who]'), /^The grant ended at \d\d:\d\d, as approved\.$/);
    assert.equal(await page.locator('[data-testid=term-notice]').count(), 0);
    assert.equal(await page.locator('[data-testid=term-left]').count(), 0);
    await page.waitForFunction((pod) => document.title === `${pod} · ended — Keyhole`, POD);
    const again = page.locator('[data-testid=term-request-again]');
    await again.waitFor();
    const href = new URL(await again.getAttribute('href'), stack.baseUrl);
    assert.deepEqual(Object.fromEntries(href.searchParams),
      { profile: 'payments-debug', namespace: 'payments', pod: POD, reason });
    assert.equal(await page.locator('[data-testid=term-reconnect]').count(), 0);
    await page.screenshot({ path: join(artifacts, 'terminal-expired.png') });
    assert.deepEqual(alice.errors, []);
  } finally {
    await alice.ctx.close();
  }
});
