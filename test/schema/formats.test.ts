import { strict as assert } from 'node:assert';
import { fullFormats } from 'ajv-formats/dist/formats';
import { isAuditDateTime, isClientIp, isGuid, isIpAddress, isIpv6 } from '../../src/schema/formats';
import { Rng } from '../../src/emulator/rand';

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

  describe('the faster scans answer exactly as the code they replaced', () => {
    /** The per-character guid scan the table version replaced. */
    const guidBefore = (s: string): boolean => {
      if (s.length !== 36) return false;
      for (let i = 0; i < 36; i++) {
        const c = s.charCodeAt(i);
        if (i === 8 || i === 13 || i === 18 || i === 23) {
          if (c !== 45) return false;
        } else if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102))) return false;
      }
      return true;
    };
    const ipv6 = fullFormats.ipv6 as RegExp;
    const rng = new Rng(1234);
    /** A random string over the given characters, near the given length. */
    const str = (chars: string, len: number): string => {
      let s = '';
      for (let i = 0, n = Math.max(0, len + rng.int(3) - 1); i < n; i++) s += chars[rng.int(chars.length)];
      return s;
    };

    it('guid, on near-miss strings (every character position, non-ASCII, wrong lengths)', () => {
      const good = '60eaf0aa-edc3-4f8d-8275-bc82d9500e59';
      const odd = ['g', 'G', '-', '/', ':', '@', '`', '{', 'İ', 'ı', '\u0130', '\u0030\u0301', '\u0660', 'Ａ', '\u00e9', '\u0100', '\u0146', ' ', '\0'];
      const cases = [good, good.toUpperCase(), good.slice(1), good + '0', good.replace(/-/g, 'a'), ''];
      for (let i = 0; i < 36; i++) for (const c of odd) cases.push(good.slice(0, i) + c + good.slice(i + 1));
      for (let k = 0; k < 20_000; k++) cases.push(str('0123456789abcdefABCDEF-gİ', 36));
      for (const c of cases) assert.equal(isGuid(c), guidBefore(c), JSON.stringify(c));
    });

    it('IPv6 (remembered results) equals the regex, also after the memory is cleared', () => {
      const cases = ['::1', '::', '1::', '2001:db8::1', '2001:DB8::1', '::ffff:1.2.3.4', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:8:9', '2001:db8::g', ':::', ''];
      for (let k = 0; k < 5000; k++) cases.push(str('0123456789abcdefABCDEF:.:', 4 + rng.int(40)));
      // Twice: the second pass answers from memory where the values are still there.
      for (const pass of [1, 2]) for (const c of cases) assert.equal(isIpv6(c), ipv6.test(c), `${pass}: ${JSON.stringify(c)}`);
      for (const c of cases) assert.equal(isIpAddress(c), c.length <= 45 && ((fullFormats.ipv4 as RegExp).test(c) || ipv6.test(c)), JSON.stringify(c));
    });

    it('audit-datetime, on every separator position replaced', () => {
      const good = '2025-03-11T08:14:52.1234567Z';
      for (let i = 0; i < good.length; i++) {
        for (const c of ['-', 'T', ':', '.', 'Z', 'z', 't', '0', ' ', 'İ']) {
          const s = good.slice(0, i) + c + good.slice(i + 1);
          const ok = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z?$/.test(s) && !Number.isNaN(Date.parse(s.replace(/Z?$/, 'Z')));
          assert.equal(isAuditDateTime(s), ok, JSON.stringify(s));
        }
      }
    });
  });
});
