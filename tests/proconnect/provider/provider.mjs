// A local OpenID Connect provider that answers like ProConnect, for Clausier's tests only (issue 17).
//
//   node provider.mjs config.json          (or OIDC_PROVIDER_CONFIG='{"…"}' node provider.mjs)
//
// Built on `oidc-provider` (a certified OpenID Provider). It listens on 127.0.0.1 only, its issuer is
// http://127.0.0.1:<port>, and it keeps everything in memory. README.md beside this file documents the
// configuration, the accounts, the login page and the test endpoints under /__test__/.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';

import Provider from 'oidc-provider';

// --- Configuration ---------------------------------------------------------------------------------------

function loadConfig() {
  const path = process.argv[2];
  if (path) return JSON.parse(fs.readFileSync(path, 'utf8'));
  if (process.env.OIDC_PROVIDER_CONFIG) return JSON.parse(process.env.OIDC_PROVIDER_CONFIG);
  console.error('usage: node provider.mjs config.json   (or OIDC_PROVIDER_CONFIG=<json> node provider.mjs)');
  process.exit(2);
}

const config = loadConfig();
const HOST = '127.0.0.1';
const CLAIM_NAMES = ['email', 'given_name', 'usual_name', 'siret', 'uid', 'idp_id'];
// The acr values ProConnect announces (https://proconnect.gouv.fr/assurance/…) plus eIDAS 1.
const ACR_VALUES = [
  'eidas1',
  'https://proconnect.gouv.fr/assurance/self-asserted',
  'https://proconnect.gouv.fr/assurance/self-asserted-2fa',
  'https://proconnect.gouv.fr/assurance/consistency-checked',
  'https://proconnect.gouv.fr/assurance/consistency-checked-2fa',
];
const ROUTES = {
  // ProConnect's own paths; clients find them in the discovery document anyway.
  authorization: '/api/v2/authorize',
  token: '/api/v2/token',
  userinfo: '/api/v2/userinfo',
  jwks: '/api/v2/jwks',
  end_session: '/api/v2/session/end',
};

const client = {
  client_id: config.client.client_id,
  client_secret: config.client.client_secret,
  redirect_uris: config.client.redirect_uris,
  post_logout_redirect_uris: config.client.post_logout_redirect_uris ?? [],
  token_endpoint_auth_method: config.client.token_endpoint_auth_method ?? 'client_secret_post',
  response_types: ['code'],
  grant_types: ['authorization_code'],
  id_token_signed_response_alg: 'RS256',
  userinfo_signed_response_alg: 'RS256',
  client_name: config.client.client_name ?? config.client.client_id,
};
const requireNonce = config.require_nonce ?? true;
const requireState = config.require_state ?? true;
const logoutAutoConfirm = config.logout_auto_confirm ?? true;
const cookieKeys = [crypto.randomBytes(32).toString('base64url')];

// --- Mutable test state (changed through /__test__/…) ----------------------------------------------------

const initialAccounts = structuredClone(config.accounts ?? []);
let accounts = structuredClone(initialAccounts);
let next = null; // what the next authorization does instead of asking (see README: POST /__test__/config)
let keyCounter = 0;
let signingKeys = [newKey()];
let requestLog = [];
const MAX_LOG = 1000;

function newKey() {
  keyCounter += 1;
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: `clef-${keyCounter}-${crypto.randomBytes(4).toString('hex')}`, alg: 'RS256', use: 'sig' };
}

function findAccountByLogin(login) {
  const wanted = String(login ?? '').trim().toLowerCase();
  if (!wanted) return undefined;
  return accounts.find((a) => a.email?.toLowerCase() === wanted || a.sub?.toLowerCase() === wanted);
}

function findAccountBySub(sub) {
  return accounts.find((a) => a.sub === sub);
}

// --- HTML (French, self-contained: no outside resource, the tests have no network) -----------------------

const escapeHtml = (value) => String(value ?? '').replace(/[&<>"']/g, (c) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
}[c]));

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} – ProConnect (fournisseur de test)</title>
<style>body{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}label,input,button{display:block;margin:.5rem 0}input{width:100%;padding:.4rem}.erreur{color:#b00}</style>
</head>
<body>
<main>
<p>ProConnect — fournisseur d'identité de test</p>
<h1>${escapeHtml(title)}</h1>
${body}
</main>
</body>
</html>`;
}

function loginPage(uid, { clientName, loginHint, error }) {
  return page('Connexion', `
<p>Application : <strong>${escapeHtml(clientName)}</strong></p>
${error ? `<p class="erreur" role="alert" id="erreur">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login" id="connexion">
  <label for="login">Adresse électronique</label>
  <input id="login" name="login" type="text" inputmode="email" autocomplete="username" required autofocus value="${escapeHtml(loginHint)}">
  <button type="submit" id="se-connecter">Se connecter</button>
</form>
<form method="post" action="/interaction/${escapeHtml(uid)}/abort" id="annulation">
  <button type="submit" id="annuler">Annuler</button>
</form>`);
}

