import { strict as assert } from 'node:assert';
import * as crypto from 'node:crypto';
import { createHttpStack, type HttpStack } from '../../../../src/net/http';
import { createTokenProvider, certificateThumbprintSha256 } from '../../../../src/sources/o365/auth/token-provider';
import { BridgeError } from '../../../../src/errors';
import { memoryLogger } from '../../../../src/obs/log';
import { startServer, json, type TestServer } from '../../../support/api-server';
import { clientCertificate } from '../../../support/api-tls';

const TENANT = '11111111-2222-3333-4444-555555555555';
const CLIENT = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const SECRET = 'Sup3r~Secret.Value-For-Tests';

function b64urlJson(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

describe('auth/token-provider', () => {
  let srv: TestServer;
  let http: HttpStack;
  let issued = 0;
  let forms: URLSearchParams[] = [];
  let tokenStatus = 200;
  let tokenError: Record<string, unknown> | undefined;

  before(async () => {
    srv = await startServer();
    http = createHttpStack({ caPem: srv.caPem, env: {} });
  });
  after(async () => {
    http.close();
    await srv.close();
  });
  beforeEach(() => {
    issued = 0;
    forms = [];
    tokenStatus = 200;
    tokenError = undefined;
    srv.seen.length = 0;
    srv.handler = (req, res, body) => {
      if (new URL(req.url ?? '/', 'https://x').pathname === `/${TENANT}/oauth2/v2.0/token` && req.method === 'POST') {
        forms.push(new URLSearchParams(body));
        if (tokenStatus !== 200) return json(res, tokenStatus, tokenError ?? { error: 'temporarily_unavailable', error_description: 'try later' });
        issued++;
        return json(res, 200, { token_type: 'Bearer', expires_in: 3599, access_token: `tok-${issued}-${'x'.repeat(20)}` });
      }
      json(res, 404, { error: 'not_found' });
    };
  });

  const provider = (extra: Partial<Parameters<typeof createTokenProvider>[0]> = {}) =>
    createTokenProvider({
      tenantId: TENANT,
      clientId: CLIENT,
      authority: srv.origin,
      apiRoot: 'https://manage.office.com',
      secret: SECRET,
      http,
      ...extra,
    });

  it('gets a token with the client secret for scope {apiRoot}/.default, through our stack only', async () => {
    const tp = provider();
    assert.equal(await tp.getToken(), `tok-1-${'x'.repeat(20)}`);
    assert.equal(forms.length, 1);
    assert.equal(forms[0].get('grant_type'), 'client_credentials');
    assert.equal(forms[0].get('scope'), 'https://manage.office.com/.default');
    assert.equal(forms[0].get('client_id'), CLIENT);
    assert.equal(forms[0].get('client_secret'), SECRET);
    // No instance discovery or OpenID metadata request: only the token endpoint was called.
    assert.deepEqual(srv.seen.map((s) => new URL(s.url, 'https://x').pathname), [`/${TENANT}/oauth2/v2.0/token`]);
  });

  it('caches the token, renews before expiry and on demand', async () => {
    let now = 1_000_000;
    const tp = provider({ clock: () => now });
    const t1 = await tp.getToken();
    assert.equal(await tp.getToken(), t1);
    assert.equal(issued, 1);
    // 4 minutes before expiry (inside the 5-minute renewal margin): renewed.
    now += 3599_000 - 4 * 60_000;
    const t2 = await tp.getToken();
    assert.notEqual(t2, t1);
    assert.equal(issued, 2);
    const t3 = await tp.getToken(true);
    assert.notEqual(t3, t2);
    assert.equal(issued, 3);
  });

  it('coalesces concurrent requests into one token request', async () => {
    const tp = provider();
    const tokens = await Promise.all([tp.getToken(), tp.getToken(), tp.getToken()]);
    assert.equal(new Set(tokens).size, 1);
    assert.equal(issued, 1);
  });

  it('authenticates with a certificate: PS256 assertion with the SHA-256 thumbprint, x5c when asked', async () => {
    const cert = clientCertificate();
    for (const sendX5c of [false, true]) {
      forms = [];
      const tp = provider({ secret: undefined, certificate: { ...cert, sendX5c } });
      assert.match(await tp.getToken(), /^tok-/);
      const f = forms[0];
      assert.equal(f.get('client_secret'), null);
      assert.equal(f.get('client_assertion_type'), 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      const [h, p, sig] = f.get('client_assertion')!.split('.');
      const header = b64urlJson(h);
      const payload = b64urlJson(p);
      assert.equal(header.alg, 'PS256');
      assert.equal(Buffer.from(String(header['x5t#S256']), 'base64url').toString('hex').toUpperCase(), certificateThumbprintSha256(cert.certificatePem).toUpperCase());
      assert.equal(Array.isArray(header.x5c), sendX5c);
      assert.equal(payload.iss, CLIENT);
      assert.equal(payload.sub, CLIENT);
      assert.equal(payload.aud, `${srv.origin}/${TENANT}/oauth2/v2.0/token`);
      const ok = crypto.verify(
        'sha256',
        Buffer.from(`${h}.${p}`),
        { key: new crypto.X509Certificate(cert.certificatePem).publicKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
        Buffer.from(sig, 'base64url'),
      );
      assert.ok(ok, 'assertion signature verifies with the certificate key');
    }
  });

  it('refuses a key that does not match the certificate, and a missing or double credential', () => {
    const a = clientCertificate('a');
    const b = clientCertificate('b');
    assert.throws(() => provider({ secret: undefined, certificate: { certificatePem: a.certificatePem, privateKeyPem: b.privateKeyPem } }), (e: BridgeError) => e.code === 'CONFIG_INVALID');
    assert.throws(() => provider({ secret: undefined }), (e: BridgeError) => e.code === 'CONFIG_INVALID');
    assert.throws(() => provider({ certificate: a }), (e: BridgeError) => e.code === 'CONFIG_INVALID');
  });

  it('maps a refused secret to AUTH_FAILED with a hint and no secret in message or logs', async () => {
    tokenStatus = 401;
    tokenError = {
      error: 'invalid_client',
      error_description: `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value. Trace ID: x`,
      error_codes: [7000215],
    };
    const log = memoryLogger();
    const tp = provider({ logger: log });
    await assert.rejects(tp.getToken(), (e: BridgeError) => {
      assert.equal(e.code, 'AUTH_FAILED');
      assert.equal(e.retryable, false);
      assert.match(e.message, /secret is wrong/);
      assert.doesNotMatch(e.message, new RegExp(SECRET.replace(/[.~-]/g, '\\$&')));
      return true;
    });
    assert.ok(log.lines.length > 0);
    for (const l of log.lines) assert.ok(!l.includes(SECRET), l);
  });

  it('maps 503 and an unreachable endpoint to retryable AUTH_UNAVAILABLE', async () => {
    tokenStatus = 503;
    await assert.rejects(provider().getToken(), (e: BridgeError) => e.code === 'AUTH_UNAVAILABLE' && e.retryable);
    const dead = createTokenProvider({ tenantId: TENANT, clientId: CLIENT, authority: 'https://127.0.0.1:1', apiRoot: 'https://manage.office.com', secret: SECRET, http });
    await assert.rejects(dead.getToken(), (e: BridgeError) => e.code === 'AUTH_UNAVAILABLE' && e.retryable && /ECONNREFUSED/.test(e.message));
  });

  // Found by the fault suite (faulty profile, 10 % token failures): MSAL cached the 503 and refused
  // every retry for 60 s from its cache, so the bridge's backoff gave up without asking the server again.
  it('after a 503, the next attempt asks the token endpoint again (MSAL does not answer from its throttle cache)', async () => {
    const p = provider();
    tokenStatus = 503;
    tokenError = { error: 'temporarily_unavailable', error_description: 'AADSTS90033: A transient error has occurred.', error_codes: [90033] };
    await assert.rejects(p.getToken(), (e: BridgeError) => e.code === 'AUTH_UNAVAILABLE' && e.retryable);
    assert.equal(forms.length, 1);
    tokenStatus = 200;
    assert.match(await p.getToken(), /^tok-1-/);
    assert.equal(forms.length, 2, 'the second attempt reached the server');
  });
});
