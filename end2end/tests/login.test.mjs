// Login journeys against the real oidc-provider (end2end/idp): a fresh
// browser profile per user, so no IdP session leaks between them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startStack, newBrowser, loginAs, artifacts } from './harness.mjs';

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

test('alice logs in through the IdP form and sees her name and role', async () => {
  const { ctx, page, errors } = await newBrowser();
  try {
    await loginAs(page, stack.baseUrl, 'alice', 'alice-pw');
    assert.equal(await page.textContent('[data-testid=user-name]'), 'Alice Engineer');
    assert.match(await page.textContent('[data-testid=user-roles]'), /engineer/);
    await page.waitForSelector('[data-testid=welcome]');
    assert.match(await page.textContent('[data-testid=groups]'), /oncall-payments/);
    await page.screenshot({ path: join(artifacts, 'home-alice.png') });
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
  }
});

test('bob (lead) and carol (auditor) get their roles', async () => {
  for (const [user, pw, role] of [['bob', 'bob-pw', /lead/], ['carol', 'carol-pw', /auditor/]]) {
    const { ctx, page } = await newBrowser();
    try {
      await loginAs(page, stack.baseUrl, user, pw);
      assert.match(await page.textContent('[data-testid=user-roles]'), role);
    } finally {
      await ctx.close();
    }
  }
});

test('a wrong password stays on the IdP with an error', async () => {
  const { ctx, page } = await newBrowser();
  try {
    await page.goto(`${stack.baseUrl}/login`);
    await page.click('[data-testid=login-button]');
    await page.waitForSelector('#username');
    await page.fill('#username', 'alice');
    await page.fill('#password', 'not-her-password');
    await page.click('#login-submit');
    await page.waitForSelector('#error');
    assert.ok(page.url().startsWith(stack.issuer), page.url());
    // No session was created at Keyhole.
    const me = await page.request.get(`${stack.baseUrl}/api/me`);
    assert.equal(me.status(), 401);
  } finally {
    await ctx.close();
  }
});

test('cancel at the IdP comes back with a clear message', async () => {
  const { ctx, page } = await newBrowser();
  try {
    await page.goto(`${stack.baseUrl}/login`);
    await page.click('[data-testid=login-button]');
    await page.waitForSelector('#cancel');
    await page.click('#cancel');
    await page.waitForSelector('[data-testid=login-error]');
    assert.match(await page.textContent('[data-testid=login-error]'), /cancelled/);
    assert.ok(page.url().startsWith(stack.baseUrl + '/login?error=access_denied'), page.url());
    await page.screenshot({ path: join(artifacts, 'login-cancelled.png') });
  } finally {
    await ctx.close();
  }
});

test('the page asked for is kept across login', async () => {
  const { ctx, page } = await newBrowser();
  try {
    await page.goto(`${stack.baseUrl}/no/such/page?x=1`);
    await page.waitForSelector('[data-testid=not-found]');
    await page.goto(`${stack.baseUrl}/login?return_to=${encodeURIComponent('/no/such/page?x=1')}`);
    await page.click('[data-testid=login-button]');
    await page.waitForSelector('#username');
    await page.fill('#username', 'carol');
    await page.fill('#password', 'carol-pw');
    await page.click('#login-submit');
    await page.waitForURL(`${stack.baseUrl}/no/such/page?x=1`);
  } finally {
    await ctx.close();
  }
});

test('logout ends the Keyhole session and the IdP session', async () => {
  const { ctx, page } = await newBrowser();
  try {
    await loginAs(page, stack.baseUrl, 'alice', 'alice-pw');
    await page.click('[data-testid=logout]');
    // RP-initiated logout may show the IdP's confirmation; accept it if so.
    await page.waitForURL((u) => u.toString().startsWith(stack.issuer) || u.toString().startsWith(stack.baseUrl + '/login'));
    if (page.url().startsWith(stack.issuer)) {
      await page.click('#logout-confirm');
    }
    await page.waitForSelector('[data-testid=signed-out]');
    const me = await page.request.get(`${stack.baseUrl}/api/me`);
    assert.equal(me.status(), 401);
    // Signing in again shows the IdP form (the IdP session ended too).
    await page.click('[data-testid=login-button]');
    await page.waitForSelector('#username');
  } finally {
    await ctx.close();
  }
});
