// Test harness: starts the real oidc-provider IdP (end2end/idp/server.mjs),
// the keyhole server (target/debug/keyhole, dist/ built by Trunk) configured
// for it, and Debian's Chromium through playwright-core. Each piece gets a
// free loopback port; everything is stopped by its own pid in `stop()`.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, '..', '..');
export const artifacts = join(root, 'end2end', 'artifacts');
/** Cargo's target directory (honours CARGO_TARGET_DIR, like cargo). */
const targetDir = process.env.CARGO_TARGET_DIR ? resolve(root, process.env.CARGO_TARGET_DIR) : join(root, 'target');
mkdirSync(artifacts, { recursive: true });

export const CLIENT_ID = 'keyhole';
export const CLIENT_SECRET = 'keyhole-test-secret';

/** A free TCP port on 127.0.0.1. */
export async function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** Spawns a process and resolves once a line of its output matches `ready`. */
function startProcess(cmd, args, { env, cwd, ready, name, timeoutMs = 30000 }) {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`${name} did not become ready in ${timeoutMs} ms:\n${log}`));
    }, timeoutMs);
    const onData = (d) => {
      log += d.toString();
      if (ready.test(log)) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        child.stderr.off('data', onData);
        // Keep draining so the pipes never fill up; keep the log for failures.
        child.stdout.on('data', (x) => { child.log += x; });
        child.stderr.on('data', (x) => { child.log += x; });
        res(child);
      }
    };
    child.log = '';
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', (e) => {
      clearTimeout(timer);
      rej(new Error(`${name} could not be started: ${e.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`${name} exited early (code ${code}):\n${log}`));
    });
  });
}

/** Starts the IdP and Keyhole. Returns { baseUrl, issuer, stop }. */
export async function startStack({ tokenTtl } = {}) {
  const idpPort = await freePort();
  const khPort = await freePort();
  const baseUrl = `http://127.0.0.1:${khPort}`;
  const issuer = `http://127.0.0.1:${idpPort}`;
  const idp = await startProcess('node', [join(root, 'end2end', 'idp', 'server.mjs')], {
    name: 'idp',
    ready: /idp ready/,
    env: {
      IDP_ISSUER: issuer,
      IDP_CLIENT_ID: CLIENT_ID,
      IDP_CLIENT_SECRET: CLIENT_SECRET,
      IDP_REDIRECT_URIS: `${baseUrl}/auth/callback`,
      IDP_POST_LOGOUT_REDIRECT_URIS: `${baseUrl}/login?signed_out=1`,
      ...(tokenTtl ? { IDP_TOKEN_TTL: String(tokenTtl) } : {}),
    },
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'keyhole-e2e-'));
  let keyhole;
  try {
    // --dev: devstack's embedded cluster stands in for [kubernetes]; [oidc] is the real IdP above.
    keyhole = await startProcess(join(targetDir, 'debug', 'keyhole'), ['serve', '--dev'], {
      name: 'keyhole',
      ready: /keyhole listening/,
      cwd: root,
      env: {
        KEYHOLE_LISTEN: `127.0.0.1:${khPort}`,
        KEYHOLE_PUBLIC_URL: baseUrl,
        KEYHOLE_DATA_DIR: dataDir,
        KEYHOLE_DIST_DIR: join(root, 'dist'),
        KEYHOLE_OIDC_ISSUER: issuer,
        KEYHOLE_OIDC_CLIENT_ID: CLIENT_ID,
        KEYHOLE_OIDC_CLIENT_SECRET: CLIENT_SECRET,
        NO_COLOR: '1',
      },
    });
  } catch (e) {
    idp.kill('SIGTERM');
    throw e;
  }
  return {
    baseUrl,
    issuer,
    keyholeLog: () => keyhole.log,
    async stop() {
      for (const p of [keyhole, idp]) {
        if (p.exitCode === null) {
          const gone = new Promise((r) => p.once('exit', r));
          p.kill('SIGTERM');
          await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
          if (p.exitCode === null) p.kill('SIGKILL');
        }
      }
    },
  };
}

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Console messages that are expected noise (see docs/development.md, Pitfall 11). */
const NOISE = [/GPU stall due to ReadPixels/, /integrity.*preload/i, /GL Driver Message/];

/** A fresh browser (own profile, so no IdP session leaks between users). */
export async function newBrowser() {
  const profile = mkdtempSync(join(tmpdir(), 'pw-profile-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
  });
  const page = ctx.pages()[0] ?? await ctx.newPage();
  const errors = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !NOISE.some((n) => n.test(m.text()))) errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  return { ctx, page, errors };
}

/** Logs in through the IdP's form. Expects to start on Keyhole's login page. */
export async function loginAs(page, baseUrl, user, password) {
  await page.goto(`${baseUrl}/login`);
  await page.click('[data-testid=login-button]');
  await page.waitForSelector('#username');
  await page.fill('#username', user);
  await page.fill('#password', password);
  await page.click('#login-submit');
  await page.waitForURL((u) => u.toString().startsWith(baseUrl));
  await page.waitForSelector('[data-testid=user-name]');
}

/**
 * Requests `profile` from inside the signed-in page (the app's own API, with its CSRF token)
 * and returns the grant id when policy approves it at once (else undefined).
 */
export async function requestGrant(page, profile, reason, durationSeconds) {
  return page.evaluate(async ([profile, reason, durationSeconds]) => {
    const me = await (await fetch('/api/me')).json();
    const res = await fetch('/api/requests', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Keyhole-CSRF': me.csrf_token },
      body: JSON.stringify({ profile, reason, duration_seconds: durationSeconds }),
    });
    return (await res.json()).grant?.id;
  }, [profile, reason, durationSeconds]);
}
