import { strict as assert } from 'node:assert';
import { clampWindow, earliestStart, formatApiTime, parseApiTime, MAX_AGE_MS, MAX_WINDOW_MS, WINDOW_SAFETY_MARGIN_MS } from '../../../../src/sources/o365/api/window';

const NOW = Date.parse('2025-03-10T12:00:00.000Z');
const H = 3600_000;

describe('api/window', () => {
  it('keeps a valid window, aligned to whole seconds', () => {
    const w = clampWindow(new Date(NOW - 2 * H), new Date(NOW - H), NOW)!;
    assert.equal(w.start.toISOString(), '2025-03-10T10:00:00.000Z');
    assert.equal(w.end.toISOString(), '2025-03-10T11:00:00.000Z');
    assert.equal(w.startClamped, false);
    assert.equal(w.endClamped, false);
  });

  it('moves a start exactly 7 days back forward by the safety margin', () => {
    const w = clampWindow(NOW - MAX_AGE_MS, NOW - MAX_AGE_MS + H, NOW)!;
    assert.equal(+w.start, NOW - MAX_AGE_MS + WINDOW_SAFETY_MARGIN_MS);
    assert.equal(w.startClamped, true);
    assert.ok(+w.start > NOW - MAX_AGE_MS);
  });

  it('caps the window at 24 hours', () => {
    const w = clampWindow(NOW - 3 * 24 * H, NOW, NOW)!;
    assert.equal(+w.end - +w.start, MAX_WINDOW_MS);
    assert.equal(w.endClamped, true);
  });

  it('caps at 24 hours measured from the clamped start', () => {
    const w = clampWindow(NOW - 10 * 24 * H, NOW, NOW)!;
    assert.equal(+w.start, earliestStart(NOW));
    assert.equal(+w.end - +w.start, MAX_WINDOW_MS);
  });

  it('returns null for a window entirely past the limit or empty', () => {
    assert.equal(clampWindow(NOW - 9 * 24 * H, NOW - 8 * 24 * H, NOW), null);
    assert.equal(clampWindow(NOW - H, NOW - H, NOW), null);
    assert.equal(clampWindow(NOW - H, NOW - 2 * H, NOW), null);
    assert.equal(clampWindow(NaN, NOW, NOW), null);
  });

  it('chained windows (next start = previous end) neither overlap nor leave gaps', () => {
    let start = NOW - 3 * 24 * H + 123; // not on a second
    const end = NOW;
    let covered = 0;
    let prevEnd: number | undefined;
    for (let i = 0; i < 10 && start < end; i++) {
      const w = clampWindow(start, end, NOW)!;
      if (prevEnd !== undefined) assert.equal(+w.start, prevEnd);
      covered += +w.end - +w.start;
      prevEnd = +w.end;
      start = +w.end;
    }
    assert.equal(prevEnd, NOW);
    assert.ok(covered >= 3 * 24 * H - 1000);
  });

  it('formats and parses the API time formats as UTC', () => {
    assert.equal(formatApiTime(Date.parse('2025-01-02T03:04:05.678Z')), '2025-01-02T03:04:05');
    assert.equal(parseApiTime('2025-01-02T03:04:05'), Date.parse('2025-01-02T03:04:05Z'));
    assert.equal(parseApiTime('2025-01-02T03:04'), Date.parse('2025-01-02T03:04:00Z'));
    assert.equal(parseApiTime('2025-01-02'), Date.parse('2025-01-02T00:00:00Z'));
    assert.equal(parseApiTime('2025-01-02T03:04:05.123Z'), Date.parse('2025-01-02T03:04:05.123Z'));
    assert.equal(parseApiTime('yesterday'), undefined);
  });
});
