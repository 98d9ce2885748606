/**
 * The fault suite's scenario (emulator + real CLI, test/support/faults-harness.ts) pointed at a real
 * receiver instead of the in-process one, and the checks every delivery shares: what the receiver
 * wrote against the emulator's ledger, record by record.
 */
import { strict as assert } from 'node:assert';
import { createPrivateKey } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { contentTypeTagPart } from '../../../src/shape/tags';
import { KNOWN_SHARED_KEY, Scenario, type ScenarioOptions } from '../../support/faults-harness';
import type { Receiver, ReceivedEvent } from '../../support/receiver';
import { makeTestCert, type TestCert } from '../../support/receiver-tls';
import { RealReceiver, type Kind, type FluentdVersion, type WrittenEvent } from './receivers';

export const USER = 'o365-bridge';
export const PASSWORD = 'interop-Password-7c1e';
const KEY_PASSPHRASE = 'interop-key-passphrase';

export type Mode = 'plain' | 'shared key' | 'shared key + user' | 'TLS' | 'TLS + shared key + user';
export const MODES: Mode[] = ['plain', 'shared key', 'shared key + user', 'TLS', 'TLS + shared key + user'];

/**
 * What the scenario's accounting reads from a receiver (`ackedIds`, `events`), taken from what the real
 * receiver wrote: for a real receiver, "acknowledged" is only provable as "written".
 */
export class WrittenView {
  events: ReceivedEvent[] = [];
  written: WrittenEvent[] = [];
  constructor(readonly rr: RealReceiver) {}
  refresh(): void {
    this.written = this.rr.events();
    this.events = this.written.map((e) => ({ tag: e.tag, time: e.time, record: e.record }));
  }
  ackedIds(): Set<string> {
    return this.ids();
  }
  ids(): Set<string> {
    return new Set(this.events.map((e) => e.record?.Id).filter((x): x is string => typeof x === 'string'));
  }
  get received(): number {
    return this.events.length;
  }
  async stop(): Promise<void> {
    /* the RealReceiver is closed by its owner */
  }
}

export interface Rig {
  s: Scenario;
  rr: RealReceiver;
  view: WrittenView;
  cert: TestCert;
  close(): Promise<void>;
}

export interface RigOptions {
  kind: Kind;
  version?: FluentdVersion;
  mode: Mode;
  scenario?: ScenarioOptions;
  /** The receiver's whole config instead of the default (`{{PORT}}`, `{{DIR}}` filled in). */
  config?: string;
  /** Receiver settings that differ from the bridge's (refusal tests). */
  receiver?: { sharedKey?: string; users?: Record<string, string>; tls?: boolean };
}

/** A scenario delivering to a real receiver in one of the modes, the bridge configured to match. */
export async function startRig(name: string, o: RigOptions): Promise<Rig> {
  const tls = o.mode.startsWith('TLS');
  const key = o.mode !== 'plain' && o.mode !== 'TLS';
  const user = o.mode.endsWith('user');
  const s = await Scenario.start(name, o.scenario);
  let rr: RealReceiver | undefined;
  try {
    const cert = makeTestCert('receiver.test', ['receiver.test', 'localhost']);
    const certFile = path.join(s.dir, 'rx.crt');
    const keyFile = path.join(s.dir, 'rx.key');
    fs.writeFileSync(certFile, cert.cert);
    // Encrypted, as a careful user keeps it (Fluentd warns about a key without a passphrase).
    fs.writeFileSync(keyFile, createPrivateKey(cert.key).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: KEY_PASSPHRASE }));
    const rxTls = o.receiver?.tls ?? tls;
    rr = await RealReceiver.start({
      kind: o.kind,
      version: o.version,
      config: o.config,
      sharedKey: o.receiver && 'sharedKey' in o.receiver ? o.receiver.sharedKey : key ? KNOWN_SHARED_KEY : undefined,
      users: o.receiver && 'users' in o.receiver ? o.receiver.users : user ? { [USER]: PASSWORD } : undefined,
      tls: rxTls ? { certFile, keyFile, passphrase: KEY_PASSPHRASE } : undefined,
    });
    // The in-process receiver the scenario started is not used: the accounting reads what the real one wrote.
    await s.rx.stop();
    const view = new WrittenView(rr);
    s.rx = view as unknown as Receiver;
    fs.writeFileSync(path.join(s.dir, 'rx-ca.pem'), cert.caPem);
    s.writeConfig({
      sink: {
        port: rr.port,
        ackTimeoutSeconds: 10,
        sharedKey: key ? { env: 'FAULTS_SHARED_KEY' } : undefined,
        username: user ? USER : undefined,
        password: user ? { env: 'INTEROP_PASSWORD' } : undefined,
        tls: tls ? { enabled: true, caFile: 'rx-ca.pem' } : undefined,
      },
    });
    process.env.INTEROP_PASSWORD = PASSWORD;
    const r = rr;
    return {
      s,
      rr: r,
      view,
      cert,
      close: async () => {
        await s.close();
        await r.close();
      },
    };
  } catch (e) {
    await s.close();
    await rr?.close();
    throw e;
  }
}

/** Lets the receiver write out everything it buffered and reads what it wrote. */
export async function collect(rig: Rig): Promise<void> {
  await rig.rr.drain();
  rig.view.refresh();
}

