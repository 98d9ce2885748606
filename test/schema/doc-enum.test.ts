import { strict as assert } from 'node:assert';
import Ajv2020 from 'ajv/dist/2020';
import { addDocEnumKeyword, type DocEnumSchema } from '../../src/schema/doc-enum';
import { RECORD_TYPE_TABLES } from '../../src/schema/record-types';

const TABLES = RECORD_TYPE_TABLES as unknown as Record<string, Readonly<Record<string, string>>>;

/** The membership test as it was before the bitmap and the exact-spelling set (Sets only). */
function before(schema: DocEnumSchema): (d: unknown) => boolean {
  let values: Array<string | number>;
  let ignoreCase = false;
  if (Array.isArray(schema)) values = schema;
  else if (schema.table !== undefined) values = Object.keys(TABLES[schema.table]).map(Number);
  else {
    values = schema.values ?? [];
    ignoreCase = schema.ignoreCase === true;
  }
  const numbers = new Set(values.filter((v): v is number => typeof v === 'number'));
  const strings = new Set(values.filter((v): v is string => typeof v === 'string').map((v) => (ignoreCase ? v.toLowerCase() : v)));
  return (d) => {
    if (typeof d === 'number') return numbers.size === 0 || numbers.has(d);
    if (typeof d === 'string') return strings.size === 0 || strings.has(ignoreCase ? d.toLowerCase() : d);
    return true;
  };
}

describe('schema/doc-enum membership', () => {
  const knownFor = addDocEnumKeyword(new Ajv2020(), 'default', { warnings: null }, TABLES);
  const schemas: DocEnumSchema[] = [
    { table: 'AuditLogRecordType' },
    { table: 'UserType' },
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17],
    { values: [0, 1, 'online', 'onprem'], ignoreCase: true },
    { values: [0, 1, 2, 'MoveToJMF', 'AddXHeader'], ignoreCase: true },
    { values: ['mail-message', 'mailMessage', 'ip', 'MailCluster'], ignoreCase: true },
    ['Inline', 'Delayed', 'ZAP'],
    [-3, 5000, 2.5, 0],
    [],
  ];
  const inputs: unknown[] = [
    0, -0, 1, 2, 3, 17, 16, 28, 64, 255, 256, 4095, 4096, 5000, -1, -3, 2.5, 1.5, NaN, Infinity, -Infinity, 2 ** 31, Number.MAX_SAFE_INTEGER,
    '', 'online', 'ONLINE', 'Online', 'onprem', 'İnline', 'inline', 'Inline', 'ZAP', 'zap', 'movetojmf', 'MoveToJmf', 'MAILMESSAGE', 'mail-message',
    'mailcluster', 'MailCluster', 'ip', 'IP', 'ı', '0', '1', null, true, [], {}, undefined,
  ];
  for (let n = 0; n < 1200; n++) inputs.push(n);

  it('answers as the Set-only test did, for every value set form and awkward input', () => {
    for (const schema of schemas) {
      const now = knownFor(schema);
      const then = before(schema);
      for (const x of inputs) assert.equal(now(x), then(x), `${JSON.stringify(schema)} / ${typeof x === 'number' ? String(x) : JSON.stringify(x)}`);
    }
  });
});
