// Smoke test of the test IdP: `node --test` in end2end/idp (after `npm ci`).
// Starts server.mjs on a free port, checks discovery and JWKS, and walks one
// code flow with plain fetch (the browser suite exercises the rest).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const REDIRECT = 'http://127.0.0.1:8080/auth/callback';
let idp;
let issuer;

async function freePort() {
  const srv = net.createServer().listen(0, '127.0.0.1');
  await new Promise((ok) => srv.once('listening', ok));
  const { port } = srv.address();
  await new Promise((ok) => srv.close(ok));
  return port;
}

before(async () => {
  issuer = `http://127.0.0.1:${await freePort()}`;
  idp = spawn(process.execPath, [fileURLToPath(new URL('server.mjs', import.meta.url))], {
    env: { ...process.env, IDP_ISSUER: issuer },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((ok, fail) => {
    let out = '';
    idp.stdout.on('data', (d) => {
      out += d;
      if (out.includes(`idp ready ${issuer}`)) ok();
    });
    idp.once('exit', (code) => fail(new Error(`idp exited with ${code}: ${out}`)));
    setTimeout(() => fail(new Error(`idp not ready after 10 s: ${out}`)), 10_000).unref();
  });
});

after(async () => {
  if (idp.exitCode !== null) return;
  const exited = new Promise((ok) => idp.once('exit', ok));
  idp.kill('SIGTERM');
  assert.equal(await exited, 0, 'SIGTERM ends the IdP cleanly');
});

test('discovery and JWKS', async () => {
  const meta = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  assert.equal(meta.issuer, issuer);
  assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
  assert.equal(meta.authorization_response_iss_parameter_supported, true);
  const jwks = await (await fetch(meta.jwks_uri)).json();
  assert.equal(jwks.keys.length, 1);
  assert.equal(jwks.keys[0].alg, 'RS256');
  assert.ok(jwks.keys[0].kid);
  assert.equal(jwks.keys[0].d, undefined, 'no private key material in the JWKS');
});

// A tiny browser: follows nothing by itself, keeps cookies by name.
function browser() {
  const jar = new Map();
  return async (url, init = {}) => {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(new URL(url, issuer), { ...init, redirect: 'manual', headers: { ...init.headers, cookie } });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
    return res;
  };
}

async function startLogin(get) {
  const verifier = randomBytes(32).toString('base64url');
  const query = new URLSearchParams({
    client_id: 'keyhole', response_type: 'code', scope: 'openid profile email groups', redirect_uri: REDIRECT,
    state: 'st-1', nonce: 'n-1', code_challenge_method: 'S256',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
  });
  const auth = await get(`/auth?${query}`);
  assert.equal(auth.status, 303);
  const interaction = auth.headers.get('location');
  assert.match(interaction, /^\/interaction\//);
  const form = await get(interaction);
  assert.equal(form.status, 200);
  const html = await form.text();
  for (const id of ['username', 'password', 'login-submit', 'cancel']) assert.match(html, new RegExp(`id="${id}"`));
  assert.doesNotMatch(html, /https?:\/\/fonts/);
  return { interaction, verifier };
}

test('login with PKCE, wrong password, token with groups', async () => {
  const get = browser();
  const { interaction, verifier } = await startLogin(get);
  const post = (body) => get(`${interaction}/login`, {
    method: 'POST', body: new URLSearchParams(body),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  const wrong = await post({ username: 'dave', password: 'alice-pw' });
  assert.equal(wrong.status, 401);
  assert.match(await wrong.text(), /id="error"/);

  let res = await post({ username: 'dave', password: 'dave-pw' });
  while (res.status === 303 && !res.headers.get('location').startsWith(REDIRECT)) res = await get(res.headers.get('location'));
  const callback = new URL(res.headers.get('location'));
  assert.equal(callback.searchParams.get('state'), 'st-1');
  assert.equal(callback.searchParams.get('iss'), issuer);

  const token = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from('keyhole:keyhole-test-secret').toString('base64')}` },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code: callback.searchParams.get('code'), redirect_uri: REDIRECT, code_verifier: verifier,
    }),
  });
  assert.equal(token.status, 200);
  const { id_token: idToken } = await token.json();
  const [header, payload, signature] = idToken.split('.');
  const { keys: [jwk] } = await (await fetch(`${issuer}/jwks`)).json();
  assert.equal(JSON.parse(Buffer.from(header, 'base64url')).kid, jwk.kid);
  assert.ok(verify('sha256', Buffer.from(`${header}.${payload}`), createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(signature, 'base64url')));
  const claims = JSON.parse(Buffer.from(payload, 'base64url'));
  assert.equal(claims.nonce, 'n-1');
  assert.equal(claims.email, 'dave@example.test');
  assert.equal(claims.name, 'Dave Oncall-Lead');
  assert.deepEqual(claims.groups, ['oncall-payments', 'leads-payments']);
});

test('cancel returns access_denied', async () => {
  const get = browser();
  const { interaction } = await startLogin(get);
  let res = await get(`${interaction}/abort`);
  while (res.status === 303 && !res.headers.get('location').startsWith(REDIRECT)) res = await get(res.headers.get('location'));
  const callback = new URL(res.headers.get('location'));
  assert.equal(callback.searchParams.get('error'), 'access_denied');
  assert.equal(callback.searchParams.get('state'), 'st-1');
});
