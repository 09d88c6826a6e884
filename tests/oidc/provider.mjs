// A real OpenID Provider for the test suite: the certified `oidc-provider` package, on loopback,
// with in-memory accounts and a sign-in that completes on its own.
//
//   node tests/oidc/provider.mjs [--port N] [--issuer URL]
//
// --port 0 (the default) takes any free port. When the server is ready it prints one JSON line
// on stdout: {"issuer": ..., "port": ..., "pid": ...}. It stops on SIGTERM/SIGINT, and when its
// stdin closes (so a test run that dies does not leave it behind).
//
// TEST-ONLY. Everything under /__test/ lets a test decide who signs in; it exists so that the
// portal's sign-in can be driven through the real /authorize, /token and ID token without a
// person typing a password. Never run this outside the test suite.
//
//   POST /__test/accounts    {sub, email, email_verified, name}  adds or replaces an account
//   POST /__test/next-login  {sub}                               authorizations sign in as
//                                                                 `sub` from now on (over a
//                                                                 provider session of another
//                                                                 account too), until another
//                                                                 is chosen
//   POST /__test/next-login  {error, error_description}          the next authorization is
//                                                                 refused with this error
//                                                                 (the person pressed "cancel")
//   POST /__test/reset       {}                                  forgets accounts and the
//                                                                 chosen next sign-in

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

// The package from node_modules, or the copy PORTAL_OIDC_PROVIDER_PACKAGE names (its folder).
const override = process.env.PORTAL_OIDC_PROVIDER_PACKAGE;
const { default: Provider, interactionPolicy } = await import(
  override ? pathToFileURL(join(override, 'lib', 'index.js')).href : 'oidc-provider'
);

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    issuer: { type: 'string' },
  },
});

const accounts = new Map(); // sub -> {sub, email, email_verified, name}
let chosenSub = null; // who signs in, until a test chooses another
let refusal = null; // {error, error_description}: the next sign-in is refused, once

