import { strict as assert } from 'node:assert';
import { BridgeError } from '../../../../src/errors';
import { assertApiOrigin, listingStart, operationUrl, withPublisher } from '../../../../src/sources/o365/api/urls';

const origin = 'https://manage.office.com';

describe('api/urls', () => {
  it('accepts URLs on the API origin, including the /api/v1/ spelling of the docs sample', () => {
    assert.ok(assertApiOrigin('https://manage.office.com/api/v1/t/activity/feed/subscriptions/content?nextPage=x', origin, 'NextPageUri'));
    assert.ok(assertApiOrigin('https://MANAGE.office.com:443/api/v1.0/t/activity/feed/audit/abc$def', origin, 'contentUri'));
  });

  it('refuses other hosts, ports, schemes and userinfo with FOREIGN_HOST', () => {
    for (const u of [
      'https://evil.example.com/api/v1.0/t/activity/feed/audit/x',
      'https://manage.office.com.evil.example/x',
      'http://manage.office.com/api/v1.0/t/activity/feed/audit/x',
      'https://manage.office.com:8443/x',
      'https://user:pw@manage.office.com/x',
      '/relative/path',
    ]) {
      assert.throws(() => assertApiOrigin(u, origin, 'NextPageUri'), (e: BridgeError) => e.code === 'FOREIGN_HOST' && !e.retryable, u);
    }
  });

  it('adds PublisherIdentifier once', () => {
    assert.equal(withPublisher(new URL('https://h/x?a=1'), 'pub').searchParams.get('PublisherIdentifier'), 'pub');
    const u = withPublisher(new URL('https://h/x?publisheridentifier=mine'), 'pub');
    assert.equal(u.searchParams.get('publisheridentifier'), 'mine');
    assert.equal(u.searchParams.get('PublisherIdentifier'), null);
  });

  it('builds operation URLs', () => {
    const u = operationUrl('https://manage.office.com/', 'tid', 'subscriptions/content', { contentType: 'Audit.General' });
    assert.equal(u.toString(), 'https://manage.office.com/api/v1.0/tid/activity/feed/subscriptions/content?contentType=Audit.General');
  });

  it('reads the start of a next-page link in either spelling', () => {
    assert.equal(listingStart('https://h/x?contentType=a&startTime=2025-01-01T00:00:00&endTime=2025-01-02T00:00:00&nextPage=1'), Date.parse('2025-01-01T00:00:00Z'));
    assert.equal(listingStart('https://h/x?contenttype=a&starttime=2025-01-01T05:00:00&endtime=2025-01-02T00:00:00&nextpage=1'), Date.parse('2025-01-01T05:00:00Z'));
    assert.equal(listingStart('https://h/x?nextPage=1'), undefined);
  });
});
