/** Fixture loading for the schema tests. Fixtures live in test/fixtures/records (not compiled). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../../src/paths';

export const FIXTURES = path.join(packageRoot, 'test', 'fixtures', 'records');
export const REAL_RECORDS = path.join(packageRoot, '..', 'shared', 'samples', 'real-records.ndjson');

export type Rec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function sampleBlob(): Rec[] {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, 'sample-blob.json'), 'utf8')) as Rec[];
}

/** A deep copy of the first sample-blob record of the given RecordType. */
export function sampleOf(recordType: number, nth = 0): Rec {
  const found = sampleBlob().filter((r) => r.RecordType === recordType)[nth];
  if (!found) throw new Error(`no sample record of type ${recordType}`);
  return found;
}

export function docExamples(): Array<{ name: string; record: Rec }> {
  const dir = path.join(FIXTURES, 'doc-examples');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ name: f, record: JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Rec }));
}
