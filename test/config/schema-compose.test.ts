/** The config schema's sink section is composed from the sink registry: each sink brings its own keys. */
import { strict as assert } from 'node:assert';
import { composeConfigSchema, configSchema } from '../../src/config/schema';
import { SINKS, type SinkModule } from '../../src/sinks';

type Node = Record<string, unknown>;
const sinkOf = (s: Node) => (s.properties as Record<string, Node>).sink;
const fake = (type: string, properties: Record<string, unknown>, dependentRequired?: Record<string, string[]>): SinkModule => ({
  type,
  acknowledges: true,
  create: () => {
    throw new Error('not in this test');
  },
  describe: () => type,
  largestEvent: () => 1,
  configSchema: { properties, ...(dependentRequired ? { dependentRequired } : {}) },
});

describe('config schema composed from the sink registry', () => {
  it('sink.type lists every registered sink; the forward keys come from its folder, the core keys stay', () => {
    const sink = sinkOf(configSchema as Node);
    const props = sink.properties as Record<string, Node>;
    assert.deepEqual(props.type.enum, Object.keys(SINKS));
    assert.deepEqual(Object.keys(props), ['type', 'host', 'port', 'tls', 'sharedKey', 'username', 'password', 'ackTimeoutSeconds', 'maxBatchBytes', 'maxBatchEvents', 'maxInFlightBatches']);
    assert.deepEqual(sink.dependentRequired, { username: ['password', 'sharedKey'], password: ['username'] });
  });

  it('a new sink is its module: its type and keys appear, nothing else changes', () => {
    const s = composeConfigSchema({ ...SINKS, http: fake('http', { url: { type: 'string', minLength: 1 } }, { url: ['port'] }) });
    const sink = sinkOf(s);
    const props = sink.properties as Record<string, Node>;
    assert.deepEqual(props.type.enum, [...Object.keys(SINKS), 'http']);
    assert.equal(props.type.description, `${[...Object.keys(SINKS), 'http'].join(' | ')}.`);
    assert.deepEqual(props.url, { type: 'string', minLength: 1 });
    assert.deepEqual((sink.dependentRequired as Record<string, string[]>).url, ['port']);
    // The registry's own schema object is not modified.
    assert.ok(!('url' in (sinkOf(configSchema as Node).properties as Node)));
  });

  it('refuses a sink that redefines a core key, or a key another sink defines differently', () => {
    assert.throws(() => composeConfigSchema({ ...SINKS, bad: fake('bad', { maxBatchEvents: { type: 'string' } }) }), /sink bad: config key sink\.maxBatchEvents is the delivery core's/);
    assert.throws(() => composeConfigSchema({ ...SINKS, bad: fake('bad', { host: { type: 'integer' } }) }), /sink bad: config key sink\.host is defined differently by another sink/);
    // The same definition twice is one key.
    const host = (sinkOf(configSchema as Node).properties as Record<string, Node>).host;
    assert.doesNotThrow(() => composeConfigSchema({ ...SINKS, ok: fake('ok', { host }) }));
  });
});