// --- The provider ----------------------------------------------------------------------------------------

function send(res, status, body, type = 'text/html; charset=utf-8') {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}

function buildProvider(issuer) {
  const provider = new Provider(issuer, {
    clients: [client],
    jwks: { keys: signingKeys },
    cookies: { keys: cookieKeys },
    routes: ROUTES,
    responseTypes: ['code'],
    pkce: { required: () => true },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 3600,
      Grant: 86400,
      Session: 86400,
    },
    acrValues: ACR_VALUES,
    claims: {
      acr: null,
      amr: null,
      sid: null,
      auth_time: null,
      iss: null,
      // Like ProConnect, every ID token says how the user logged in (acr, amr), asked for or not.
      openid: ['sub', 'acr', 'amr', 'auth_time'],
      ...Object.fromEntries(CLAIM_NAMES.map((name) => [name, [name]])),
    },
    async findAccount(ctx, sub) {
      const account = findAccountBySub(sub);
      if (!account) return undefined;
      return {
        accountId: account.sub,
        async claims() {
          const claims = { sub: account.sub };
          for (const name of CLAIM_NAMES) {
            if (account[name] !== undefined && account[name] !== null) claims[name] = account[name];
          }
          return claims;
        },
      };
    },
    interactions: {
      url(ctx, interaction) {
        return `/interaction/${interaction.uid}`;
      },
    },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      jwtUserinfo: { enabled: true },
      claimsParameter: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.body = page('Déconnexion', `
${form}
<p>Voulez-vous vous déconnecter de ProConnect ?</p>
<button type="submit" form="op.logoutForm" name="logout" value="yes" id="se-deconnecter">Se déconnecter</button>
${logoutAutoConfirm ? '<script>document.getElementById("se-deconnecter").click();</script>' : ''}`);
        },
        async postLogoutSuccessSource(ctx) {
          ctx.body = page('Déconnexion réussie', '<p>Vous êtes déconnecté de ProConnect.</p>');
        },
      },
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('Erreur', Object.entries(out)
        .map(([key, value]) => `<p><strong>${escapeHtml(key)}</strong> : <span class="${escapeHtml(key)}">${escapeHtml(value)}</span></p>`)
        .join('\n'));
    },
  });
  provider.on('server_error', (ctx, error) => console.error('server_error', error));
  return provider;
}

let issuer;
let provider;
let handle;

function install() {
  provider = buildProvider(issuer);
  handle = provider.callback();
}

// --- Interactions: the login page, the automatic consent, the scripted answers ---------------------------

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function readForm(req) {
  return Object.fromEntries(new URLSearchParams(await readBody(req)));
}

async function readJson(req) {
  const text = await readBody(req);
  return text.trim() ? JSON.parse(text) : {};
}

function requestedClaims(params) {
  if (!params.claims) return [];
  try {
    const claims = typeof params.claims === 'string' ? JSON.parse(params.claims) : params.claims;
    return [...new Set([...Object.keys(claims.id_token ?? {}), ...Object.keys(claims.userinfo ?? {})])];
  } catch {
    return [];
  }
}

async function finishLogin(req, res, details, account, overrides = {}) {
  const { params } = details;
  const grant = new provider.Grant({ accountId: account.sub, clientId: params.client_id });
  grant.addOIDCScope(params.scope);
  const claims = requestedClaims(params);
  if (claims.length) grant.addOIDCClaims(claims);
  const grantId = await grant.save();
  const login = { accountId: account.sub, remember: true };
  const acr = overrides.acr ?? account.acr;
  const amr = overrides.amr ?? account.amr;
  if (acr) login.acr = acr;
  if (amr) login.amr = amr;
  await provider.interactionFinished(req, res, { login, consent: { grantId } }, { mergeWithLastSubmission: false });
}

