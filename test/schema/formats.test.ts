import { strict as assert } from 'node:assert';
import { isAuditDateTime, isClientIp, isGuid, isIpAddress } from '../../src/schema/formats';

describe('schema/formats', () => {
  it('audit-datetime: the API format, optional fraction and Z, real calendar dates', () => {
    for (const ok of ['2015-06-29T20:03:19', '2025-03-11T08:14:52.1234567', '2025-10-15T06:50:14Z', '2024-02-29T00:00:00', '2000-02-29T23:59:59', '0001-01-01T00:00:00']) {
      assert.ok(isAuditDateTime(ok), ok);
    }
    for (const bad of [
      '2025-03-11 08:14:52', // space instead of T
      '2025-03-11T08:14:52+02:00', // numeric offset
      '2025-03-11T08:14', // no seconds
      '2025-13-01T00:00:00',
      '2025-00-10T00:00:00',
      '2025-02-30T00:00:00',
      '2023-02-29T00:00:00', // not a leap year
      '1900-02-29T00:00:00', // century, not a leap year
      '2025-04-31T00:00:00',
      '2025-03-11T24:00:00',
      '2025-03-11T08:60:00',
      '2025-03-11T08:14:52.12345678', // 8 fraction digits
      '2025-03-11',
      '3/11/2025 8:14:52 AM',
      '',
    ]) {
      assert.ok(!isAuditDateTime(bad), bad);
    }
  });

  it('guid: 8-4-4-4-12 hex, any case, nothing around it', () => {
    assert.ok(isGuid('60eaf0aa-edc3-4f8d-8275-bc82d9500e59'));
    assert.ok(isGuid('F872F447-2417-492A-D462-08DBA99A7777'));
    for (const bad of ['ANONYMIZED', '{60eaf0aa-edc3-4f8d-8275-bc82d9500e59}', 'urn:uuid:60eaf0aa-edc3-4f8d-8275-bc82d9500e59', '60eaf0aa-edc3-4f8d-8275-bc82d9500e5g', '60eaf0aaedc34f8d8275bc82d9500e59']) {
      assert.ok(!isGuid(bad), bad);
    }
  });

  it('ip-address: bare IPv4 or IPv6 only', () => {
    for (const ok of ['1.2.3.4', '203.0.113.45', '2001:db8::1', '::ffff:1.2.3.4', '::1']) assert.ok(isIpAddress(ok), ok);
    for (const bad of ['999.1.1.1', '1.2.3', '1.2.3.4:80', 'example.com', '', '2001:db8::g']) assert.ok(!isIpAddress(bad), bad);
  });

  it('client-ip: also with a port, and the empty / <null> forms records use', () => {
    for (const ok of ['1.2.3.4', '1.2.3.4:63070', '[2001:db8::1]:443', '[2001:db8::1]', '::ffff:1.2.3.4', '', '<null>']) assert.ok(isClientIp(ok), ok);
    for (const bad of ['1.2.3.4:', '1.2.3.4:abc', '[2001:db8::1', '[nope]:80', 'null', 'localhost:80', '1.2.3.4:123456']) assert.ok(!isClientIp(bad), bad);
  });
});
