import { strict as assert } from 'node:assert';
import { mapHttpError, mapTransportError, parseErrorBody } from '../../../../src/sources/o365/api/errors';

const uri = 'https://manage.office.com/api/v1.0/t/activity/feed/subscriptions/content?contentType=Audit.General&sig=abc';
const body = (code: string, message = 'msg') => JSON.stringify({ error: { code, message } });

describe('api/errors', () => {
  it('AF429 is throttling whatever the status (it arrives as HTTP 403)', () => {
    for (const status of [403, 429, 400]) {
      const e = mapHttpError(status, body('AF429', 'Too many requests. Method=GetBlob, PublisherId=00000000-0000-0000-0000-000000000000'), { uri });
      assert.equal(e.code, 'API_THROTTLED');
      assert.equal(e.retryable, true);
      assert.equal(e.details.afCode, 'AF429');
      assert.equal(e.details.status, status);
    }
    assert.equal(mapHttpError(429, '', { uri }).code, 'API_THROTTLED');
  });

  it('AF50000 and 5xx are retryable server errors', () => {
    const e = mapHttpError(500, body('AF50000', 'internal'), { uri });
    assert.equal(e.code, 'API_SERVER');
    assert.equal(e.retryable, true);
    assert.equal(mapHttpError(503, '<html>', { uri }).retryable, true);
  });

  it('AF10001 and a plain 403 are permission errors with the missing permission named', () => {
    for (const e of [mapHttpError(403, body('AF10001'), { uri }), mapHttpError(403, '', { uri })]) {
      assert.equal(e.code, 'API_FORBIDDEN');
      assert.equal(e.retryable, false);
      assert.match(e.message, /ActivityFeed\.Read/);
      assert.match(e.message, /ActivityFeed\.ReadDlp/);
      assert.match(e.message, /admin consent/);
    }
  });

  it('bad windows, tenants, subscriptions and expired content get their stable codes', () => {
    const cases: [string, string, boolean][] = [
      ['AF20030', 'API_BAD_WINDOW', false],
      ['AF20055', 'API_BAD_WINDOW', false],
      ['AF20031', 'API_BAD_WINDOW', false],
      ['AF20011', 'API_TENANT', false],
      ['AF20022', 'API_NOT_SUBSCRIBED', false],
      ['AF20023', 'API_SUBSCRIPTION_DISABLED', false],
      ['AF20050', 'CONTENT_EXPIRED', false],
      ['AF20051', 'CONTENT_EXPIRED', false],
      ['AF20020', 'API_BAD_REQUEST', false],
    ];
    for (const [af, code, retryable] of cases) {
      const e = mapHttpError(400, body(af), { uri });
      assert.equal(e.code, code, af);
      assert.equal(e.retryable, retryable, af);
      assert.equal(e.details.afCode, af);
    }
  });

  it('"tenant does not exist" without an AF code says audit logging may be off', () => {
    const e = mapHttpError(
      400,
      body('StartSubscription [TenantId=x,ContentType=Audit.General] failed. Exception', 'Microsoft.Office.Compliance.Audit.DataServiceException: Tenant 4a0f does not exist.'),
      { uri },
    );
    assert.equal(e.code, 'API_TENANT');
    assert.match(e.message, /unified audit logging/);
    assert.match(e.message, /admin consent/);
    assert.match(mapHttpError(400, body('AF20011'), { uri }).message, /unified audit logging/);
  });

  it('404/410 mean expired content for blobs only', () => {
    assert.equal(mapHttpError(404, '', { uri, kind: 'blob' }).code, 'CONTENT_EXPIRED');
    assert.equal(mapHttpError(410, '', { uri, kind: 'blob' }).code, 'CONTENT_EXPIRED');
    assert.equal(mapHttpError(404, '', { uri }).code, 'API_BAD_REQUEST');
  });

  it('messages name the URI with its query redacted, the AF code, status and API message', () => {
    const e = mapHttpError(400, body('AF20055', 'StartTime parameter is before end'), { uri });
    assert.match(e.message, /AF20055, HTTP 400/);
    assert.match(e.message, /contentType=Audit.General/);
    assert.match(e.message, /StartTime parameter/);
    assert.doesNotMatch(e.message, /sig=abc/);
    assert.doesNotMatch(String(e.details.uri), /abc/);
  });

  it('keeps Retry-After in details', () => {
    assert.equal(mapHttpError(429, '', { uri }, 7000).details.retryAfterMs, 7000);
  });

  it('never puts a bearer token echoed by a server into a message', () => {
    const e = mapHttpError(400, body('AF20002', 'bad header Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTYifQ.c2lnbmF0dXJl'), { uri });
    assert.doesNotMatch(e.message, /eyJhbGciOiJSUzI1NiJ9/);
  });

  it('maps transport failures', () => {
    assert.equal(mapTransportError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), { uri }).code, 'API_NETWORK');
    assert.equal(mapTransportError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), { uri }).retryable, true);
    const t = mapTransportError(Object.assign(new Error('timeout of 10ms exceeded'), { code: 'ECONNABORTED' }), { uri });
    assert.equal(t.code, 'API_TIMEOUT');
    assert.equal(t.retryable, true);
    const c = mapTransportError(Object.assign(new Error('self signed'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }), { uri });
    assert.equal(c.retryable, false);
    assert.match(c.message, /caFile/);
    assert.equal(mapTransportError(Object.assign(new Error('canceled'), { name: 'CanceledError', code: 'ERR_CANCELED' }), { uri }).retryable, false);
  });

  it('parses error bodies tolerantly', () => {
    assert.deepEqual(parseErrorBody({ error: { code: 'AF1', message: 'm' } }), { code: 'AF1', message: 'm' });
    assert.deepEqual(parseErrorBody('not json'), { message: 'not json' });
    assert.deepEqual(parseErrorBody(undefined), {});
  });
});