async function autoConsent(req, res, details) {
  const { params, prompt, session } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

async function interaction(req, res, url) {
  const match = url.pathname.match(/^\/interaction\/([^/]+)(?:\/(login|abort))?$/);
  if (!match) return send(res, 404, page('Page introuvable', ''));
  const [, uid, action] = match;
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (error) {
    return send(res, 400, page('Erreur', `<p>Session de connexion expirée ou inconnue (${escapeHtml(error.message)}).</p>`));
  }
  if (details.uid !== uid) return send(res, 400, page('Erreur', '<p>Session de connexion inconnue.</p>'));

  if (!action && req.method === 'GET') {
    if (next) {
      const scripted = next;
      next = null;
      if (scripted.error) {
        const result = { error: scripted.error };
        if (scripted.error_description) result.error_description = scripted.error_description;
        return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
      }
      if (scripted.login) {
        const account = findAccountByLogin(scripted.login);
        if (!account) return send(res, 400, page('Erreur', `<p>Compte scripté inconnu : ${escapeHtml(scripted.login)}</p>`));
        return finishLogin(req, res, details, account, scripted);
      }
    }
    if (details.prompt.name === 'consent') return autoConsent(req, res, details);
    return send(res, 200, loginPage(uid, {
      clientName: client.client_name,
      loginHint: details.params.login_hint ?? '',
    }));
  }
  if (req.method !== 'POST') return send(res, 405, page('Méthode non permise', ''));

  if (action === 'abort') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: "L'utilisateur a annulé la connexion.",
    }, { mergeWithLastSubmission: false });
  }
  if (action === 'login') {
    const form = await readForm(req);
    const account = findAccountByLogin(form.login);
    if (!account) {
      return send(res, 200, loginPage(uid, {
        clientName: client.client_name,
        loginHint: form.login ?? '',
        error: `Aucun compte ProConnect de test pour « ${form.login ?? ''} ».`,
      }));
    }
    return finishLogin(req, res, details, account);
  }
  return send(res, 404, page('Page introuvable', ''));
}

// --- Test endpoints ---------------------------------------------------------------------------------------

function state() {
  return {
    issuer,
    kids: signingKeys.map((k) => k.kid),
    signing_kid: signingKeys[0].kid,
    next,
    accounts,
    log: requestLog,
  };
}

async function testEndpoint(req, res, url) {
  const json = (status, body) => send(res, status, JSON.stringify(body), 'application/json');
  if (req.method === 'GET' && url.pathname === '/__test__/state') return json(200, state());
  if (req.method !== 'POST') return json(405, { error: 'POST attendu' });
  let body;
  try {
    body = await readJson(req);
  } catch (error) {
    return json(400, { error: `JSON invalide : ${error.message}` });
  }
  switch (url.pathname) {
    case '/__test__/rotate-keys': {
      const key = newKey();
      signingKeys = body.retain_previous ? [key, ...signingKeys.map(verifyOnly)] : [key];
      install();
      return json(200, state());
    }
    case '/__test__/config': {
      if ('next' in body) next = body.next ?? null;
      if (Array.isArray(body.accounts)) {
        for (const account of body.accounts) {
          accounts = accounts.filter((a) => a.sub !== account.sub && a.email?.toLowerCase() !== account.email?.toLowerCase());
          accounts.push(account);
        }
      }
      return json(200, state());
    }
    case '/__test__/reset': {
      next = null;
      accounts = structuredClone(initialAccounts);
      requestLog = [];
      return json(200, state());
    }
    default:
      return json(404, { error: 'point de test inconnu' });
  }
}

function verifyOnly(jwk) {
  // A retained previous key stays published in the JWKS (tokens it signed still verify) but no longer signs:
  // oidc-provider picks a signing key among those whose key_ops allow "sign".
  return { ...jwk, key_ops: ['verify'] };
}

// --- The server -------------------------------------------------------------------------------------------

async function serve(req, res) {
  const url = new URL(req.url, issuer);
  if (url.pathname.startsWith('/__test__/')) return testEndpoint(req, res, url);

  const entry = { method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams) };
  res.on('finish', () => {
    entry.status = res.statusCode;
    requestLog.push(entry);
    if (requestLog.length > MAX_LOG) requestLog.shift();
  });

  if (url.pathname.startsWith('/interaction/')) return interaction(req, res, url);

  if (url.pathname === ROUTES.authorization && req.method === 'GET') {
    const missing = [];
    if (requireState && !url.searchParams.get('state')) missing.push('state');
    if (requireNonce && !url.searchParams.get('nonce')) missing.push('nonce');
    if (missing.length) {
      return send(res, 400, page('Erreur', `<p><strong>error</strong> : <span class="error">invalid_request</span></p>
<p><strong>error_description</strong> : <span class="error_description">paramètre obligatoire manquant : ${escapeHtml(missing.join(', '))}</span></p>`));
    }
    if (next) {
      // A scripted answer needs an interaction even when the browser already has a session here.
      url.searchParams.set('prompt', 'login');
      req.url = `${url.pathname}?${url.searchParams}`;
    }
  }
  return handle(req, res);
}

const server = http.createServer((req, res) => {
  serve(req, res).catch((error) => {
    console.error(error);
    if (!res.headersSent) send(res, 500, page('Erreur interne', `<pre>${escapeHtml(error.stack)}</pre>`));
  });
});

server.listen(config.port ?? 0, HOST, () => {
  const { port } = server.address();
  issuer = `http://${HOST}:${port}`;
  install();
  const ready = { port, issuer, pid: process.pid };
  if (config.ready_file) fs.writeFileSync(config.ready_file, JSON.stringify(ready));
  console.log(`ProConnect de test prêt : ${issuer}`);
});

// Stop with the parent: the fixture keeps our stdin open, and it closes when the test process dies.
if (config.exit_on_stdin_close) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
