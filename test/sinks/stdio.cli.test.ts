/**
 * The real CLI with `--sink stdio`, this test as its parent (what the Fluentd plugin does): packets on
 * the child's stdout, acks on its stdin. Every record the source offered arrives and the checkpoint
 * moves only as far as what was acked; closing stdin stops the child (no orphan).
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { Decoder, Encoder, ExtensionCodec } from '@msgpack/msgpack';
import { loadConfig } from '../../src/config/load';
import { MsgpackFrameReader } from '../support/receiver-msgpack';
import { CLI, RIG_SECRET, Rig, waitUntil } from '../plugin/rig';

const codec = new ExtensionCodec();
codec.register({ type: 0, encode: () => null, decode: (d: Uint8Array) => ({ sec: Buffer.from(d).readUInt32BE(0), nsec: Buffer.from(d).readUInt32BE(4) }) });
const decoder = new Decoder({ extensionCodec: codec });
const enc = new Encoder();

class Parent {
  readonly child: ChildProcess;
  readonly ids: string[] = [];
  readonly tags = new Set<string>();
  stderr = '';
  packets = 0;
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  readonly exited: Promise<void>;

  constructor(args: string[], ackWhile: () => boolean) {
    this.child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, RIG_CLIENT_SECRET: RIG_SECRET }, stdio: ['pipe', 'pipe', 'pipe'] });
    const reader = new MsgpackFrameReader(64 * 1024 * 1024);
    this.child.stdout!.on('data', (c: Buffer) =>
      reader.push(c, (frame) => {
        const [tag, entries, option] = decoder.decode(frame) as [string, Uint8Array, { chunk: string }];
        this.packets++;
        if (!ackWhile()) return;
        this.tags.add(tag);
        for (const e of decoder.decodeMulti(entries) as Iterable<[unknown, { Id: string }]>) this.ids.push(e[1].Id);
        this.child.stdin!.write(enc.encode({ ack: option.chunk }));
      }),
    );
    this.child.stdin!.on('error', () => undefined);
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((r) => this.child.on('close', (code, signal) => ((this.exit = { code, signal }), r())));
  }
}

describe('stdio sink through the real CLI (this test as the parent)', function () {
  this.timeout(120_000);
  let rig: Rig;
  afterEach(async () => rig?.close());

  it('--once: every record arrives over stdout, acked on stdin; exit 0; stdout carries nothing but packets', async () => {
    rig = await Rig.start('stdio-cli-once');
    const p = new Parent(['run', '--config', rig.configFile, '--once', '--sink', 'stdio', '--tag-prefix', 'acme.o365'], () => true);
    await p.exited;
    assert.equal(p.exit?.code, 0, p.stderr.slice(-2000));
    const expected = rig.expectedIds();
    assert.ok(expected.size > 50, `the source offered records (${expected.size})`);
    const got = new Set(p.ids);
    assert.deepEqual([...expected].filter((id) => !got.has(id)), [], 'missing');
    assert.equal(p.ids.length, got.size, 'no duplicates without faults');
    assert.ok([...p.tags].every((t) => t.startsWith('acme.o365.')), [...p.tags].join(','));
    // Logs went to stderr, as JSON lines.
    assert.ok(p.stderr.split('\n').filter(Boolean).every((l) => l.startsWith('{')), p.stderr.slice(0, 500));
  });

  it('unacked batches keep the checkpoint back; stdin closing stops the service promptly (no orphan)', async () => {
    rig = await Rig.start('stdio-cli-noack');
    let ack = false;
    const p = new Parent(['run', '--config', rig.configFile, '--sink', 'stdio'], () => ack);
    await waitUntil(() => p.packets > 0, 60_000, 'first packet');
    assert.equal(rig.caughtUp(), false, 'nothing acked: no cursor past the history');
    for (const ct of rig.contentTypes) assert.equal(rig.checkpoint(ct)?.cursor ?? null, null, `${ct}: no cursor without acks`);
    p.child.stdin!.end();
    await p.exited;
    assert.equal(p.exit?.code, 0, p.stderr.slice(-2000));
    assert.match(p.stderr, /closed standard input/);
    ack = true;
  });

  it('--sink stdio replaces the sink section (its forward secrets are not read); both overrides are validated like the file', async () => {
    rig = await Rig.start('stdio-cli-overrides');
    rig.config.sink = { type: 'forward', port: 24224, sharedKey: { env: 'UNSET_SHARED_KEY_VARIABLE' }, maxBatchEvents: 77 };
    rig.writeConfig();
    const env = { RIG_CLIENT_SECRET: RIG_SECRET };
    const cfg = await loadConfig(rig.configFile, env, { sinkType: 'stdio', tagPrefix: 'acme.o365' });
    assert.equal(cfg.sink.type, 'stdio');
    assert.equal(cfg.sink.maxBatchEvents, 77, 'keys that apply to stdio are kept');
    assert.equal(cfg.sink.sharedKey, undefined);
    assert.equal(cfg.tagPrefix, 'acme.o365');
    await assert.rejects(loadConfig(rig.configFile, env), /UNSET_SHARED_KEY_VARIABLE is not set/, 'without the override the forward section is read');
    await assert.rejects(loadConfig(rig.configFile, env, { sinkType: 'kafka' }), /sink.type: expected one of forward, stdout, stdio/);
    await assert.rejects(loadConfig(rig.configFile, env, { sinkType: 'stdio', tagPrefix: 'Bad-Prefix' }), /tagPrefix/);
  });
});
