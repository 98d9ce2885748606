import { strict as assert } from 'node:assert';
import { configSchema } from '../../src/config/load';
import { suggestKey, keyPath } from '../../src/config/problems';

type Node = Record<string, unknown>;

/** Every property of the schema with its path, following $refs into $defs. */
function properties(schema: Node): Array<[string, Node]> {
  const defs = schema.$defs as Record<string, Node>;
  const out: Array<[string, Node]> = [];
  const walk = (node: Node, at: string) => {
    const props = node.properties as Record<string, Node> | undefined;
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        out.push([at ? `${at}.${k}` : k, v]);
        walk(v, at ? `${at}.${k}` : k);
      }
    }
    if (node.items) walk(node.items as Node, `${at}[]`);
    if (typeof node.$ref === 'string') walk(defs[node.$ref.split('/').pop() as string], at);
  };
  walk(schema, '');
  return out;
}

describe('config schema', () => {
  const props = properties(configSchema as Node);

  it('documents every setting (the README config reference is generated from it)', () => {
    assert.ok(props.length > 50);
    for (const [p, node] of props) {
      const ref = typeof node.$ref === 'string' ? ((configSchema as Node).$defs as Record<string, Node>)[node.$ref.split('/').pop() as string] : undefined;
      assert.ok(typeof node.description === 'string' || typeof ref?.description === 'string', `${p} has no description`);
    }
  });

  it('gives a reason ($comment) for every numeric default', () => {
    for (const [p, node] of props) {
      if (typeof node.default === 'number') assert.ok(typeof node.$comment === 'string' && node.$comment.length > 10, `${p} default has no $comment`);
    }
  });

  it('rejects unknown keys in every object', () => {
    const check = (node: Node, at: string) => {
      if (node.type === 'object') assert.equal(node.additionalProperties, false, `${at} allows unknown keys`);
    };
    check(configSchema as Node, '(root)');
    for (const [p, node] of props) check(node, p);
    for (const [name, node] of Object.entries((configSchema as Node).$defs as Record<string, Node>)) check(node, `$defs.${name}`);
  });

  it('suggests the key meant', () => {
    assert.equal(suggestKey('intervall', ['intervalSeconds', 'once']), 'intervalSeconds');
    assert.equal(suggestKey('prot', ['host', 'port']), 'port');
    assert.equal(suggestKey('ackTimeout', ['ackTimeoutSeconds', 'port']), 'ackTimeoutSeconds');
    assert.equal(suggestKey('lookback', ['initialLookbackHours', 'once']), 'initialLookbackHours');
    assert.equal(suggestKey('zzz', ['host', 'port']), undefined);
  });

  it('writes key paths with list indexes', () => {
    const root = { tenants: [{ cloud: 'x' }], 'odd key': { a: 1 } };
    assert.equal(keyPath('/tenants/0/cloud', root), 'tenants[0].cloud');
    assert.equal(keyPath('/tenants/0', root, 'foo'), 'tenants[0].foo');
    assert.equal(keyPath('/odd key/a', root), '["odd key"].a');
    assert.equal(keyPath('', root), '(top level)');
  });
});
