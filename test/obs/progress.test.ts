import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import sinon from 'sinon';
import { memoryLogger } from '../../src/obs/log';
import { createProgress, formatDuration } from '../../src/obs/progress';

/** A stream that records what was written; `isTTY` as given. */
function fakeStream(isTTY: boolean, columns?: number): Writable & { isTTY: boolean; columns?: number; text(): string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return Object.assign(w, { isTTY, columns, text: () => chunks.join('') });
}

describe('obs/progress', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: Date.UTC(2024, 0, 1), toFake: ['setInterval', 'clearInterval', 'Date'] });
  });
  afterEach(() => clock.restore());

  it('writes nothing to the stream when not a TTY, only periodic log lines', () => {
    const stream = fakeStream(true); // isTTY option overrides the stream's own flag
    const logger = memoryLogger();
    const p = createProgress({ stream, isTTY: false, logger, intervalMs: 10_000 });
    p.setPlan('t1', 'Audit.Exchange', 4);
    p.setPlan('t1', 'Audit.General', 4);
    p.records('t1', 500);
    clock.tick(5_000);
    assert.equal(logger.lines.length, 0, 'nothing before the first interval');
    p.windowDone('t1', 'Audit.Exchange');
    p.windowDone('t1', 'Audit.Exchange');
    clock.tick(5_000);
    assert.equal(logger.lines.length, 1);
    const l = JSON.parse(logger.lines[0]);
    assert.equal(l.msg, 'progress');
    assert.equal(l.level, 'info');
    assert.equal(l.tenant, 't1');
    assert.equal(l.windowsDone, 2);
    assert.equal(l.windowsTotal, 8);
    assert.equal(l.records, 500);
    assert.equal(l.recordsPerSec, 50); // 500 records over the first 10 s
    assert.equal(l.etaSeconds, 30); // 2 windows took 10 s, 6 to go

    clock.tick(10_000); // nothing moved: no line
    assert.equal(logger.lines.length, 1);
    p.records('t1', 10);
    p.stop();
    assert.equal(logger.lines.length, 2, 'stop logs the tenants that moved');
    p.stop();
    clock.tick(60_000);
    assert.equal(logger.lines.length, 2, 'stopped: no more lines');
    assert.equal(stream.text(), '');
  });

  it('logs one line per tenant that moved', () => {
    const logger = memoryLogger();
    const p = createProgress({ stream: fakeStream(false), logger, intervalMs: 1000 });
    p.setPlan('t1', 'Audit.Exchange', 2);
    p.setPlan('t2', 'Audit.Exchange', 3);
    clock.tick(1000);
    assert.deepEqual(logger.lines.map((x) => JSON.parse(x).tenant), ['t1', 't2']);
    p.windowDone('t2', 'Audit.Exchange');
    clock.tick(1000);
    assert.deepEqual(logger.lines.map((x) => JSON.parse(x).tenant), ['t1', 't2', 't2']);
    assert.equal(JSON.parse(logger.lines[0]).etaSeconds, null, 'no ETA before a window is done');
    p.stop();
  });

  it('on a TTY redraws one line per tenant in place and never logs', () => {
    const stream = fakeStream(true);
    const logger = memoryLogger();
    const p = createProgress({ stream, logger, intervalMs: 500 });
    p.setPlan('tenant-a', 'Audit.Exchange', 10);
    p.setPlan('tenant-b', 'Audit.SharePoint', 2);
    for (let i = 0; i < 5; i++) p.windowDone('tenant-a', 'Audit.Exchange');
    p.records('tenant-a', 1000);
    clock.tick(500);
    const first = stream.text();
    assert.ok(!first.includes('\x1b[2A'), 'first draw does not move up');
    assert.equal(first.split('\n').length - 1, 2, 'one line per tenant');
    assert.match(first, /tenant-a {2}windows 5\/10 \(50%\) {2}1000 records {2}2000\/s {2}ETA 1s/);
    assert.match(first, /tenant-b {2}windows 0\/2 \(0%\) {2}0 records {2}0\/s {2}ETA \?/);

    p.windowDone('tenant-b', 'Audit.SharePoint');
    clock.tick(500);
    const second = stream.text().slice(first.length);
    assert.ok(second.startsWith('\x1b[2A'), 'redraw moves the cursor up over the previous lines');
    assert.equal((second.match(/\r\x1b\[2K/g) ?? []).length, 2, 'each line cleared before being redrawn');
    assert.match(second, /tenant-b {2}windows 1\/2 \(50%\)/);
    p.stop();
    assert.equal(logger.lines.length, 0);
  });

  it('truncates TTY lines to the terminal width', () => {
    const stream = fakeStream(true, 30);
    const p = createProgress({ stream, logger: memoryLogger(), intervalMs: 500 });
    p.setPlan('a-very-long-tenant-name.onmicrosoft.com', 'Audit.Exchange', 3);
    clock.tick(500);
    p.stop();
    for (const line of stream.text().split('\n').filter(Boolean)) {
      assert.ok(line.replace(/\r\x1b\[2K|\x1b\[\d+A/g, '').length <= 29);
    }
  });

  it('writes nothing at all when nothing was planned', () => {
    const stream = fakeStream(true);
    const logger = memoryLogger();
    const p = createProgress({ stream, logger });
    clock.tick(60_000);
    p.stop();
    assert.equal(stream.text(), '');
    assert.equal(logger.lines.length, 0);
  });

  it('formats durations', () => {
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(59.4), '59s');
    assert.equal(formatDuration(61), '1m01s');
    assert.equal(formatDuration(3 * 3600 + 5 * 60), '3h05m');
    assert.equal(formatDuration(8 * 86400 + 3 * 3600), '8d03h');
  });
});

describe('obs/progress writeAbove', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: Date.UTC(2024, 0, 1), toFake: ['setInterval', 'clearInterval', 'Date'] });
  });
  afterEach(() => clock.restore());

  it('on a TTY puts the line above the block and redraws the block under it', () => {
    const stream = fakeStream(true);
    const p = createProgress({ stream, logger: memoryLogger(), intervalMs: 500 });
    p.writeAbove('before any draw');
    p.setPlan('t1', 'Audit.Exchange', 2);
    clock.tick(500);
    const before = stream.text().length;
    p.writeAbove('{"msg":"hello"}');
    const out = stream.text().slice(before);
    assert.ok(out.startsWith('\x1b[1A\r\x1b[J{"msg":"hello"}\n'), JSON.stringify(out));
    assert.match(out.slice('\x1b[1A\r\x1b[J{"msg":"hello"}\n'.length), /^\r\x1b\[2Kt1 {2}windows 0\/2/);
    assert.ok(stream.text().startsWith('before any draw\n'));
    p.stop();
  });

  it('when not a TTY writes the line as is', () => {
    const stream = fakeStream(false);
    const p = createProgress({ stream, logger: memoryLogger(), intervalMs: 500 });
    p.setPlan('t1', 'Audit.Exchange', 2);
    clock.tick(500);
    p.writeAbove('line');
    assert.equal(stream.text(), 'line\n');
    p.stop();
  });
});
