// The terminal journey: Alice gets an auto-approved grant (through the API, from the page, as
// the UI would), goes Pods → her grant → the pod picker, opens a shell in the checkout pod, types a command and
// sees the pod's own output in xterm.js (read through the `window.__term` test hook).
// Screenshot: end2end/artifacts/terminal.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startStack, newBrowser, loginAs, requestGrant, artifacts } from './harness.mjs';

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
