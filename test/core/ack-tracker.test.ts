import { strict as assert } from 'node:assert';
import { AckTracker, type CursorPolicy, type CursorState } from '../../src/core/ack-tracker';
import { DeliveredIds } from '../../src/core/dedup';
import { silentLogger } from '../../src/obs/log';
import { realClock } from '../../src/core/limits';
import { checkpointShapeProblem, MAX_GAPS, type Checkpoint } from '../../src/state/checkpoint';
import { buildReport, formatReport } from '../../src/commands/status';

function memStore() {
  const files = new Map<string, string>();
  let writes = 0;
  let gate: Promise<void> = Promise.resolve();
  return {
    files,
    get writes() {
      return writes;
    },
    hold(p: Promise<void>) {
      gate = p;
    },
    async load(t: string, c: string): Promise<Checkpoint | null> {
      const s = files.get(t + c);
      return s ? (JSON.parse(s) as Checkpoint) : null;
    },
    async save(cp: Checkpoint) {
      const body = JSON.stringify(cp);
      writes++;
      await gate;
      files.set(cp.tenantId + cp.contentType, body);
    },
  };
}

/** A policy that moves the cursor to unit i's time when i finishes (enough to see it applied). */
function policy(times: string[]): (s: CursorState) => CursorPolicy {
  return () => ({
    finish: (i) => ({ cursor: times[i], doneAtCursor: [] }),
    fail: () => null,
    closeWindow: () => ({ cursor: '2024-05-01T02:00:00Z', doneAtCursor: [] }),
    complete: true,
  });
}

