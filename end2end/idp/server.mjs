// A real, third-party OpenID Connect provider for Keyhole's browser tests:
// panva's oidc-provider (OpenID Certified) with test users and our own small
// login, error and logout pages. TEST ONLY: the passwords below are public.
//
//   node end2end/idp/server.mjs        # prints "idp ready <issuer>" when listening
//
// Environment (all optional):
//   IDP_ISSUER                     http://127.0.0.1:9000 (host and port to listen on come from it)
//   IDP_CLIENT_ID                  keyhole
//   IDP_CLIENT_SECRET              keyhole-test-secret
//   IDP_REDIRECT_URIS              http://127.0.0.1:8080/auth/callback (comma-separated)
//   IDP_POST_LOGOUT_REDIRECT_URIS  http://127.0.0.1:8080/ (comma-separated)
//   IDP_TOKEN_TTL                  300 (seconds; ID and access tokens)
//   IDP_KEY_FILE                   unset: a new signing key per start; set: the key is
//                                  read from (or first written to) this file
// See docs/dev-idp.md.

import { generateKeyPairSync, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import Provider from 'oidc-provider';

const env = (name, fallback) => process.env[name] || fallback;
const list = (value) => value.split(',').map((s) => s.trim()).filter(Boolean);

const issuer = env('IDP_ISSUER', 'http://127.0.0.1:9000').replace(/\/+$/, '');
const issuerUrl = new URL(issuer);
const clientId = env('IDP_CLIENT_ID', 'keyhole');
const clientSecret = env('IDP_CLIENT_SECRET', 'keyhole-test-secret');
const redirectUris = list(env('IDP_REDIRECT_URIS', 'http://127.0.0.1:8080/auth/callback'));
const postLogoutRedirectUris = list(env('IDP_POST_LOGOUT_REDIRECT_URIS', 'http://127.0.0.1:8080/'));
const tokenTtl = Number.parseInt(env('IDP_TOKEN_TTL', '300'), 10);
if (!Number.isInteger(tokenTtl) || tokenTtl <= 0) throw new Error('IDP_TOKEN_TTL must be a positive number of seconds');

// Test users. `sub` is the username; the gateway keys people on email.
const USERS = Object.fromEntries([
  ['alice', 'Alice Engineer', ['oncall-payments']],
  ['bob', 'Bob Lead', ['leads-payments']],
  ['carol', 'Carol Auditor', ['auditors']],
  ['dave', 'Dave Oncall-Lead', ['oncall-payments', 'leads-payments']],
  ['erin', 'Erin Admin', ['platform-admins']],
].map(([username, name, groups]) => [username, {
  password: `${username}-pw`,
  claims: {
    sub: username, name, preferred_username: username,
    email: `${username}@example.test`, email_verified: true, groups,
  },
}]));

// An RS256 signing key: fresh per start, or persisted in IDP_KEY_FILE so tokens
// (and the gateway's cached JWKS) survive an IdP restart.
function signingKey() {
  const file = process.env.IDP_KEY_FILE;
  if (file && existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
  const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  // RFC 7638 thumbprint as kid, so a new key always has a new kid.
  const kid = createHash('sha256').update(JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n })).digest('base64url');
  const key = { ...jwk, kid, alg: 'RS256', use: 'sig' };
  if (file) writeFileSync(file, JSON.stringify(key), { mode: 0o600 });
  return key;
}

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const origins = [...new Set([...redirectUris, ...postLogoutRedirectUris].map((u) => new URL(u).origin))];
// Nothing loads from anywhere; forms (and the redirects they answer with) may
// only go to the IdP and the gateway.
const CSP = `default-src 'none'; style-src 'unsafe-inline'; form-action 'self' ${origins.join(' ')}; frame-ancestors 'none'; base-uri 'none'`;
const STYLE = 'body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}'
  + 'label,input,button{display:block;width:100%;box-sizing:border-box;margin-top:.5rem;font:inherit}'
  + 'input,button{padding:.5rem}#error{color:#b00020;font-weight:600}.banner{background:#fff3cd;padding:.5rem}';

