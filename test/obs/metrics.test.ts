import { strict as assert } from 'node:assert';
import { createMetrics, noopMetrics, recordTypeLabel } from '../../src/obs/metrics';
import { parseProm } from './prom-text';


describe('obs/metrics', () => {
  it('exposes named counters and gauges with their labels and values', async () => {
    const m = createMetrics({ processMetrics: false });
    m.recordsFetched('t1', 'Audit.Exchange', 28, 10);
    m.recordsFetched('t1', 'Audit.Exchange', 28, 5);
    m.recordsFetched('t1', 'Audit.Exchange', null, 2);
    m.recordsEmitted('t1', 'Audit.Exchange', '28', 14);
    m.recordsInvalid('t1', 'Audit.Exchange', 28, 1);
    m.recordsDuplicate('t1', 'Audit.Exchange', 3);
    m.blobsFetched('t1', 'Audit.Exchange', 2);
    m.blobsExpired('t1', 'Audit.General', 1);
    m.apiRequest('t1', 'listContent', 200);
    m.apiRequest('t1', 'listContent', 200);
    m.apiRequest('t1', 'fetchBlob', 'network');
    m.throttled('t1');
    m.retry('t1', 'API_THROTTLED');
    m.bytesFetched('t1', 4096);
    m.eventsAcked(14);
    m.eventsUnacked(7);
    m.eventsUnacked(3);
    m.checkpointLagSeconds('t1', 'Audit.Exchange', 120.5);
    m.sinkBatches('acked');
    m.sinkBatches('acked');
    m.sinkBatches('timeout');

    const v = parseProm(await m.text());
    const rec = 'content_type=Audit.Exchange,record_type=28,tenant=t1';
    assert.equal(v.get(`o365_bridge_records_fetched_total{${rec}}`), 15);
    assert.equal(v.get('o365_bridge_records_fetched_total{content_type=Audit.Exchange,record_type=unknown,tenant=t1}'), 2);
    assert.equal(v.get(`o365_bridge_records_emitted_total{${rec}}`), 14);
    assert.equal(v.get(`o365_bridge_records_invalid_total{${rec}}`), 1);
    assert.equal(v.get('o365_bridge_records_duplicate_total{content_type=Audit.Exchange,tenant=t1}'), 3);
    assert.equal(v.get('o365_bridge_blobs_fetched_total{content_type=Audit.Exchange,tenant=t1}'), 2);
    assert.equal(v.get('o365_bridge_blobs_expired_total{content_type=Audit.General,tenant=t1}'), 1);
    assert.equal(v.get('o365_bridge_api_requests_total{operation=listContent,status=200,tenant=t1}'), 2);
    assert.equal(v.get('o365_bridge_api_requests_total{operation=fetchBlob,status=network,tenant=t1}'), 1);
    assert.equal(v.get('o365_bridge_api_throttled_total{tenant=t1}'), 1);
    assert.equal(v.get('o365_bridge_retries_total{reason=API_THROTTLED,tenant=t1}'), 1);
    assert.equal(v.get('o365_bridge_bytes_fetched_total{tenant=t1}'), 4096);
    assert.equal(v.get('o365_bridge_events_acked_total'), 14);
    assert.equal(v.get('o365_bridge_events_unacked'), 3);
    assert.equal(v.get('o365_bridge_checkpoint_lag_seconds{content_type=Audit.Exchange,tenant=t1}'), 120.5);
    assert.equal(v.get('o365_bridge_sink_batches_total{outcome=acked}'), 2);
    assert.equal(v.get('o365_bridge_sink_batches_total{outcome=timeout}'), 1);
    // Its own registry: no process metrics unless asked for.
    assert.ok(![...v.keys()].some((k) => k.startsWith('o365_bridge_process_')));
  });

  it('keeps free-form label values bounded and safe', async () => {
    const m = createMetrics({ processMetrics: false, maxLabelValues: 3 });
    for (let i = 0; i < 10; i++) m.retry('t1', `reason-${i}`);
    m.retry('t1', 'reason-0');
    m.sinkBatches('bad "quote"\nnewline');
    const v = parseProm(await m.text());
    assert.equal(v.get('o365_bridge_retries_total{reason=reason-0,tenant=t1}'), 2);
    assert.equal(v.get('o365_bridge_retries_total{reason=other,tenant=t1}'), 7);
    assert.equal([...v.keys()].filter((k) => k.startsWith('o365_bridge_retries_total')).length, 4);
    assert.equal(v.get('o365_bridge_sink_batches_total{outcome=bad__quote__newline}'), 1);
  });

  it('ignores zero, negative and non-finite counts instead of throwing', async () => {
    const m = createMetrics({ processMetrics: false });
    m.recordsFetched('t1', 'Audit.Exchange', 28, 0);
    m.bytesFetched('t1', -5);
    m.eventsAcked(Number.NaN);
    m.checkpointLagSeconds('t1', 'Audit.Exchange', Number.POSITIVE_INFINITY);
    const v = parseProm(await m.text());
    assert.equal(v.get('o365_bridge_records_fetched_total{content_type=Audit.Exchange,record_type=28,tenant=t1}'), undefined);
    assert.equal(v.get('o365_bridge_bytes_fetched_total{tenant=t1}'), undefined);
    assert.equal(v.get('o365_bridge_events_acked_total'), 0);
    assert.equal(v.get('o365_bridge_checkpoint_lag_seconds{content_type=Audit.Exchange,tenant=t1}'), undefined);
  });

  it('separate instances do not share state, and process metrics carry the prefix', async () => {
    const a = createMetrics({ processMetrics: false });
    const b = createMetrics();
    a.eventsAcked(5);
    const vb = parseProm(await b.text());
    assert.equal(vb.get('o365_bridge_events_acked_total'), 0);
    assert.ok([...vb.keys()].some((k) => k.startsWith('o365_bridge_process_')));
  });

  it('maps record types to bounded labels', () => {
    assert.equal(recordTypeLabel(28), '28');
    assert.equal(recordTypeLabel('064'), '64');
    assert.equal(recordTypeLabel(2.5), 'unknown');
    assert.equal(recordTypeLabel(-1), 'unknown');
    assert.equal(recordTypeLabel('ExchangeAdmin'), 'unknown');
    assert.equal(recordTypeLabel(null), 'unknown');
  });

  it('noopMetrics accepts every call and exports nothing', async () => {
    noopMetrics.recordsFetched('t', 'c', 1, 1);
    noopMetrics.apiRequest('t', 'o', 500);
    noopMetrics.eventsUnacked(3);
    assert.equal(await noopMetrics.text(), '');
  });
});
