import { strict as assert } from 'node:assert';
import { noteListed, quietFeedStart, QUIET_WARN_MS } from '../../../src/sources/o365/quiet-feed';

const T0 = Date.UTC(2025, 2, 10, 12, 0, 0);

describe('sources/o365/quiet-feed (audit-off heuristic, pure)', () => {
  it('warns once a full 24 h of real time has passed with nothing listed, once per quiet stretch', () => {
    let s = quietFeedStart(T0);
    let r = noteListed(s, T0 + QUIET_WARN_MS - 1, 0);
    assert.equal(r.warn, false);
    s = r.state;
    r = noteListed(s, T0 + QUIET_WARN_MS, 0);
    assert.equal(r.warn, true);
    s = r.state;
    assert.equal(noteListed(s, T0 + 2 * QUIET_WARN_MS, 0).warn, false, 'once');
    // Content resets the stretch; a new one warns again 24 h later.
    s = noteListed(s, T0 + 50 * 3_600_000, 3).state;
    assert.equal(noteListed(s, T0 + 50 * 3_600_000 + QUIET_WARN_MS - 1, 0).warn, false);
    assert.equal(noteListed(s, T0 + 50 * 3_600_000 + QUIET_WARN_MS, 0).warn, true);
  });

  it('counts from when content was last seen before the process, when known (never from the future)', () => {
    assert.equal(noteListed(quietFeedStart(T0, T0 - QUIET_WARN_MS), T0, 0).warn, true);
    assert.equal(quietFeedStart(T0, T0 + 1000).since, T0);
    assert.equal(quietFeedStart(T0).since, T0);
  });

  it('any number of empty listings in no time is not 24 hours', () => {
    let s = quietFeedStart(T0);
    for (let i = 0; i < 1000; i++) {
      const r = noteListed(s, T0 + i, 0);
      assert.equal(r.warn, false);
      s = r.state;
    }
  });
});
