/**
 * Hostile API content for the fault suite: blobs whose records are not objects, carry `__proto__`
 * and `constructor` keys, 10 MB strings, 10 000 levels of nesting or invalid UTF-8, and listing
 * entries that are not objects. Valid records are clones of emulator records with fresh Ids, so the
 * test knows exactly which Ids must arrive.
 */
import { randomUUID } from 'node:crypto';
import type { Emulator } from '../../src/emulator';

/** Valid records (deep copies with new Ids) taken from the emulator's first blob of a content type. */
export function validRecords(emu: Emulator, tenantId: string, contentType: string, n: number, from: number, to: number): Array<Record<string, unknown>> {
  const valid = new Set(emu.ledger.recordIds(tenantId, from, to, { contentType }).valid);
  const out: Array<Record<string, unknown>> = [];
  for (const b of emu.ledger.blobs(tenantId, from, to, { contentType })) {
    for (const r of emu.ledger.blobRecords(b.contentId)) {
      if (!valid.has(String(r.Id))) continue;
      out.push({ ...(JSON.parse(JSON.stringify(r)) as Record<string, unknown>), Id: randomUUID() });
      if (out.length === n) return out;
    }
  }
  throw new Error(`only ${out.length} valid ${contentType} records in the ledger`);
}

export interface HostileBlob {
  body: Buffer;
  /** Ids that must arrive (valid, or quarantined with their Id). */
  ids: string[];
  /** Ids that must arrive quarantined (tagged invalid) but whole. */
  quarantinedIds: string[];
  /** Elements that can only arrive as quarantined stand-ins without an Id. */
  anonymousQuarantined: number;
}

/**
 * `[valid, 1, "a string", null, true, [1,2,3], {__proto__,constructor}, {10 MB string}, 10 000 deep,
 *   {invalid UTF-8}, valid]`.
 */
export function hostileRecordsBlob(templates: Array<Record<string, unknown>>): HostileBlob {
  if (templates.length < 5) throw new Error('need 5 template records');
  const [v1, v2, v3, v4, v5] = templates.map((t) => ({ ...t }));
  // JSON.stringify keeps an own "__proto__" key only when it was created as data (JSON.parse does that).
  const proto = JSON.parse(
    JSON.stringify(v2).replace(/^\{/, '{"__proto__":{"polluted":"yes","Id":"not-this"},"constructor":{"prototype":{"polluted":"yes"}},'),
  ) as Record<string, unknown>;
  const big = { ...v3, BigField: 'x'.repeat(10 * 1024 * 1024) };
  const deep = '['.repeat(10_000) + ']'.repeat(10_000);
  const utf8Head = JSON.stringify({ ...v4, Note: 'MARK' }).split('"MARK"');
  const badUtf8 = Buffer.concat([Buffer.from(utf8Head[0] + '"bad '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(' bytes"' + utf8Head[1])]);
  const parts: Buffer[] = [
    Buffer.from('[' + JSON.stringify(v1) + ',1,"a string",null,true,[1,2,3],'),
    Buffer.from(JSON.stringify(proto) + ','),
    Buffer.from(JSON.stringify(big) + ','),
    Buffer.from(deep + ','),
    badUtf8,
    Buffer.from(',' + JSON.stringify(v5) + ']'),
  ];
  return {
    body: Buffer.concat(parts),
    ids: [v1, proto, v4, v5].map((r) => String(r.Id)),
    quarantinedIds: [String(proto.Id), String(v4.Id)],
    // 5 non-objects, the record over the size limit, the nesting.
    anonymousQuarantined: 7,
  };
}

/** Listing entries that are not usable content references. */
export function junkListingEntries(): unknown[] {
  return [null, 42, 'a string', [1, 2], { contentId: 5 }, { contentId: 'no-uri', contentCreated: 'yesterday' }, { __proto__: null }];
}
