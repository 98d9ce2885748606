import { strict as assert } from 'node:assert';
import type { ContentRef } from '../../../src/contracts';
import {
  BlobFailures,
  classifyBlobFailure,
  compareRefs,
  earliestReachable,
  HOUR_MS,
  isContentRef,
  listingGap,
  listingStart,
  unreachableRange,
  windowClosable,
  MAX_AGE_MS,
  planWindows,
  uniqueRefs,
  WindowFinalizer,
} from '../../../src/sources/o365/windows';
import { WINDOW_SAFETY_MARGIN_MS } from '../../../src/sources/o365/api/window';

const NOW = Date.parse('2026-11-25T12:00:00.000Z');
const plan = { now: NOW, initialLookbackMs: 24 * HOUR_MS, trailingMs: 3 * HOUR_MS, ageMarginMs: 15 * 60_000 };

function ref(id: string, created: string): ContentRef {
  return { contentType: 'Audit.General', contentId: id, contentUri: `https://api/x/${id}`, contentCreated: created, contentExpiration: '2026-12-02T00:00:00.000Z' };
}

describe('poller decisions (windows, cursor)', () => {
  it('starts a first run initialLookback ago', () => {
    assert.equal(listingStart(null, plan), NOW - 24 * HOUR_MS);
  });

  it('never starts beyond 7 days back, but at the earliest start the API answers for (not 15 minutes later)', () => {
    assert.equal(listingStart(null, { ...plan, initialLookbackMs: 10 * 24 * HOUR_MS }), NOW - MAX_AGE_MS + WINDOW_SAFETY_MARGIN_MS);
    assert.equal(listingStart('2026-11-01T00:00:00.000Z', plan), NOW - MAX_AGE_MS + WINDOW_SAFETY_MARGIN_MS);
    assert.equal(earliestReachable(plan), NOW - MAX_AGE_MS + WINDOW_SAFETY_MARGIN_MS);
  });

  it('a checkpoint older than the retention: the unrecoverable range is (cursor, earliest reachable)', () => {
    for (const days of [8, 30]) {
      const cursor = new Date(NOW - days * 24 * HOUR_MS).toISOString();
      assert.deepEqual(unreachableRange(cursor, plan), { from: cursor, to: new Date(NOW - MAX_AGE_MS + WINDOW_SAFETY_MARGIN_MS).toISOString(), code: 'CONTENT_EXPIRED' });
    }
    assert.equal(unreachableRange(new Date(NOW - 6 * 24 * HOUR_MS).toISOString(), plan), null);
    assert.equal(unreachableRange(null, plan), null, 'a first run has no gap');
  });

  it('a window is closed only when the API was asked for the whole of it and answered to its last page', () => {
    const w = { start: NOW - 2 * HOUR_MS, end: NOW };
    assert.equal(windowClosable(w, { asked: { start: w.start, end: w.end }, complete: true }), true);
    assert.equal(windowClosable(w, { asked: null, complete: true }), false, 'never asked (clamped away)');
    assert.equal(windowClosable(w, undefined), false);
    assert.equal(windowClosable(w, { asked: { start: w.start, end: w.end }, complete: false }), false, 'page bound hit');
    assert.equal(windowClosable(w, { asked: { start: w.start + 60_000, end: w.end }, complete: true }), false, 'start moved forward');
    assert.deepEqual(listingGap(w, { asked: { start: w.start + 60_000, end: w.end }, complete: true }), {
      from: new Date(w.start).toISOString(),
      to: new Date(w.start + 60_000).toISOString(),
      code: 'CONTENT_EXPIRED',
    });
    assert.equal(listingGap(w, { asked: { start: w.start, end: w.end }, complete: true }), null);
  });

  it('a blob answering 302/307/431 (non-retryable, for itself alone) is deferred, then lost after the give-up time or its expiration', () => {
    assert.equal(classifyBlobFailure({ code: 'API_BAD_REQUEST', retryable: false }), 'defer');
    assert.equal(classifyBlobFailure({ code: 'API_SERVER', retryable: true }), 'retry');
    assert.equal(classifyBlobFailure({ code: 'CONTENT_EXPIRED', retryable: false }), 'lost');
    assert.equal(classifyBlobFailure({ code: 'API_FORBIDDEN', retryable: false }), 'fatal');
    const f = new BlobFailures(HOUR_MS, 2);
    const r = ref('b1', '2026-11-25T10:00:00.000Z');
    assert.equal(f.giveUp(r, 'API_BAD_REQUEST', NOW), false);
    assert.equal(f.giveUp(r, 'API_BAD_REQUEST', NOW + HOUR_MS - 1), false);
    assert.equal(f.giveUp(r, 'API_BAD_REQUEST', NOW + HOUR_MS), true);
    assert.equal(f.get('b1')!.attempts, 3);
    const expiring = { ...ref('b2', '2026-11-25T10:00:00.000Z'), contentExpiration: new Date(NOW + 1000).toISOString() };
    assert.equal(f.giveUp(expiring, 'API_BAD_REQUEST', NOW), false);
    assert.equal(f.giveUp(expiring, 'API_BAD_REQUEST', NOW + 1000), true, 'past its expiration');
    f.giveUp(ref('b3', '2026-11-25T10:00:00.000Z'), 'X', NOW);
    assert.equal(f.size, 2, 'bounded');
    f.forget('b3');
    assert.equal(f.get('b3'), undefined);
  });

  it('a contentCreated that only Date.parse accepts ("99999") is not a content reference', () => {
    assert.equal(isContentRef({ contentId: 'a', contentUri: 'https://x', contentCreated: '99999' }), false);
    assert.equal(isContentRef({ contentId: 'a', contentUri: 'https://x', contentCreated: '2026-11-25T10:00:00.000Z' }), true);
  });

  it('re-lists the trailing window when caught up, and resumes from the cursor when behind', () => {
    assert.equal(listingStart('2026-11-25T11:59:00.000Z', plan), NOW - 3 * HOUR_MS);
    assert.equal(listingStart('2026-11-24T00:00:00.000Z', plan), Date.parse('2026-11-24T00:00:00.000Z'));
  });

  it('plans contiguous windows of at most 24 h ending now', () => {
    const start = NOW - 7 * 24 * HOUR_MS + 15 * 60_000;
    const ws = planWindows(start, plan);
    assert.equal(ws.length, 7);
    assert.equal(ws[0].start, start);
    for (let i = 0; i < ws.length; i++) {
      assert.ok(ws[i].end - ws[i].start <= 24 * HOUR_MS && ws[i].end > ws[i].start);
      if (i > 0) assert.equal(ws[i].start, ws[i - 1].end);
    }
    assert.equal(ws[ws.length - 1].end, NOW);
    assert.deepEqual(planWindows(NOW, plan), []);
  });

  it('orders blobs by contentCreated then contentId, and drops listing duplicates', () => {
    const refs = uniqueRefs([ref('b', '2026-11-25T01:00:00.000Z'), ref('a', '2026-11-25T01:00:00.000Z'), ref('c', '2026-11-25T00:30:00.000Z'), ref('a', '2026-11-25T01:00:00.000Z')]).sort(compareRefs);
    assert.deepEqual(refs.map((r) => r.contentId), ['c', 'a', 'b']);
  });

  describe('the ordered finalizer', () => {
    const w = { start: Date.parse('2026-11-25T00:00:00.000Z'), end: Date.parse('2026-11-25T06:00:00.000Z') };
    const refs = [ref('a', '2026-11-25T01:00:00.000Z'), ref('b', '2026-11-25T01:00:00.000Z'), ref('c', '2026-11-25T02:00:00.000Z'), ref('d', '2026-11-25T03:00:00.000Z')];

    it('moves the cursor only over the contiguous finished prefix', () => {
      const f = new WindowFinalizer(refs, w, { cursor: null, doneAtCursor: [] });
      assert.equal(f.finish(2), null, 'c finished first: nothing before it is done');
      assert.equal(f.finish(3), null);
      assert.deepEqual(f.finish(0), { cursor: '2026-11-25T01:00:00.000Z', doneAtCursor: ['a'] });
      assert.deepEqual(f.finish(1), { cursor: '2026-11-25T03:00:00.000Z', doneAtCursor: ['d'] });
      assert.ok(f.complete);
    });

    it('tells blobs that share a contentCreated apart', () => {
      const f = new WindowFinalizer(refs, w, { cursor: null, doneAtCursor: [] });
      f.finish(0);
      assert.deepEqual(f.finish(1), { cursor: '2026-11-25T01:00:00.000Z', doneAtCursor: ['a', 'b'] });
    });

    it('a failed blob holds the cursor; the window does not close', () => {
      const f = new WindowFinalizer(refs, w, { cursor: null, doneAtCursor: [] });
      f.finish(0);
      f.finish(2);
      f.finish(3); // b (index 1) failed
      assert.deepEqual(f.current(), { cursor: '2026-11-25T01:00:00.000Z', doneAtCursor: ['a'] });
      assert.equal(f.closeWindow(), null);
    });

    it('a finished window moves the cursor to its end (no endless re-listing of empty windows)', () => {
      const f = new WindowFinalizer([], w, { cursor: '2026-11-24T23:00:00.000Z', doneAtCursor: ['z'] });
      assert.deepEqual(f.closeWindow(), { cursor: '2026-11-25T06:00:00.000Z', doneAtCursor: [] });
    });

    it('late content below the cursor does not move it backwards', () => {
      const late = [ref('late', '2026-11-25T00:10:00.000Z')];
      const f = new WindowFinalizer(late, w, { cursor: '2026-11-25T09:00:00.000Z', doneAtCursor: [] });
      assert.equal(f.finish(0), null);
      assert.equal(f.closeWindow(), null);
      assert.deepEqual(f.current(), { cursor: '2026-11-25T09:00:00.000Z', doneAtCursor: [] });
    });

    it('a failed late blob below the cursor pulls the cursor back to it, so it is listed again', () => {
      const late = [ref('late', '2026-11-25T00:10:00.000Z')];
      const f = new WindowFinalizer(late, w, { cursor: '2026-11-25T09:00:00.000Z', doneAtCursor: ['q'] });
      assert.deepEqual(f.fail(0), { cursor: '2026-11-25T00:10:00.000Z', doneAtCursor: [] });
      assert.equal(listingStart('2026-11-25T00:10:00.000Z', { ...plan, now: Date.parse('2026-11-26T00:00:00.000Z') }), Date.parse('2026-11-25T00:10:00.000Z'));
    });

    it('a failed blob above the cursor leaves the cursor where it is', () => {
      const f = new WindowFinalizer(refs, w, { cursor: null, doneAtCursor: [] });
      f.finish(0);
      assert.equal(f.fail(1), null);
      assert.deepEqual(f.current(), { cursor: '2026-11-25T01:00:00.000Z', doneAtCursor: ['a'] });
    });
  });
});