/** CreationTime (`YYYY-MM-DDTHH:MM:SS[.fraction][Z]`, UTC) as EventTime parts, computed here, not by the bridge. */
export function expectedTime(creationTime: unknown): { sec: number; nsec: number } | null {
  const m = typeof creationTime === 'string' ? /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z?$/.exec(creationTime) : null;
  if (!m || Number.isNaN(Date.parse(m[1] + 'Z'))) return null;
  return { sec: Date.parse(m[1] + 'Z') / 1000, nsec: Number((m[2] ?? '').padEnd(9, '0').slice(0, 9)) };
}

/**
 * Every record the emulator served up to the saved cursors was written exactly once, under a tag that
 * names its content type (the quarantine's for invalid ones), at its CreationTime to the nanosecond,
 * and the record as the API sent it, with only the bridge's `o365_bridge` object added.
 */
export function expectExact(rig: Rig): { events: number; tags: number; invalid: number; withFraction: number } {
  const { s, view } = rig;
  const a = s.account({ maxDuplicates: 0 });
  assert.deepEqual(a.missing, [], `${s.name}: records served and never written by ${rig.rr.name}`);
  assert.equal(a.row.duplicates, 0, `${s.name}: records written twice`);
  assert.ok(a.row.delivered > 0, 'nothing was delivered');
  const byBlob = new Map<string, Map<string, Record<string, unknown>>>();
  const original = (contentId: string, id: string) => {
    let m = byBlob.get(contentId);
    if (!m) {
      m = new Map(s.emu.ledger.blobRecords(contentId).map((r) => [r.Id as string, r]));
      byBlob.set(contentId, m);
    }
    return m.get(id);
  };
  const tags = new Set<string>();
  let invalid = 0;
  let withFraction = 0;
  for (const e of view.written) {
    if (e.tag === PROBE_TAG) continue;
    const { o365_bridge: meta, ...rest } = e.record as { o365_bridge: { content_id: string; content_type: string; tenant: string; errors?: unknown[] } } & Record<string, unknown>;
    assert.ok(meta, `${e.tag}: no o365_bridge`);
    assert.equal(meta.tenant, s.tenantId);
    const src = original(meta.content_id, rest.Id as string);
    assert.ok(src, `record ${String(rest.Id)} is not in blob ${meta.content_id}`);
    assert.deepEqual(rest, src, `record ${String(rest.Id)} changed on its way through ${rig.rr.name}`);
    const ct = contentTypeTagPart(meta.content_type);
    const expectedPrefix = meta.errors ? `o365.invalid.${ct}.` : `o365.${ct}.`;
    assert.ok(e.tag.startsWith(expectedPrefix), `tag ${e.tag} does not start with ${expectedPrefix}`);
    if (meta.errors) invalid++;
    tags.add(e.tag);
    // A quarantined record may lack a usable CreationTime (that can be why it is quarantined): its time is the bridge's clock.
    const want = expectedTime(src.CreationTime);
    if (want === null && meta.errors) continue;
    assert.ok(want, `valid record ${String(rest.Id)} has CreationTime ${String(src.CreationTime)}`);
    assert.deepEqual(e.time, want, `event time of ${String(rest.Id)} (CreationTime ${String(src.CreationTime)})`);
    if (want.nsec !== 0) withFraction++;
  }
  return { events: view.written.length, tags: tags.size, invalid, withFraction };
}

/** Tag of the probe events sent straight through the sink (not from the emulator). */
export const PROBE_TAG = 'o365.interop.probe';

/**
 * Events the emulator does not produce: times with every nanosecond digit in use (CreationTime has whole
 * seconds there), and values that a careless encoder or receiver would change.
 */
export function probeEvents(): Array<{ tag: string; time: { sec: number; nsec: number }; record: Record<string, unknown> }> {
  const nsecs = [1, 999_999_999, 123_456_789, 500_000_000, 0];
  return nsecs.map((nsec, i) => ({
    tag: PROBE_TAG,
    time: { sec: 1_764_547_200 + i, nsec },
    record: {
      Id: `probe-${i}`,
      text: 'é✓ 𝄞 "quoted" \\ back\tslash\n',
      n: 42 + i,
      neg: -7,
      f: 0.1,
      big: 9_007_199_254_740_991,
      yes: true,
      nil: null,
      arr: [1, 'a', { x: [] }],
      obj: { nested: { deep: 'x' } },
      empty: '',
      emptyObj: {},
    },
  }));
}

/** The probe events arrived once each, time to the nanosecond, records equal. */
export function expectProbes(rig: Rig, sent: ReturnType<typeof probeEvents>): void {
  const got = rig.view.written.filter((e) => e.tag === PROBE_TAG);
  assert.equal(got.length, sent.length, `${got.length} of ${sent.length} probe events written by ${rig.rr.name}`);
  for (const p of sent) {
    const e = got.find((g) => g.record.Id === p.record.Id);
    assert.ok(e, `probe ${String(p.record.Id)} missing`);
    assert.deepEqual(e.time, p.time, `probe ${String(p.record.Id)}: time`);
    assert.deepEqual(e.record, p.record, `probe ${String(p.record.Id)}: record`);
  }
}