describe('ack tracker', () => {
  const deps = (store: ReturnType<typeof memStore>, delivered = new DeliveredIds(100)) => ({ store, tenantId: 't1', contentType: 'Audit.General', delivered, clock: realClock, logger: silentLogger, recentCapacity: 10 });

  it('marks record Ids delivered only on an acknowledgement, keyed by tenant; lost records are not', async () => {
    const delivered = new DeliveredIds(100);
    const t = await AckTracker.open(deps(memStore(), delivered));
    assert.equal(delivered.has('t1', 'a'), false);
    t.batchAcked({ id: 'blob', at: '2024-05-01T00:00:00Z' }, ['a', 'b'], [{ recordId: 'b', recordType: 1, code: 'SINK_EVENT_TOO_LARGE' }]);
    assert.equal(delivered.has('t1', 'a'), true);
    assert.equal(delivered.has('t2', 'a'), false);
    assert.equal(delivered.has('t1', 'b'), false, 'a lost record is not "delivered"');
    assert.deepEqual(
      t.state.lost.map((l) => [l.contentId, l.recordId, l.code]),
      [['blob', 'b', 'SINK_EVENT_TOO_LARGE']],
    );
  });

  it('is the one that moves the cursor and remembers finished units; a failed unit is not finished', async () => {
    const store = memStore();
    const t = await AckTracker.open(deps(store));
    const w = t.window(policy(['2024-05-01T00:00:00Z', '2024-05-01T01:00:00Z']));
    w.finished(0, { id: 'b0', at: '2024-05-01T00:00:00Z' });
    w.failed(1);
    await t.persist();
    const cp = JSON.parse(store.files.get('t1Audit.General')!) as Checkpoint;
    assert.equal(cp.cursor, '2024-05-01T00:00:00Z');
    assert.deepEqual(cp.recent, [['b0', '2024-05-01T00:00:00Z']]);
    const again = await AckTracker.open(deps(store));
    assert.equal(again.isFinished({ id: 'b0', at: '2024-05-01T00:00:00Z' }), true);
    assert.equal(again.isFinished({ id: 'b1', at: '2024-05-01T01:00:00Z' }), false);
  });

  it('a lost range is recorded once, above the cursor only, moves the cursor to its end, and is bounded (issue 12)', async () => {
    const store = memStore();
    const t = await AckTracker.open(deps(store));
    t.window(policy(['2024-05-01T00:00:00Z'])).finished(0, { id: 'b0', at: '2024-05-01T00:00:00Z' });
    // Partly below the cursor: only the part above it is lost.
    const e = t.lostRange({ from: '2024-04-30T00:00:00Z', to: '2024-05-01T06:00:00Z', code: 'CONTENT_EXPIRED' });
    assert.deepEqual(e && [e.from, e.to], ['2024-05-01T00:00:00Z', '2024-05-01T06:00:00Z']);
    assert.equal(t.cursor.cursor, '2024-05-01T06:00:00Z');
    assert.deepEqual(t.cursor.doneAtCursor, []);
    // Already passed: nothing recorded again.
    assert.equal(t.lostRange({ from: '2024-05-01T00:00:00Z', to: '2024-05-01T05:00:00Z', code: 'CONTENT_EXPIRED' }), null);
    for (let i = 0; i < MAX_GAPS + 5; i++) t.lostRange({ from: '2024-05-02T00:00:00Z', to: new Date(Date.parse('2024-05-02T00:00:00Z') + (i + 1) * 1000).toISOString(), code: 'CONTENT_EXPIRED' });
    await t.persist();
    const cp = JSON.parse(store.files.get('t1Audit.General')!) as Checkpoint;
    assert.equal(cp.gaps!.length, MAX_GAPS, 'bounded');
    assert.equal(cp.gaps![MAX_GAPS - 1].to, new Date(Date.parse('2024-05-02T00:00:00Z') + (MAX_GAPS + 5) * 1000).toISOString(), 'the newest kept');
    assert.equal(checkpointShapeProblem(cp), undefined, 'a valid checkpoint');
    assert.match(checkpointShapeProblem({ ...cp, gaps: [{ from: 1 }] }) ?? '', /gaps/);
  });

  it('one write at a time; calls during a write share the next one, which carries every change', async () => {
    const store = memStore();
    const t = await AckTracker.open(deps(store));
    let open!: () => void;
    store.hold(new Promise<void>((r) => (open = r)));
    const w = t.window(policy(['2024-05-01T00:00:00Z', '2024-05-01T00:30:00Z', '2024-05-01T01:00:00Z']));
    w.finished(0, { id: 'b0', at: '2024-05-01T00:00:00Z' });
    const p1 = t.persist();
    w.finished(1, { id: 'b1', at: '2024-05-01T00:30:00Z' });
    const p2 = t.persist();
    w.finished(2, { id: 'b2', at: '2024-05-01T01:00:00Z' });
    const p3 = t.persist();
    assert.equal(p2, p3, 'queued calls share one write');
    open();
    await Promise.all([p1, p2, p3]);
    assert.equal(store.writes, 2);
    assert.equal((JSON.parse(store.files.get('t1Audit.General')!) as Checkpoint).cursor, '2024-05-01T01:00:00Z');
  });

  it('status shows lost records with their Id, apart from lost blobs', async () => {
    const t = await AckTracker.open(deps(memStore()));
    t.batchAcked({ id: 'blob-9', at: '2024-05-01T00:00:00Z' }, ['r1'], [{ recordId: 'r1', recordType: 1, code: 'SINK_EVENT_TOO_LARGE' }]);
    const cp = { ...t.state, updatedAt: '2024-05-01T00:00:00Z' } as Checkpoint;
    const text = formatReport(buildReport({ stateDir: '/s', tenants: [{ id: 't1', name: 'contoso', contentTypes: ['Audit.General'] }] as never }, [cp], new Date('2024-05-01T01:00:00Z')));
    assert.match(text, /lost records \(refused by the sink even in their reduced form; not delivered\): 1/);
    assert.match(text, /contoso {2}Audit\.General {2}record r1 {2}in blob-9 {2}SINK_EVENT_TOO_LARGE/);
    assert.doesNotMatch(text, /lost blobs/);
  });
  // issue 14: the delivered-blob record over the retention is durable state too; the tracker alone feeds and writes it.
  it('feeds its FinishedRecord with finished units only, consults it, and writes it after the checkpoint when asked', async () => {
    const store = memStore();
    const held = new Set<string>();
    const order: string[] = [];
    const origSave = store.save.bind(store);
    store.save = async (cp: Checkpoint) => {
      await origSave(cp);
      order.push('checkpoint');
    };
    let flushed: string[] = [];
    const record = {
      has: (u: { id: string }) => held.has(u.id),
      add: (u: { id: string }) => void held.add(u.id),
      flush: async () => {
        flushed = [...held].sort();
        order.push('record');
      },
    };
    const ids = new DeliveredIds(100);
    const t = await AckTracker.open({ ...deps(store, ids), record });
    const times = ['2024-05-01T00:00:00Z', '2024-05-01T00:01:00Z', '2024-05-01T00:02:00Z'];
    const w = t.window(policy(times));
    // Read and partly acknowledged, never finished: no trace in the record.
    t.batchAcked({ id: 'b0', at: times[0] }, ['r1'], []);
    w.failed(0);
    w.finished(1, { id: 'b1', at: times[1] });
    t.lostLate({ id: 'old-lost', at: '2024-04-28T00:00:00Z' }, 'CONTENT_EXPIRED');
    t.finishedLate({ id: 'old-late', at: '2024-04-27T00:00:00Z' });
    assert.deepEqual([...held].sort(), ['b1', 'old-late', 'old-lost']);
    assert.equal(t.isFinished({ id: 'b0', at: times[0] }), false);
    // Found in the record alone (e.g. after `recent` was pruned): finished.
    held.add('from-disk');
    assert.equal(t.isFinished({ id: 'from-disk', at: '2024-04-26T00:00:00Z' }), true);
    await t.persist();
    assert.deepEqual(order, ['checkpoint'], 'a plain persist leaves the record alone');
    await t.persist({ record: true });
    assert.deepEqual(order, ['checkpoint', 'checkpoint', 'record']);
    assert.deepEqual(flushed, ['b1', 'from-disk', 'old-late', 'old-lost']);
    const cp = JSON.parse([...store.files.values()][0]) as Checkpoint;
    assert.deepEqual(cp.lost.map((l) => l.contentId), ['old-lost']);
  });
});
