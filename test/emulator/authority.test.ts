/** The emulator's Azure AD side: token endpoint rules and errors, assertions, metadata, msal-node. */
import { strict as assert } from 'node:assert';
import * as crypto from 'node:crypto';
import * as https from 'node:https';
import { ConfidentialClientApplication } from '@azure/msal-node';
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-common/node';
import { createClientCertificate, startEmulator, type ClientCertificate, type Emulator } from '../../src/emulator';
import { api, req, tokenForm } from './support';

const TENANT = '3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b';
const CLIENT = 'c0ffee00-1234-4abc-8def-0123456789ab';

function b64url(x: string | Buffer): string {
  return Buffer.from(x).toString('base64url');
}

/** A client assertion as Azure AD documents it (RS256, x5t = SHA-1 thumbprint). */
function assertion(cert: ClientCertificate, aud: string, over: Record<string, unknown> = {}, headerOver: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'RS256', typ: 'JWT', x5t: Buffer.from(cert.thumbprintSha1, 'hex').toString('base64url'), ...headerOver };
  const payload = { aud, iss: CLIENT, sub: CLIENT, jti: crypto.randomUUID(), nbf: now, exp: now + 600, ...over };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${crypto.sign('sha256', Buffer.from(input), cert.privateKeyPem).toString('base64url')}`;
}

/** msal-node 7 uses global fetch, which cannot trust a private CA: give it a client that can. */
function caNetworkClient(ca: string): INetworkModule {
  const send = (url: string, method: string, options?: NetworkRequestOptions): Promise<NetworkResponse<any>> =>
    new Promise((resolve, reject) => {
      const u = new URL(url);
      const body = options?.body ?? '';
      const r = https.request(
        { hostname: u.hostname, port: u.port, path: u.pathname + u.search, method, ca, agent: false, headers: { ...(options?.headers ?? {}), ...(method === 'POST' ? { 'Content-Length': Buffer.byteLength(body) } : {}) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers[k] = v;
            resolve({ headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')), status: res.statusCode ?? 0 });
          });
        },
      );
      r.on('error', reject);
      r.end(method === 'POST' ? body : undefined);
    });
  return {
    sendGetRequestAsync: (url, options) => send(url, 'GET', options),
    sendPostRequestAsync: (url, options) => send(url, 'POST', options),
  };
}

describe('emulator: authority (token endpoint, metadata, msal-node)', () => {
  let cert: ClientCertificate;
  let em: Emulator;

  before(async () => {
    cert = createClientCertificate();
    em = await startEmulator({
      tenants: [{ tenantId: TENANT, clientId: CLIENT, clientSecret: 's3cret~value', certificatePem: cert.certificatePem, domain: 'contoso.onmicrosoft.com' }],
      tokenLifetimeSec: 1800,
    });
  });
  after(() => em.stop());

  const endpoint = (): string => `${em.url}/${TENANT}/oauth2/v2.0/token`;

  it('issues a bearer JWT with tid, roles and the configured lifetime for a client secret', async () => {
    const r = await req(endpoint(), { method: 'POST', body: tokenForm(em.tenants[0], em.scope) });
    assert.equal(r.status, 200);
    assert.equal(r.json.token_type, 'Bearer');
    assert.equal(r.json.expires_in, 1800);
    const claims = JSON.parse(Buffer.from(r.json.access_token.split('.')[1], 'base64url').toString());
    assert.equal(claims.tid, TENANT);
    assert.equal(claims.appid, CLIENT);
    assert.equal(claims.aud, em.url);
    assert.deepEqual(claims.roles, ['ActivityFeed.Read', 'ActivityFeed.ReadDlp']);
    assert.equal(claims.exp - claims.iat, 1800);
  });

  it('accepts the tenant domain in place of the tenant id', async () => {
    const r = await req(`${em.url}/contoso.onmicrosoft.com/oauth2/v2.0/token`, { method: 'POST', body: tokenForm(em.tenants[0], em.scope) });
    assert.equal(r.status, 200);
  });

  it('answers a wrong secret as Azure AD does: 401 invalid_client AADSTS7000215 with trace fields', async () => {
    const r = await req(endpoint(), { method: 'POST', body: tokenForm({ ...em.tenants[0], clientSecret: 'wrong' }, em.scope) });
    assert.equal(r.status, 401);
    assert.equal(r.json.error, 'invalid_client');
    assert.match(r.json.error_description, /^AADSTS7000215: Invalid client secret provided\./);
    assert.match(r.json.error_description, /\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: [0-9a-f-]{36}\r\nTimestamp: /);
    assert.deepEqual(r.json.error_codes, [7000215]);
    assert.match(r.json.timestamp, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z$/);
    assert.match(r.json.trace_id, /^[0-9a-f-]{36}$/);
    assert.match(r.json.correlation_id, /^[0-9a-f-]{36}$/);
    assert.ok(!r.text.includes('wrong'), 'the secret is not echoed');
  });

  it('rejects unknown tenants, unknown clients, bad grants, bad scopes and foreign resources with their AADSTS codes', async () => {
    const cases: Array<[string, URLSearchParams, number, string, number]> = [
      [`${em.url}/11111111-2222-4333-8444-555555555555/oauth2/v2.0/token`, tokenForm(em.tenants[0], em.scope), 400, 'invalid_request', 90002],
      [endpoint(), tokenForm({ ...em.tenants[0], clientId: '99999999-9999-4999-8999-999999999999' }, em.scope), 400, 'unauthorized_client', 700016],
      [endpoint(), tokenForm(em.tenants[0], em.scope, { grant_type: 'password' }), 400, 'unsupported_grant_type', 70003],
      [endpoint(), tokenForm(em.tenants[0], `${em.url}/ActivityFeed.Read`), 400, 'invalid_scope', 1002012],
      [endpoint(), tokenForm(em.tenants[0], 'https://manage.office.com/.default'), 400, 'invalid_resource', 500011],
      [endpoint(), new URLSearchParams({ client_id: CLIENT, client_secret: 'x', scope: em.scope }), 400, 'invalid_request', 900144],
      [endpoint(), new URLSearchParams({ grant_type: 'client_credentials', client_id: CLIENT, scope: em.scope }), 401, 'invalid_client', 7000218],
    ];
    for (const [url, body, status, error, code] of cases) {
      const r = await req(url, { method: 'POST', body });
      assert.equal(r.status, status, `${error} ${code}: ${r.text}`);
      assert.equal(r.json.error, error);
      assert.deepEqual(r.json.error_codes, [code]);
    }
  });

  it('accepts a certificate assertion (x5t, RS256) and rejects wrong thumbprint, signature, audience, issuer and lifetime', async () => {
    const form = (jwt: string): URLSearchParams =>
      new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: CLIENT,
        scope: em.scope,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: jwt,
      });
    const ok = await req(endpoint(), { method: 'POST', body: form(assertion(cert, endpoint())) });
    assert.equal(ok.status, 200, ok.text);
    const claims = JSON.parse(Buffer.from(ok.json.access_token.split('.')[1], 'base64url').toString());
    assert.equal(claims.appidacr, '2');

    const other = createClientCertificate();
    const forged = assertion(cert, endpoint()).split('.');
    forged[2] = assertion(other, endpoint()).split('.')[2];
    const now = Math.floor(Date.now() / 1000);
    const bad: Array<[string, number]> = [
      [assertion(other, endpoint()), 700027], // thumbprint of a certificate the app does not have
      [forged.join('.'), 700027], // right thumbprint, wrong key
      [assertion(cert, `${em.url}/${TENANT}/oauth2/v2.0/authorize`), 700212],
      [assertion(cert, endpoint(), { iss: 'someone-else' }), 700021],
      [assertion(cert, endpoint(), { nbf: now - 7200, exp: now - 3600 }), 700024],
    ];
    for (const [jwt, code] of bad) {
      const r = await req(endpoint(), { method: 'POST', body: form(jwt) });
      assert.equal(r.status, 401, `${code}: ${r.text}`);
      assert.deepEqual(r.json.error_codes, [code]);
      assert.ok(!r.text.includes(jwt), 'the assertion is not echoed');
    }
  });

  it('serves OpenID metadata, JWKS and instance discovery', async () => {
    const oidc = await req(`${em.url}/${TENANT}/v2.0/.well-known/openid-configuration`);
    assert.equal(oidc.status, 200);
    assert.equal(oidc.json.token_endpoint, endpoint());
    assert.equal(oidc.json.issuer, `${em.url}/${TENANT}/v2.0`);
    for (const k of ['authorization_endpoint', 'end_session_endpoint', 'jwks_uri']) assert.ok(oidc.json[k], k);
    const keys = await req(oidc.json.jwks_uri);
    assert.equal(keys.json.keys[0].kty, 'RSA');
    const disco = await req(`${em.url}/common/discovery/instance?api-version=1.1&authorization_endpoint=${em.url}/${TENANT}/oauth2/v2.0/authorize`);
    assert.equal(disco.json.metadata[0].preferred_network, new URL(em.url).host);
    const unknown = await req(`${em.url}/not-a-tenant/v2.0/.well-known/openid-configuration`);
    assert.equal(unknown.status, 400);
  });

  it('issues tokens the Activity API accepts', async () => {
    const r = await req(endpoint(), { method: 'POST', body: tokenForm(em.tenants[0], em.scope) });
    const list = await api(em, r.json.access_token).get('subscriptions/list');
    assert.equal(list.status, 200);
    assert.deepEqual(list.json, []);
  });
});

describe('emulator: msal-node ConfidentialClientApplication against the emulator (HTTPS)', () => {
  let cert: ClientCertificate;
  let em: Emulator;

  before(async () => {
    cert = createClientCertificate();
    em = await startEmulator({ https: true, tenants: [{ tenantId: TENANT, clientId: CLIENT, certificatePem: cert.certificatePem }] });
  });
  after(() => em.stop());

  const app = (auth: Record<string, unknown>): ConfidentialClientApplication =>
    new ConfidentialClientApplication({
      auth: { clientId: CLIENT, authority: `${em.url}/${TENANT}`, knownAuthorities: [new URL(em.url).host], ...auth },
      system: { networkClient: caNetworkClient(em.ca as string) },
    });

  async function callApi(accessToken: string): Promise<number> {
    const u = new URL(`${em.url}/api/v1.0/${TENANT}/activity/feed/subscriptions/list`);
    return new Promise((resolve, reject) => {
      https
        .get(u, { ca: em.ca, agent: false, headers: { Authorization: `Bearer ${accessToken}` } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        })
        .on('error', reject);
    });
  }

  it('gets a token with a client secret, and the API accepts it', async () => {
    const r = await app({ clientSecret: em.tenants[0].clientSecret }).acquireTokenByClientCredential({ scopes: [em.scope] });
    assert.ok(r?.accessToken);
    assert.equal(JSON.parse(Buffer.from(r.accessToken.split('.')[1], 'base64url').toString()).tid, TENANT);
    assert.equal(await callApi(r.accessToken), 200);
  });

  it('gets a token with a certificate (SHA-256 thumbprint, PS256, x5c)', async () => {
    const r = await app({ clientCertificate: { thumbprintSha256: cert.thumbprintSha256, privateKey: cert.privateKeyPem, x5c: cert.certificatePem } }).acquireTokenByClientCredential({ scopes: [em.scope] });
    assert.ok(r?.accessToken);
    assert.equal(await callApi(r.accessToken), 200);
  });

  it('gets a token with a certificate (SHA-1 thumbprint, RS256)', async () => {
    const r = await app({ clientCertificate: { thumbprint: cert.thumbprintSha1, privateKey: cert.privateKeyPem } }).acquireTokenByClientCredential({ scopes: [em.scope] });
    assert.ok(r?.accessToken);
  });

  it('surfaces a wrong secret as invalid_client with AADSTS7000215', async () => {
    await assert.rejects(
      app({ clientSecret: 'not-the-secret' }).acquireTokenByClientCredential({ scopes: [em.scope] }),
      (e: { errorCode?: string; errorMessage?: string }) => e.errorCode === 'invalid_client' && /AADSTS7000215/.test(e.errorMessage ?? ''),
    );
  });
});
