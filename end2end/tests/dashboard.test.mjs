// The daily pages as each role sees them: the dashboard (your access, requests waiting for a
// lead, an auditor's recent sessions), the request form (presets, "ends at", inline validation,
// prefill from a "Request again" link), one status per request, and a lead's context and
// confirmation when deciding. Screenshots (1280×800 and 390×844) go to end2end/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startStack, newBrowser, loginAs, requestGrant, artifacts } from './harness.mjs';

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

/** Screenshots of the current page at desktop and phone width. */
async function shots(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(100);
  await page.screenshot({ path: join(artifacts, `${name}-390.png`), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });
}

test('the dashboard shows each role what needs them, and cards lead there', async () => {
  const alice = await newBrowser();
  const bob = await newBrowser();
  const carol = await newBrowser();
  try {
    await loginAs(alice.page, stack.baseUrl, 'alice', 'alice-pw');
    await alice.page.waitForSelector('[data-testid=no-access]');
    // One active grant (auto-approved) and one pending request.
    await requestGrant(alice.page, 'payments-debug', 'INC-5001 dashboard active', 900);
    await requestGrant(alice.page, 'payments-debug', 'INC-5002 dashboard pending', 7200);
    await alice.page.waitForSelector('[data-testid=active-grant-card] [data-testid=dashboard-countdown]');
    await alice.page.waitForSelector('[data-testid=pending-card]');
    await shots(alice.page, 'dashboard-engineer');

    await loginAs(bob.page, stack.baseUrl, 'bob', 'bob-pw');
    const waiting = bob.page.locator('[data-testid=card-waiting] [data-testid=waiting-count]');
    await waiting.filter({ hasText: /1 request waits/ }).waitFor();
    await shots(bob.page, 'dashboard-lead');
    await bob.page.click('[data-testid=card-waiting]');
    await bob.page.waitForURL(/\/approvals$/);

    await loginAs(carol.page, stack.baseUrl, 'carol', 'carol-pw');
    await carol.page.waitForSelector('[data-testid=card-sessions]');
    await shots(carol.page, 'dashboard-auditor');
    for (const b of [alice, bob, carol]) assert.deepEqual(b.errors, []);
  } finally {
    await Promise.all([alice.ctx.close(), bob.ctx.close(), carol.ctx.close()]);
  }
});

test('the request form: presets, ends-at, inline validation, prefill; a lead decides with context', async () => {
  const alice = await newBrowser();
  const bob = await newBrowser();
  try {
    await loginAs(alice.page, stack.baseUrl, 'alice', 'alice-pw');
    const link = '/requests?profile=payments-debug&namespace=payments&pod=checkout-7d9f-abc12&reason=INC-5100%20again';
    await alice.page.goto(`${stack.baseUrl}${link}`);
    await alice.page.waitForSelector('[data-testid=request-form]');
    assert.equal(await alice.page.inputValue('[data-testid=profile-select]'), 'payments-debug');
    assert.equal(await alice.page.inputValue('[data-testid=pod-name]'), 'checkout-7d9f-abc12');
    assert.equal(await alice.page.inputValue('[data-testid=reason]'), 'INC-5100 again');
    // Presets up to the profile's maximum; the last one is the maximum.
    const presets = await alice.page.locator('[data-testid=duration-preset]').allTextContents();
    assert.deepEqual(presets, ['15m', '30m', '1h', '2h (max)']);
    await alice.page.click('[data-testid=duration-preset] >> text=2h (max)');
    assert.equal(await alice.page.textContent('[data-testid=duration-label]'), '2h');
    assert.match(await alice.page.textContent('[data-testid=ends-at]'), /ends at \d\d:\d\d/);
    assert.match(await alice.page.textContent('[data-testid=auto-hint]'), /needs 1 approval\./);
    assert.match(await alice.page.textContent('[data-testid=profile-namespaces]'), /payments/);

    // An empty reason: the button stays enabled and says why inline.
    await alice.page.fill('[data-testid=reason]', '');
    assert.equal(await alice.page.isEnabled('[data-testid=submit-request]'), true);
    await alice.page.click('[data-testid=submit-request]');
    assert.match(await alice.page.textContent('[data-testid=reason-error]'), /Say why/);
    assert.equal(await alice.page.evaluate(() => document.activeElement?.id), 'reason');
    await alice.page.fill('[data-testid=reason]', 'INC-5100 again');
    await alice.page.click('[data-testid=submit-request]');
    await alice.page.waitForSelector('[data-testid=request-sent]');
    await alice.page.waitForSelector('[data-testid=my-request][data-state=pending]');
    await shots(alice.page, 'requests-pending');

    await loginAs(bob.page, stack.baseUrl, 'bob', 'bob-pw');
    await bob.page.goto(`${stack.baseUrl}/approvals`);
    // By its own reason (other items' context lists this request too).
    const item = bob.page.locator('[data-testid=pending-item]')
      .filter({ has: bob.page.locator('[data-testid=pending-reason]', { hasText: 'INC-5100' }) });
    await item.locator('[data-testid=review-context] summary').click();
    assert.match(await item.locator('[data-testid=profile-facts]').textContent(), /keyhole:payments-debug/);
    await item.locator('[data-testid=recent-requests]').waitFor();
    await shots(bob.page, 'approvals-context');
    await item.locator('[data-testid=approve]').click();
    assert.match(await bob.page.textContent('[data-testid=decision]'), /Approved: .+ has payments-debug until \d\d:\d\d/);

    // The "sent for approval" notice goes once decided; the request is active.
    await alice.page.waitForSelector('[data-testid=my-request][data-state=active]', { timeout: 5000 });
    await alice.page.waitForSelector('[data-testid=request-sent]', { state: 'detached', timeout: 5000 });
    for (const b of [alice, bob]) assert.deepEqual(b.errors, []);
  } finally {
    await Promise.all([alice.ctx.close(), bob.ctx.close()]);
  }
});
