// The lead's "watch and revoke" journey: Alice has a shell open; Bob (a payments lead) sees it
// on the Sessions page, revokes its grant there with a reason, and Alice's terminal ends at
// once with that reason. Screenshots: end2end/artifacts/sessions-open.png, sessions-revoked.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startStack, newBrowser, loginAs, requestGrant, artifacts } from './harness.mjs';

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

test('a lead sees an open session and revokes it from the Sessions page', async () => {
  const alice = await newBrowser();
  const bob = await newBrowser();
  try {
    await loginAs(alice.page, stack.baseUrl, 'alice', 'alice-pw');
    const grant = await requestGrant(alice.page, 'payments-debug', 'INC-4300 e2e sessions', 1800);
    assert.ok(grant, 'the request should be auto-approved');
    await alice.page.goto(`${stack.baseUrl}/grants/${grant}/pods/payments/checkout-7d9f-abc12`);
    await alice.page.waitForFunction(
      () => document.querySelector('[data-testid=term-status]')?.textContent === 'connected',
      null, { timeout: 10000 });

    // Alice sees her own session on the Sessions page (no "everyone" switch for her).
    const own = await newBrowser();
    try {
      await loginAs(own.page, stack.baseUrl, 'alice', 'alice-pw');
      await own.page.click('[data-testid=nav-sessions]');
      await own.page.locator('[data-testid=session-row][data-live=true]').first().waitFor();
      assert.equal(await own.page.locator('[data-testid=filter-everyone]').count(), 0);
    } finally {
      await own.ctx.close();
    }

    await loginAs(bob.page, stack.baseUrl, 'bob', 'bob-pw');
    await bob.page.click('[data-testid=nav-sessions]');
    const row = bob.page.locator('[data-testid=session-row][data-live=true]', { hasText: 'Alice Engineer' });
    await row.waitFor({ timeout: 10000 });
    assert.match(await row.textContent(), /payments\/checkout-7d9f-abc12/);
    assert.equal(await row.locator('[data-testid=session-state]').textContent(), 'open');
    // The filter narrows the list as one types.
    await bob.page.fill('[data-testid=filter-text]', 'no-such-pod');
    await bob.page.waitForFunction(() => document.querySelectorAll('[data-testid=session-row]').length === 0);
    await bob.page.fill('[data-testid=filter-text]', 'checkout');
    await row.waitFor();
    await bob.page.screenshot({ path: join(artifacts, 'sessions-open.png') });

    await row.locator('[data-testid=revoke-reason]').fill('INC-4300 over: revoked from Sessions');
    await row.locator('[data-testid=revoke]').click();

    // Alice's terminal ends with Bob's reason; Bob's list shows the session ended.
    await alice.page.waitForSelector('[data-testid=term-ended]', { timeout: 5000 });
    assert.match(await alice.page.textContent('[data-testid=term-ended]'), /revoked from Sessions/);
    const ended = bob.page.locator('[data-testid=session-row][data-live=false]', { hasText: 'Alice Engineer' });
    await ended.waitFor({ timeout: 10000 });
    assert.match(await ended.locator('[data-testid=session-state]').textContent(), /revoked|grant ended/);
    await bob.page.screenshot({ path: join(artifacts, 'sessions-revoked.png') });
  } finally {
    await alice.ctx.close();
    await bob.ctx.close();
  }
});
