/**
 * Hostile and malformed API responses, served by the front in place of (or on top of) the emulator's:
 * each gets a clear error or a quarantined record, the process keeps going where it can, nothing
 * valid is lost, and no request ever reaches a host other than the configured API.
 */
import { strict as assert } from 'node:assert';
import { startConnectionRecorder, type ConnectionRecorder } from '../support/faults-front';
import { printTableAtEnd, Scenario } from '../support/faults-harness';
import { hostileRecordsBlob, junkListingEntries, validRecords } from '../support/faults-hostile';

printTableAtEnd();

const HOUR = 3_600_000;
const GENERAL = 'Audit.General';

describe('faults: hostile and malformed API responses', function () {
  let s: Scenario | undefined;
  let foreign: ConnectionRecorder | undefined;
  afterEach(async () => {
    await s?.close();
    await foreign?.stop();
    s = undefined;
    foreign = undefined;
  });

  it('listings: non-JSON, not an array, entries that are not content, a NextPageUri and a contentUri on another host', async () => {
    s = await Scenario.start('hostile: listings + foreign hosts', { contentTypes: [GENERAL], emulator: { pageSize: 20 } });
    foreign = await startConnectionRecorder();
    const f = foreign;
    const iso = (t: number) => new Date(t).toISOString().replace(/\.\d+Z$/, '.000Z');
    const foreignRef = {
      contentType: GENERAL,
      contentId: 'foreign-content-1',
      contentUri: `${f.url}/api/v1.0/${s.tenantId}/activity/feed/audit/foreign-content-1`,
      contentCreated: iso(Date.now() - 2 * HOUR),
      contentExpiration: iso(Date.now() + 6 * 24 * HOUR),
    };
    s.front.hooks.replace = (r) => {
      if (r.route !== 'listing') return undefined;
      if (r.seq === 0) return { status: 200, headers: { 'Content-Type': 'text/html' }, body: '<html><body>proxy error</body></html>' };
      if (r.seq === 1) return { status: 200, body: JSON.stringify({ value: [], note: 'an object, not an array' }) };
      return undefined;
    };
    let listings = 0;
    s.front.hooks.listing = (_r, entries, headers) => {
      listings++;
      // The first real listing points its next page at another host; every later one carries junk entries
      // and a content reference on another host.
      if (listings === 1) {
        const { nextpageuri: _own, ...rest } = headers;
        const next = `${f.url}/api/v1.0/${s!.tenantId}/activity/feed/subscriptions/content?contentType=${GENERAL}&nextPage=x`;
        return { status: 200, headers: { ...rest, NextPageUri: next }, body: JSON.stringify(entries) };
      }
      return { status: 200, headers, body: JSON.stringify([...junkListingEntries(), ...entries, foreignRef]) };
    };
    const runs = [];
    for (let i = 0; i < 3; i++) {
      const r = await s.runToEnd();
      // A refused listing ends its content type for this run: 5 (partial), never a crash or another class.
      assert.ok([0, 5].includes((await r.exited).code ?? -1), r.out.slice(-2000));
      runs.push(r);
    }
    const all = runs.map((r) => r.out).join('\n');
    assert.match(all, /"msg":"retrying".*"code":"API_SERVER".*"status":200/, 'the non-JSON listing is retried with its code');
    assert.match(all, /did not return a JSON array/, 'the object listing is reported');
    assert.match(all, /FOREIGN_HOST/, 'the foreign NextPageUri is refused');
    assert.match(all, /listing entr(y|ies) .*(skipped|not a content reference)/i, 'junk entries are reported');
    assert.equal(f.connections, 0, 'no connection ever reached the other host');
    const cp = s.checkpoint(GENERAL)!;
    assert.ok(cp.lost.some((l) => l.contentId === 'foreign-content-1' && l.code === 'FOREIGN_HOST'), 'the foreign contentUri is recorded as refused');
    const a = s.account({ note: 'foreign host: 0 connections', refused: 0, maxDuplicates: 0 });
    assert.deepEqual(a.missing, []);
    assert.equal(a.row.duplicates, 0);
    assert.deepEqual(s.secretLeaks(), []);
  });

  it('blobs: non-objects, __proto__/constructor, a 10 MB string, 10 000-deep nesting, invalid UTF-8, an oversize and a flaky blob', async () => {
    s = await Scenario.start('hostile: blob records + sizes', { contentTypes: [GENERAL], config: { http: { maxBlobMB: 12 } } });
    foreign = await startConnectionRecorder();
    const f = foreign;
    const templates = validRecords(s.emu, s.tenantId, GENERAL, 7, s.startedAt - 6 * HOUR, s.startedAt);
    const hostile = hostileRecordsBlob(templates.slice(0, 5));
    const flakyBody = Buffer.from(JSON.stringify(templates.slice(5, 7)));
    const oversize = Buffer.concat([Buffer.from('[{"Id":"oversize","Pad":"'), Buffer.alloc(13 * 1024 * 1024, 0x61), Buffer.from('"}]')]);
    const iso = (t: number) => new Date(t).toISOString().replace(/\.\d+Z$/, '.000Z');
    const ref = (id: string, minutesAgo: number, uri?: string) => ({
      contentType: GENERAL,
      contentId: id,
      contentUri: uri ?? `${s!.front.url}/api/v1.0/${s!.tenantId}/activity/feed/audit/${id}`,
      contentCreated: iso(Date.now() - minutesAgo * 60_000),
      contentExpiration: iso(Date.now() + 6 * 24 * HOUR),
    });
    const extra = [
      ref('hostile-records', 150),
      ref('hostile-flaky', 140),
      ref('hostile-oversize', 130),
      ref('hostile-foreign', 120, `${f.url}/api/v1.0/${s.tenantId}/activity/feed/audit/hostile-foreign`),
    ];
    s.front.hooks.listing = (_r, entries, headers) => ({ status: 200, headers, body: JSON.stringify([...entries, ...extra]) });
    let flakyCount = 0;
    s.front.hooks.replace = (r) => {
      if (r.route !== 'blob') return undefined;
      if (r.contentId === 'hostile-records') return { status: 200, body: hostile.body };
      if (r.contentId === 'hostile-oversize') return { status: 200, body: oversize };
      if (r.contentId === 'hostile-flaky') {
        // An HTML error page, then JSON that is not an array, then the real body.
        const n = (flakyCount = flakyCount + 1);
        if (n === 1) return { status: 200, headers: { 'Content-Type': 'text/html' }, body: '<html>oops</html>' };
        if (n === 2) return { status: 200, body: JSON.stringify({ error: 'an object, not an array' }) };
        return { status: 200, body: flakyBody };
      }
      return undefined;
    };
    const r = await s.runToEnd();
    assert.equal((await r.exited).code, 0, r.out.slice(-2000));

    const acked = s.rx.ackedIds();
    for (const id of [...hostile.ids, ...templates.slice(5, 7).map((t) => String(t.Id))]) assert.ok(acked.has(id), `record ${id} delivered`);
    const ofBlob = s.rx.events.filter((e) => e.record?.o365_bridge?.content_id === 'hostile-records');
    const invalid = ofBlob.filter((e) => e.tag.startsWith('o365.invalid.'));
    for (const id of hostile.quarantinedIds) {
      const ev = ofBlob.find((e) => e.record.Id === id)!;
      assert.ok(ev.tag.startsWith('o365.invalid.'), `${id} quarantined (${ev.tag})`);
      assert.ok(ev.record.o365_bridge.errors.length > 0, 'with a reason');
    }
    assert.equal(invalid.length, hostile.anonymousQuarantined + hostile.quarantinedIds.length, `quarantined events: ${invalid.map((e) => e.tag).join(', ')}`);
    const reasons = JSON.stringify(invalid.map((e) => e.record.o365_bridge.errors));
    assert.match(reasons, /over the [0-9]+-byte limit/, 'the 10 MB record is quarantined as too large');
    assert.match(reasons, /nested/, 'the deep nesting is quarantined');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);

    const cp = s.checkpoint(GENERAL)!;
    assert.ok(cp.lost.some((l) => l.contentId === 'hostile-oversize' && l.code === 'BLOB_TOO_LARGE'), 'the oversize blob is reported');
    assert.ok(cp.lost.some((l) => l.contentId === 'hostile-foreign' && l.code === 'FOREIGN_HOST'), 'the foreign blob is reported');
    assert.equal(f.connections, 0, 'no connection reached the other host');
    assert.ok(flakyCount >= 3, 'the flaky blob was fetched again');

    const a = s.account({ note: `${invalid.length} quarantined; oversize+foreign refused`, extra: [...hostile.ids, ...templates.slice(5, 7).map((t) => String(t.Id))], refused: 2, maxDuplicates: 0 });
    assert.deepEqual(a.missing, []);
    assert.deepEqual(s.secretLeaks(), []);
  });
});
