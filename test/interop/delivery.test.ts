/**
 * Delivery into the real receivers in every mode: plain, shared key, shared key + user/password, TLS,
 * TLS + both. The real CLI runs one pass (`run --once`) against the emulator; then the receiver is
 * stopped cleanly and what it wrote is compared with the emulator's ledger record by record.
 */
import { strict as assert } from 'node:assert';
import { FLUENTD_VERSIONS, requireReceivers, type FluentdVersion, type Kind } from './support/receivers';
import { createForwardSink } from '../../src/sinks/forward/forward';
import { KNOWN_SHARED_KEY } from '../support/faults-harness';
import { collect, expectExact, expectProbes, MODES, PASSWORD, probeEvents, startRig, USER, type Rig } from './support/bridge';

const TARGETS: Array<{ kind: Kind; version?: FluentdVersion; label: string }> = [
  ...FLUENTD_VERSIONS.map((version) => ({ kind: 'fluentd' as const, version, label: `Fluentd ${version}` })),
  { kind: 'fluent-bit', label: 'Fluent Bit 4.2.8' },
];

describe('interop: delivery into the real receivers, every mode', function () {
  this.timeout(180_000);
  before(function () {
    requireReceivers(this);
  });
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  for (const t of TARGETS) {
    // Fluentd 1.18 shares the forward input with 1.16: the ends of the range are enough there, unless INTEROP_FULL=1.
    const modes = t.version === '1.18.0' && process.env.INTEROP_FULL !== '1' ? MODES.filter((m) => m === 'plain' || m === 'TLS + shared key + user') : MODES;
    for (const mode of modes) {
      it(`${t.label}, ${mode}: every event once, with its tag, EventTime to the nanosecond, the record untouched`, async () => {
        rig = await startRig(`interop: ${t.label}, ${mode}`, {
          kind: t.kind,
          version: t.version,
          mode,
          scenario: { emulator: { historyHours: 2, faults: { invalidRecordRate: 0.05 } } },
        });
        const run = await rig.s.runToEnd();
        assert.equal((await run.exited).code, 0, run.out.slice(-3000));
        // Then probe events straight through the sink, configured the same way.
        const probes = probeEvents();
        const tls = mode.startsWith('TLS');
        const key = mode !== 'plain' && mode !== 'TLS';
        const sink = createForwardSink({
          host: '127.0.0.1',
          port: rig.rr.port,
          tls: tls ? { caPem: rig.cert.caPem } : undefined,
          sharedKey: key ? KNOWN_SHARED_KEY : undefined,
          username: mode.endsWith('user') ? USER : undefined,
          password: mode.endsWith('user') ? PASSWORD : undefined,
          ackTimeoutMs: 10_000,
        });
        try {
          await sink.send(probes);
        } finally {
          await sink.close();
        }
        await collect(rig);
        expectProbes(rig, probes);
        const got = expectExact(rig);
        assert.ok(got.invalid > 0, 'the data set has quarantined records too');
        // The TLS session ends with close_notify: Fluentd has nothing to warn about.
        assert.doesNotMatch(rig.rr.log, /unexpected eof|SSL_read/i, `${t.label} logged an unclean TLS close`);
        assert.doesNotMatch(rig.rr.log, /\[(error|warn)\]|\[\s*(error|warn)\]/, `${t.label} logged a warning:\n${rig.rr.log.split('\n').filter((l) => /warn|error/.test(l)).join('\n')}`);
      });
    }
  }
});
