/**
 * Refusals by the real receivers, through the real CLI (`run --once`): wrong shared key, wrong
 * password, TLS to a plain port and the reverse, a CA that did not sign the receiver's certificate, a
 * server name its certificate does not hold. Each must say, in its own words, which setting to fix;
 * and a one-pass run must end non-zero instead of retrying for ever.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChildRun } from '../support/faults-harness';
import { makeTestCert } from '../support/receiver-tls';
import { startRig, USER, type Mode, type Rig, type RigOptions } from './support/bridge';
import { requireReceivers, type FluentdVersion, type Kind } from './support/receivers';

interface Case {
  name: string;
  mode: Mode;
  receiver?: RigOptions['receiver'];
  /** Config patch for the bridge after the rig is set up. */
  bridge?: (rig: Rig) => Record<string, unknown>;
  /** The setting(s) the message must name. */
  names: RegExp[];
  kinds: Kind[];
}

const CASES: Case[] = [
  { name: 'wrong shared key', mode: 'shared key', receiver: { sharedKey: 'not-the-bridges-key' }, names: [/sink\.sharedKey/, /shared_key/], kinds: ['fluentd', 'fluent-bit'] },
  { name: 'wrong password', mode: 'shared key + user', receiver: { users: { [USER]: 'not-the-bridges-password' } }, names: [/sink\.password/, /<user>/], kinds: ['fluentd', 'fluent-bit'] },
  { name: 'TLS to a plain port', mode: 'TLS', receiver: { tls: false }, names: [/sink\.tls\.enabled/, /<transport tls>/, /does not seem to speak TLS/], kinds: ['fluentd', 'fluent-bit'] },
  { name: 'plain to a TLS port', mode: 'plain', receiver: { tls: true }, names: [/sink\.tls\.enabled: true/, /<transport tls>/, /may expect TLS/], kinds: ['fluentd', 'fluent-bit'] },
  {
    name: 'wrong CA',
    mode: 'TLS',
    bridge: (rig) => {
      fs.writeFileSync(path.join(rig.s.dir, 'other-ca.pem'), makeTestCert('someone-else.test').caPem);
      return { sink: { tls: { enabled: true, caFile: 'other-ca.pem' } } };
    },
    names: [/sink\.tls\.caFile/, /not signed by a CA/],
    kinds: ['fluentd'],
  },
  { name: 'wrong server name', mode: 'TLS', bridge: () => ({ sink: { tls: { enabled: true, caFile: 'rx-ca.pem', servername: 'not-the-receiver.test' } } }), names: [/sink\.tls\.servername/, /not valid for "not-the-receiver\.test"/], kinds: ['fluentd'] },
];

/**
 * README ("run --once always ends"): a refused handshake is given up at once, an unreachable receiver
 * after 30 s of failed attempts, "within about 30 s + 2 × sink.ackTimeoutSeconds" (10 s here); plus
 * slack for starting the CLI on a busy machine.
 */
const ACK_TIMEOUT_S = 10;
const ONCE_BOUND_MS = (30 + 2 * ACK_TIMEOUT_S + 40) * 1000;

const TARGETS: Array<{ kind: Kind; version?: FluentdVersion; label: string }> = [
  { kind: 'fluentd', version: '1.16.11', label: 'Fluentd 1.16.11' },
  { kind: 'fluent-bit', label: 'Fluent Bit 4.2.8' },
];

/** The log line that carries the refusal: its message, whatever the log shape. */
function refusal(run: ChildRun): string | undefined {
  for (const l of run.logs()) {
    const err = (l.err ?? l.error) as { code?: string; message?: string } | undefined;
    const text = [l.msg, err?.code, err?.message, l.message].filter(Boolean).join(' ');
    if (/SINK_(AUTH|UNREACHABLE)/.test(JSON.stringify(l))) return text || JSON.stringify(l);
  }
  return undefined;
}

describe('interop: refusals by the real receivers', function () {
  this.timeout(ONCE_BOUND_MS + 180_000);
  const all = TARGETS.flatMap((t) => CASES.filter((c) => c.kinds.includes(t.kind)).map((c) => ({ t, c, key: `${t.label}: ${c.name}` })));
  const rigs = new Map<string, { rig: Rig; run: ChildRun; startedAt: number }>();
  const messages = new Map<string, Map<string, string>>();

  before(async function () {
    requireReceivers(this);
    // All cases at once: each waits on its own receiver, so the waits overlap.
    await Promise.all(
      all.map(async ({ t, c, key }) => {
        const rig = await startRig(`interop: ${key}`, { kind: t.kind, version: t.version, mode: c.mode, receiver: c.receiver });
        if (c.bridge) rig.s.writeConfig(c.bridge(rig));
        const run = rig.s.spawn({}, ['run', '--once', '--config', rig.s.configFile]);
        rigs.set(key, { rig, run, startedAt: Date.now() });
      }),
    );
  });
  after(async () => {
    await Promise.all([...rigs.values()].map((r) => r.rig.close()));
  });

  for (const { t, c, key } of all) {
    it(`${key}: a message naming ${c.names.map((n) => n.source.replace(/\\/g, '')).join(', ')}`, async () => {
      const { run, rig } = rigs.get(key)!;
      const deadline = Date.now() + 60_000;
      while (!refusal(run) && run.running && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const msg = refusal(run);
      assert.ok(msg, `no refusal logged:\n${run.out.slice(-2000)}`);
      for (const n of c.names) assert.match(msg, n);
      if (!messages.has(t.label)) messages.set(t.label, new Map());
      messages.get(t.label)!.set(c.name, msg.replace(/\d+/g, 'N'));
      process.stdout.write(`        ${msg}\n`);
      assert.equal(rig.view.ids().size, 0, 'nothing reached the receiver');
    });
  }

  for (const t of TARGETS) {
    it(`${t.label}: every refusal reads differently`, function () {
      const m = messages.get(t.label);
      if (!m || m.size < CASES.filter((c) => c.kinds.includes(t.kind)).length) {
        process.stdout.write('      skipped: a case above failed\n');
        this.skip();
      }
      assert.equal(new Set(m!.values()).size, m!.size, [...m!].map(([k, v]) => `${k}: ${v}`).join('\n'));
    });
  }

  for (const { key } of all) {
    it(`${key}: run --once ends with exit code 4, naming the code`, async function () {
      const { run, startedAt } = rigs.get(key)!;
      const left = startedAt + ONCE_BOUND_MS - Date.now();
      const done = await Promise.race([run.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), Math.max(0, left)))]);
      assert.ok(done, `run --once still running ${ONCE_BOUND_MS / 1000} s after it started against a refusing receiver:\n${run.out.slice(-1500)}`);
      const { code } = await run.exited;
      assert.ok(code !== null, 'it exited by itself, not by a signal');
      // README, "Exit codes of run --once": 4 = the receiver refused the events or was unreachable.
      assert.equal(code, 4, 'a refused one-pass run exits 4');
      const plain = run.out.split('\n').filter((l) => !l.startsWith('{'));
      assert.ok(plain.some((l) => /SINK_[A-Z_]+/.test(l)), `stderr names the error code:\n${plain.join('\n').slice(-1500)}`);
    });
  }
});
