import { strict as assert } from 'node:assert';
import { demoOutput, samplingSink } from '../../src/commands/demo';
import type { OutEvent, Sink } from '../../src/contracts';

describe('demo: where the output goes (pure)', () => {
  const d = (o: Partial<Parameters<typeof demoOutput>[0]>) => demoOutput({ stdoutIsTTY: false, stdoutFlag: false, outFile: false, fluentd: false, ...o });
  it('piped: as it always was (JSON lines on stdout, or Fluentd)', () => {
    assert.deepEqual(d({}), { events: 'stdout', pretty: false });
    assert.deepEqual(d({ fluentd: true }), { events: 'fluentd', pretty: false });
  });
  it('--stdout: JSON lines on stdout, even on a terminal or with Fluentd listening', () => {
    assert.deepEqual(d({ stdoutFlag: true, stdoutIsTTY: true, fluentd: true }), { events: 'stdout', pretty: false });
  });
  it('a terminal: events to a file (or Fluentd), then samples and the summary', () => {
    assert.deepEqual(d({ stdoutIsTTY: true }), { events: 'file', pretty: true });
    assert.deepEqual(d({ stdoutIsTTY: true, fluentd: true }), { events: 'fluentd', pretty: true });
    assert.deepEqual(d({ outFile: true }), { events: 'file', pretty: true });
  });
  it('the sampling sink keeps the first event per Defender type and passes every batch on', async () => {
    const sent: OutEvent[][] = [];
    const inner: Sink = {
      encode: (e) => (sent.push(e), { events: e.length, bytes: 0 }),
      deliver: async () => undefined,
      release: () => undefined,
      close: async () => undefined,
    };
    const samples = new Map<number, OutEvent>();
    const s = samplingSink(inner, samples);
    const ev = (rt: number, id: string): OutEvent => ({ tag: 't', time: { sec: 1, nsec: 0 }, record: { RecordType: rt, Id: id } });
    await s.deliver(s.encode([ev(28, 'a'), ev(15, 'b'), ev(28, 'c')]));
    await s.deliver(s.encode([ev(64, 'd')]));
    assert.equal(sent.flat().length, 4);
    assert.deepEqual([...samples].map(([rt, e]) => [rt, e.record.Id]), [
      [28, 'a'],
      [64, 'd'],
    ]);
  });
});
