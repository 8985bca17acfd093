// The app shell: home page loads with no console errors, security headers,
// SPA deep links, not-found page. Screenshots go to end2end/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startStack, newBrowser, artifacts } from './harness.mjs';

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

test('home page loads without console errors and asks to sign in', async () => {
  const { ctx, page, errors } = await newBrowser();
  try {
    const res = await page.goto(stack.baseUrl + '/');
    assert.equal(res.status(), 200);
    const csp = res.headers()['content-security-policy'];
    assert.match(csp, /frame-ancestors 'none'/);
    // Not signed in: the app sends the user to login, remembering the page.
    await page.waitForSelector('[data-testid=login-button]');
    assert.match(page.url(), /\/login\?return_to=%2F/);
    await page.screenshot({ path: join(artifacts, 'login.png') });
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
  }
});

test('unknown client route shows the not-found page', async () => {
  const { ctx, page, errors } = await newBrowser();
  try {
    const res = await page.goto(stack.baseUrl + '/no/such/page');
    assert.equal(res.status(), 404); // index.html with 404: the app shows its not-found page
    await page.waitForSelector('[data-testid=not-found]');
    await page.screenshot({ path: join(artifacts, 'not-found.png') });
    // Chromium logs the document's own 404 as a console error; nothing else may appear.
    assert.deepEqual(errors.filter((e) => !/status of 404/.test(e)), []);
  } finally {
    await ctx.close();
  }
});