function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>`
    + `<meta name="viewport" content="width=device-width,initial-scale=1"><style>${STYLE}</style></head><body>`
    + `<p class="banner">Keyhole test identity provider (oidc-provider). Test only.</p>${body}</body></html>`;
}

function send(res, status, html) {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': CSP,
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
  });
  res.end(html);
}

function loginForm(uid, { username = '', error } = {}) {
  return page('Sign in', `<h1>Sign in</h1>${error ? `<p id="error" role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login" autocomplete="off">
<label for="username">Username</label><input id="username" name="username" value="${escape(username)}" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" required>
<button id="login-submit" type="submit">Sign in</button></form>
<p><a id="cancel" href="/interaction/${escape(uid)}/abort">Cancel</a></p>`);
}

function passwordOk(user, given) {
  // Constant-time compare of digests: no timing hint about the password.
  const digest = (s) => createHash('sha256').update(String(s)).digest();
  return Boolean(user) && timingSafeEqual(digest(user.password), digest(given ?? ''));
}

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
    post_logout_redirect_uris: postLogoutRedirectUris,
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [signingKey()] },
  responseTypes: ['code'],
  pkce: { required: () => true },
  scopes: ['openid', 'profile', 'email', 'groups'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
    groups: ['groups'],
  },
  // Without this, scope-based claims go to userinfo only, not into the ID token.
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
  },
  cookies: {
    names: { session: 'idp_session', interaction: 'idp_interaction', resume: 'idp_interaction_resume' },
    keys: [randomBytes(32).toString('base64url')],
  },
  ttl: {
    AccessToken: tokenTtl,
    IdToken: tokenTtl,
    AuthorizationCode: 60,
    Interaction: 600,
    Session: 8 * 3600,
    Grant: 8 * 3600,
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    const user = USERS[sub];
    return user && { accountId: sub, claims: async () => ({ ...user.claims }) };
  },
  // Keyhole is the only, first-party client: grant its scopes without a consent page.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile email groups');
    await grant.save();
    return grant;
  },
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.set('content-security-policy', CSP);
    ctx.body = page('Sign-in error', `<h1>Sign-in error</h1><p id="error" role="alert"><code>${escape(out.error)}</code>: ${escape(out.error_description ?? '')}</p>`);
  },
});

// Logout asks for confirmation (oidc-provider's own CSRF defence); tests click #logout-confirm.
async function logoutSource(ctx, form) {
  ctx.set('content-security-policy', CSP);
  ctx.body = page('Sign out', `<h1>Sign out of the test IdP?</h1>${form}
<button id="logout-confirm" type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>
<button id="logout-cancel" type="submit" form="op.logoutForm">No, stay signed in</button>`);
}

async function postLogoutSuccessSource(ctx) {
  ctx.set('content-security-policy', CSP);
  ctx.body = page('Signed out', '<h1 id="signed-out">You are signed out</h1>');
}

provider.on('server_error', (ctx, err) => console.error('idp server_error:', err));

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10_000) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

// Our interaction routes; everything else is oidc-provider's.
const handleProvider = provider.callback();
async function handleInteraction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  const finish = (result) => provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });

  if (action === 'abort') {
    return finish({ error: 'access_denied', error_description: 'End-User aborted interaction' });
  }
  if (details.prompt.name !== 'login') {
    // Consent is granted by loadExistingGrant; any other prompt is unexpected.
    return finish({ error: 'access_denied', error_description: `unsupported prompt ${details.prompt.name}` });
  }
  if (action === undefined && req.method === 'GET') return send(res, 200, loginForm(uid));
  if (action === 'login' && req.method === 'POST') {
    const form = await readForm(req);
    const username = form.get('username') ?? '';
    if (!passwordOk(USERS[username], form.get('password'))) {
      return send(res, 401, loginForm(uid, { username, error: 'Wrong username or password.' }));
    }
    return finish({ login: { accountId: username } });
  }
  return send(res, 405, page('Not allowed', '<h1>Method not allowed</h1>'));
}

const server = http.createServer(async (req, res) => {
  const match = /^\/interaction\/([\w-]+)(?:\/(login|abort))?\/?$/.exec(req.url.split('?')[0]);
  if (!match) return handleProvider(req, res);
  try {
    await handleInteraction(req, res, match[1], match[2]);
  } catch (err) {
    // Expired or unknown interaction (e.g. a stale tab): say so, don't crash.
    send(res, 400, page('Sign-in error', `<h1>Sign-in error</h1><p id="error" role="alert">${escape(err.message)}</p>`));
  }
});

server.listen(Number(issuerUrl.port || 80), issuerUrl.hostname, () => {
  console.log(`idp ready ${issuer}`);
});

function stop(signal) {
  console.log(`idp stopping (${signal})`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
