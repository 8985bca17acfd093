// The access journey in two real browsers: Alice (engineer) asks for payments-debug for 2h,
// which is over the on-call auto-approve limit, so it waits; Bob (lead), in a fresh browser,
// sees it appear in his queue without a reload and approves it with a comment; Alice's page
// shows the grant active with a countdown, also without a reload. No console errors.
// Screenshots go to end2end/artifacts/access-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startStack, newBrowser, loginAs, artifacts } from './harness.mjs';

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

const REASON = 'INC-4211 checkout returns 500s';

test('request, live approval by a lead, live grant with a countdown', async () => {
  const alice = await newBrowser();
  const bob = await newBrowser();
  try {
    // Bob first opens his queue, so the request must arrive live.
    await loginAs(bob.page, stack.baseUrl, 'bob', 'bob-pw');
    await bob.page.click('[data-testid=nav-approvals]');
    await bob.page.waitForSelector('[data-testid=queue-empty]');

    await loginAs(alice.page, stack.baseUrl, 'alice', 'alice-pw');
    await alice.page.click('[data-testid=nav-requests]');
    await alice.page.waitForSelector('[data-testid=request-form]');
    await alice.page.selectOption('[data-testid=profile-select]', 'payments-debug');
    // The slider is capped by the profile's maximum (2h): move it all the way.
    const max = await alice.page.$eval('[data-testid=duration-slider]', (el) => el.max);
    assert.equal(max, '7200');
    await alice.page.$eval('[data-testid=duration-slider]', (el) => {
      el.value = el.max;
      el.dispatchEvent(new Event('input', { bubbles: true }));
    });
    assert.equal(await alice.page.textContent('[data-testid=duration-label]'), '2h');
    assert.match(await alice.page.textContent('[data-testid=auto-hint]'), /needs 1 approval/);
    await alice.page.fill('[data-testid=reason]', REASON);
    await alice.page.click('[data-testid=submit-request]');
    await alice.page.waitForSelector('[data-testid=my-request][data-state=pending]');
    await alice.page.screenshot({ path: join(artifacts, 'access-pending.png') });

    // Bob's queue updates by itself (Server-Sent Events).
    const item = bob.page.locator('[data-testid=pending-item]', { hasText: REASON });
    await item.waitFor({ timeout: 5000 });
    await bob.page.screenshot({ path: join(artifacts, 'access-queue.png') });
    await item.locator('[data-testid=review-comment]').fill('Go ahead, ping me when done');
    await item.locator('[data-testid=approve]').click();
    await bob.page.waitForSelector('[data-testid=grant-item]');

    // Alice's page shows the active grant and its countdown without a reload.
    await alice.page.waitForSelector('[data-testid=my-request][data-state=active] [data-testid=countdown]', { timeout: 5000 });
    const first = await alice.page.textContent('[data-testid=countdown]');
    assert.match(first, /^(1h 59m|2h 00m) \d\ds$/);
    assert.match(await alice.page.textContent('[data-testid=review-note]'), /Go ahead/);
    await alice.page.waitForFunction(
      (before) => document.querySelector('[data-testid=countdown]')?.textContent !== before,
      first,
      { timeout: 3000 },
    );
    await alice.page.screenshot({ path: join(artifacts, 'access-granted.png') });
    await bob.page.screenshot({ path: join(artifacts, 'access-active-grants.png') });

    assert.deepEqual(alice.errors, []);
    assert.deepEqual(bob.errors, []);
  } finally {
    await alice.ctx.close();
    await bob.ctx.close();
  }
});

test('a lead revokes a grant and the holder sees it end live; auditors cannot approve', async () => {
  const alice = await newBrowser();
  const bob = await newBrowser();
  const carol = await newBrowser();
  try {
    await loginAs(alice.page, stack.baseUrl, 'alice', 'alice-pw');
    await alice.page.goto(`${stack.baseUrl}/requests`);
    await alice.page.waitForSelector('[data-testid=request-form]');
    // The default (30m) is within the on-call limit: approved at once.
    assert.match(await alice.page.textContent('[data-testid=auto-hint]'), /Approved at once/);
    await alice.page.fill('[data-testid=reason]', 'INC-4212 stuck ledger job');
    await alice.page.click('[data-testid=submit-request]');
    const mine = alice.page.locator('[data-testid=my-request]', { hasText: 'INC-4212' });
    await mine.locator('[data-testid=countdown]').waitFor();

    await loginAs(bob.page, stack.baseUrl, 'bob', 'bob-pw');
    await bob.page.goto(`${stack.baseUrl}/approvals`);
    const grant = bob.page.locator('[data-testid=grant-item]', { hasText: 'INC-4212' });
    await grant.locator('[data-testid=revoke-reason]').fill('incident handed over');
    await grant.locator('[data-testid=revoke]').click();
    await grant.waitFor({ state: 'detached' });

    // One status per request: it says revoked, by whom and why (no green "approved" left).
    await mine.locator('[data-testid=request-state]', { hasText: 'revoked' }).waitFor({ timeout: 5000 });
    assert.match(await mine.locator('[data-testid=status-detail]').textContent(), /revoked by .+ at \d\d:\d\d: incident handed over/);
    assert.equal(await mine.locator('.pill-ok').count(), 0, 'no green pill on a revoked request');
    await alice.page.screenshot({ path: join(artifacts, 'access-revoked.png') });

    await loginAs(carol.page, stack.baseUrl, 'carol', 'carol-pw');
    await carol.page.goto(`${stack.baseUrl}/approvals`);
    await carol.page.waitForSelector('[data-testid=not-allowed]');

    assert.deepEqual(alice.errors, []);
    assert.deepEqual(bob.errors, []);
    assert.deepEqual(carol.errors, []);
  } finally {
    await alice.ctx.close();
    await bob.ctx.close();
    await carol.ctx.close();
  }
});

test('a request narrowed to one pod gives a grant that covers only that pod', async () => {
  const alice = await newBrowser();
  try {
    await loginAs(alice.page, stack.baseUrl, 'alice', 'alice-pw');
    await alice.page.click('[data-testid=nav-requests]');
    await alice.page.waitForSelector('[data-testid=request-form]');
    await alice.page.selectOption('[data-testid=profile-select]', 'payments-debug');
    await alice.page.click('[data-testid=pod-scope] summary');
    await alice.page.selectOption('[data-testid=pod-namespace]', 'payments');
    await alice.page.fill('[data-testid=pod-name]', 'checkout-7d9f-abc12');
    await alice.page.fill('[data-testid=reason]', 'INC-4400 only the checkout pod');
    await alice.page.screenshot({ path: join(artifacts, 'access-pod-scope.png') });
    await alice.page.click('[data-testid=submit-request]');
    const mine = alice.page.locator('[data-testid=my-request][data-state=active]', { hasText: 'INC-4400' });
    await mine.waitFor({ timeout: 5000 });
    assert.equal(await mine.locator('[data-testid=request-pod]').textContent(), 'payments/checkout-7d9f-abc12');
    await mine.locator('[data-testid=open-pods]').click();
    await alice.page.waitForSelector('[data-testid=pod-row]');
    const pods = await alice.page.locator('[data-testid=pod-row]').allTextContents();
    assert.equal(pods.length, 1, `only the requested pod: ${pods}`);
    assert.match(pods[0], /checkout-7d9f-abc12/);
    assert.deepEqual(alice.errors, []);
  } finally {
    await alice.ctx.close();
  }
});
