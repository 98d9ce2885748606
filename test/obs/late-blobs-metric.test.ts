import { strict as assert } from 'node:assert';
import { createMetrics, noopMetrics } from '../../src/obs/metrics';
import { parseProm } from './prom-text';

describe('obs/metrics: late_blobs_total', () => {
  it('counts late blobs found by sweeps, by tenant and content type; zero adds nothing', async () => {
    const m = createMetrics({ processMetrics: false });
    m.lateBlobs('t1', 'Audit.General', 1);
    m.lateBlobs('t1', 'Audit.General', 2);
    m.lateBlobs('t1', 'DLP.All', 0);
    const v = parseProm(await m.text());
    assert.equal(v.get('o365_bridge_late_blobs_total{content_type=Audit.General,tenant=t1}'), 3);
    assert.equal(v.get('o365_bridge_late_blobs_total{content_type=DLP.All,tenant=t1}'), undefined);
    noopMetrics.lateBlobs('t1', 'Audit.General', 1);
  });
});