function page(title, body) {
  // No outside fonts or scripts: the tests talk only to loopback.
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// The login prompt also runs when the account a test chose is not the provider session's: a
// browser that signed in as A before then signs in as B (oidc-provider signs A out first, with
// a self-submitting form), and when a test asked for a refusal.
const policy = interactionPolicy.base();
policy.get('login').checks.add(
  new interactionPolicy.Check('test_next_login', 'a test chose who signs in next', (ctx) => {
    const other = chosenSub !== null && chosenSub !== ctx.oidc.session.accountId;
    return refusal !== null || other
      ? interactionPolicy.Check.REQUEST_PROMPT
      : interactionPolicy.Check.NO_NEED_TO_PROMPT;
  }),
);

const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
const cookiePrefix = `op${randomBytes(4).toString('hex')}`;

function configuration() {
  return {
    clients: [],
    jwks: { keys: [{ ...key, kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' }] },
    // Two providers on 127.0.0.1 share the browser's cookies (cookies ignore the port): each
    // names its own, so one's sign-in never replaces the other's.
    cookies: {
      keys: [randomBytes(32).toString('hex')],
      names: {
        session: `${cookiePrefix}_session`,
        interaction: `${cookiePrefix}_interaction`,
        resume: `${cookiePrefix}_interaction_resume`,
      },
      // SameSite=None needs Secure, which plain-HTTP loopback cookies cannot have: Lax still
      // rides the top-level redirects of the authorization and logout flows.
      long: { httpOnly: true, sameSite: 'lax', signed: true },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },
    scopes: ['openid', 'email', 'profile'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    // The scope's claims go into the ID token too, not only into /userinfo.
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    pkce: { methods: ['S256'], required: () => true },
    enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: 'RS256',
      token_endpoint_auth_method: 'client_secret_basic',
    },
    features: {
      devInteractions: { enabled: false },
      // Open registration (no initial access token): only tests reach this loopback server.
      registration: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        // The confirmation submits itself (in a browser); a plain HTTP client posts the form,
        // as tests/oidc_provider.py's submit_form does.
        logoutSource: async (ctx, form) => {
          const confirm = form.replace(
            '</form>',
            '<input type="hidden" name="logout" value="yes"/><button type="submit">Sign out</button></form>',
          );
          ctx.body = page(
            'Signing out',
            `${confirm}<script>document.forms[0].submit()</script>`,
          );
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.body = page('Signed out', '<h1>Signed out</h1>');
        },
      },
    },
    interactions: {
      policy,
      url: (ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page(
        'Error',
        `<h1>${escapeHtml(out.error)}</h1><p>${escapeHtml(out.error_description ?? '')}</p>`,
      );
    },
    findAccount: async (ctx, sub) => {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        claims: async () => ({ ...account }),
      };
    },
    clientBasedCORS: () => false,
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 3600,
      Session: 3600,
      Grant: 3600,
    },
  };
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

function testControl(provider) {
  return async (ctx, next) => {
    if (!ctx.path.startsWith('/__test/')) return next();
    if (ctx.method !== 'POST') {
      ctx.status = 405;
      return undefined;
    }
    let body;
    try {
      body = await readJson(ctx.req);
    } catch {
      ctx.status = 400;
      ctx.body = { error: 'the body is not JSON' };
      return undefined;
    }
    if (ctx.path === '/__test/accounts') {
      if (typeof body.sub !== 'string' || !body.sub || typeof body.email !== 'string') {
        ctx.status = 400;
        ctx.body = { error: 'an account needs a sub and an email' };
        return undefined;
      }
      const account = {
        sub: body.sub,
        email: body.email,
        email_verified: body.email_verified !== false,
        name: typeof body.name === 'string' ? body.name : body.email,
      };
      accounts.set(account.sub, account);
      ctx.status = 201;
      ctx.body = account;
      return undefined;
    }
    if (ctx.path === '/__test/reset') {
      accounts.clear();
      chosenSub = null;
      refusal = null;
      ctx.status = 204;
      return undefined;
    }
    if (ctx.path === '/__test/next-login') {
      if (typeof body.error === 'string' && body.error) {
        refusal = { error: body.error, error_description: body.error_description };
      } else if (typeof body.sub === 'string' && accounts.has(body.sub)) {
        chosenSub = body.sub;
      } else {
        ctx.status = 400;
        ctx.body = { error: `no account with sub ${JSON.stringify(body.sub)}: add it first` };
        return undefined;
      }
      ctx.status = 204;
      return undefined;
    }
    ctx.status = 404;
    return undefined;
  };
}

// The interaction the provider sends the browser to: login, then consent, each finished at
// once with a redirect back to the authorization endpoint.
function interactions(provider) {
  return async (ctx, next) => {
    if (!ctx.path.startsWith('/interaction/') || ctx.method !== 'GET') return next();
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    let result;
    if (details.prompt.name === 'login') {
      if (refusal !== null) {
        result = refusal;
        refusal = null;
      } else if (chosenSub !== null) {
        result = { login: { accountId: chosenSub } };
      } else {
        ctx.status = 400;
        ctx.type = 'html';
        ctx.body = page(
          'Nobody to sign in',
          '<h1>Nobody to sign in</h1><p>The test did not say who signs in next (POST /__test/next-login).</p>',
        );
        return undefined;
      }
    } else if (details.prompt.name === 'consent') {
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
      const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = details.prompt.details;
      if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
      if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      result = { consent: { grantId: await grant.save() } };
    } else {
      ctx.status = 400;
      ctx.body = `unexpected prompt ${details.prompt.name}`;
      return undefined;
    }
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, {
      mergeWithLastSubmission: false,
    });
    ctx.status = 303;
    ctx.redirect(returnTo);
    return undefined;
  };
}

let app = null;
const server = http.createServer((req, res) => app(req, res));
server.listen(Number(args.port), '127.0.0.1', () => {
  const { port } = server.address();
  // Plain http is fine here: the issuer is a loopback address only this machine's tests reach,
  // and the portal's tests run over plain http too. A real provider is https.
  const issuer = args.issuer ?? `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, configuration());
  provider.use(testControl(provider));
  provider.use(interactions(provider));
  app = provider.callback();
  process.stdout.write(`${JSON.stringify({ issuer, port, pid: process.pid })}\n`);
});

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
