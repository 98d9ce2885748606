/**
 * Records to run through the ECS shaper in the field tests: every record builder of the emulator (all
 * content types, several seeds each), our own builders (records.ts), and the shared real samples when
 * ../shared/samples exists (read, not copied).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng } from '../../../src/emulator/rand';
import { recordTime } from '../../../src/emulator/time';
import { tenantIdentity } from '../../../src/emulator/records/identity';
import { AAD_MIX } from '../../../src/emulator/records/aad';
import { DLP_MIX } from '../../../src/emulator/records/dlp';
import { EXCHANGE_MIX } from '../../../src/emulator/records/exchange';
import { GENERAL_MIX } from '../../../src/emulator/records/general';
import { SHAREPOINT_MIX } from '../../../src/emulator/records/sharepoint';
import { packageRoot } from '../../../src/paths';
import * as R from './records';

export const SAMPLES = path.join(packageRoot, '..', 'shared', 'samples', 'real-records.ndjson');

export function emulatorRecords(seeds = 5): R.Rec[] {
  const out: R.Rec[] = [];
  const t = tenantIdentity('7e1c2b3a-4d5e-4f60-8172-93a4b5c6d7e8', 'contoso.example', 7);
  for (const mix of [AAD_MIX, EXCHANGE_MIX, SHAREPOINT_MIX, GENERAL_MIX, DLP_MIX]) {
    for (const build of mix.values) {
      for (let s = 0; s < seeds; s++) {
        const ms = Date.UTC(2025, 2, 4, 10, 0, s);
        out.push(build({ rng: new Rng(1000 + s * 31 + out.length), t, id: R.guid(), ms, time: recordTime(ms) }));
      }
    }
  }
  return out;
}

export function builderRecords(): R.Rec[] {
  return [
    R.exchangeAdmin('New-InboxRule', { Name: 'r', ForwardTo: 'x@evil.example', DeleteMessage: 'True' }),
    R.aadLogon(),
    R.aadDirectory('Add member to role.', { ModifiedProperties: [{ Name: 'Role.DisplayName', NewValue: 'Global Administrator', OldValue: '' }] }),
    R.aadDirectory('Add user.'),
    R.sharePoint('FileDownloaded', 'OneDrive'),
    R.sccAlert('AlertTriggered', 'Email reported by user as malware or phish'),
    R.teams('MemberAdded', { Members: [{ UPN: 'robin@contoso.com', Role: 1, DisplayName: 'Robin' }], TeamName: 'Eng' }),
    R.mailItemsAccessed(),
    R.threatMail(),
    R.urlClick(),
    R.atpContent(),
    R.airInvestigation(),
  ];
}

export function sampleRecords(): R.Rec[] {
  if (!fs.existsSync(SAMPLES)) return [];
  return fs
    .readFileSync(SAMPLES, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as R.Rec);
}

/** Every leaf path of a document with its values (arrays flattened; objects under a flattened field not descended). */
export function leafPaths(doc: unknown, stopAt: (p: string) => boolean, prefix = '', out = new Map<string, unknown[]>()): Map<string, unknown[]> {
  const add = (p: string, v: unknown) => {
    const l = out.get(p);
    if (l) l.push(v);
    else out.set(p, [v]);
  };
  if (Array.isArray(doc)) {
    for (const x of doc) leafPaths(x, stopAt, prefix, out);
    return out;
  }
  if (typeof doc === 'object' && doc !== null && !(prefix && stopAt(prefix))) {
    for (const [k, v] of Object.entries(doc)) leafPaths(v, stopAt, prefix ? `${prefix}.${k}` : k, out);
    return out;
  }
  if (doc !== null && doc !== undefined) add(prefix, doc);
  return out;
}
