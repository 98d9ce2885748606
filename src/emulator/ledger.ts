/**
 * The ledger answers "what was there to get" by re-running the (cheap) plan and Id functions, so
 * it stores nothing per record; only served content ids are remembered (bounded).
 */
import type { Catalog, BlobMeta } from './catalog';
import { contentTypeIndex } from './catalog';
import { serializeBlob, blobRecordIds } from './records/blob';
import type { TenantIdentity } from './records/identity';
import { EMULATOR_CONTENT_TYPES, type Ledger, type LedgerBlob, type LedgerQuery, type RecordIdSets } from './types';

const MAX_SERVED_IDS = 2_000_000;

export class EmulatorLedger implements Ledger {
  private readonly servedIds = new Map<string, Set<string>>();
  private servedCount = 0;
  private totals = { blobs: 0, records: 0, bytes: 0 };

  constructor(
    private readonly catalog: Catalog,
    private readonly seedHash: number,
    private readonly tenantById: (tenantId: string) => TenantIdentity | undefined,
    private readonly contentUri: (tenantId: string, contentId: string) => string,
    private readonly now: () => number,
  ) {}

  /** Called by the server for every blob answered 200. */
  noteServed(tenantId: string, contentId: string, records: number, bytes: number): void {
    this.totals.blobs++;
    this.totals.records += records;
    this.totals.bytes += bytes;
    if (this.servedCount >= MAX_SERVED_IDS) return;
    let set = this.servedIds.get(tenantId);
    if (!set) this.servedIds.set(tenantId, (set = new Set()));
    if (!set.has(contentId)) {
      set.add(contentId);
      this.servedCount++;
    }
  }

  private metas(tenantId: string, t0: number | Date, t1: number | Date, q: LedgerQuery = {}): BlobMeta[] {
    const t = this.tenantById(tenantId);
    if (!t) throw new Error(`ledger: unknown tenant ${tenantId}`);
    const start = +t0;
    const end = +t1;
    const asOf = q.asOf ?? this.now();
    const cts = q.contentType ? [contentTypeIndex(q.contentType)] : EMULATOR_CONTENT_TYPES.map((_, i) => i);
    if (cts[0] < 0) throw new Error(`ledger: unknown content type ${q.contentType}`);
    const out: BlobMeta[] = [];
    for (const ct of cts) out.push(...this.catalog.windowBlobs(t, ct, start, end, asOf));
    return out;
  }

  blobs(tenantId: string, t0: number | Date, t1: number | Date, q: LedgerQuery = {}): LedgerBlob[] {
    return this.metas(tenantId, t0, t1, q)
      .filter((b) => q.includeExpired || !b.expired)
      .map((b) => this.describe(b));
  }

  describe(b: BlobMeta): LedgerBlob {
    const prev = b.duplicateRecord ? this.catalog.previousBlob(b) : undefined;
    return {
      tenantId: b.tenant.tenantId,
      contentType: b.contentType,
      contentId: b.contentId,
      contentUri: this.contentUri(b.tenant.tenantId, b.contentId),
      contentCreated: b.contentCreated,
      visibleAt: b.visibleAt,
      contentExpiration: b.contentExpiration,
      recordCount: b.baseCount + (prev && prev.baseCount > 0 ? 1 : 0),
      late: b.late,
      lateListed: b.lateListed,
      listedTwice: b.listedTwice,
      duplicateRecord: b.duplicateRecord,
      expired: b.expired,
    };
  }

  recordIds(tenantId: string, t0: number | Date, t1: number | Date, q: LedgerQuery = {}): RecordIdSets {
    const valid = new Set<string>();
    const invalid = new Set<string>();
    let duplicates = 0;
    for (const b of this.metas(tenantId, t0, t1, q)) {
      if (b.expired && !q.includeExpired) continue;
      blobRecordIds(this.catalog, b, (id, bad) => {
        const set = bad ? invalid : valid;
        if (set.has(id)) duplicates++;
        else set.add(id);
      });
    }
    return { valid: [...valid], invalid: [...invalid], duplicates };
  }

  recordCounts(tenantId: string, t0: number | Date, t1: number | Date, q: LedgerQuery = {}): { valid: number; invalid: number; duplicates: number } {
    const counts = { valid: 0, invalid: 0, duplicates: 0 };
    this.forEachRecordId(tenantId, t0, t1, (_id, bad, dup) => {
      if (dup) counts.duplicates++;
      else if (bad) counts.invalid++;
      else counts.valid++;
    }, q);
    return counts;
  }

  forEachRecordId(tenantId: string, t0: number | Date, t1: number | Date, fn: (id: string, invalid: boolean, duplicate: boolean) => void, q: LedgerQuery = {}): void {
    const metas = this.metas(tenantId, t0, t1, q).filter((b) => q.includeExpired || !b.expired);
    // A copied record is a duplicate when its source blob is in the same account; no Id set needed.
    const inWindow = new Set(metas.map((b) => b.contentId));
    for (const b of metas) {
      for (let k = 0; k < b.baseCount; k++) fn(this.catalog.recordId(b, k), this.catalog.isInvalid(b, k), false);
      const prev = b.duplicateRecord ? this.catalog.previousBlob(b) : undefined;
      if (prev && prev.baseCount > 0) fn(this.catalog.recordId(prev, 0), this.catalog.isInvalid(prev, 0), inWindow.has(prev.contentId));
    }
  }

  expiredContentIds(tenantId: string, t0: number | Date, t1: number | Date, q: LedgerQuery = {}): string[] {
    return this.metas(tenantId, t0, t1, q)
      .filter((b) => b.expired)
      .map((b) => b.contentId);
  }

  blobRecords(contentId: string): Record<string, unknown>[] {
    const tenantHex = /^\d{12}\$\d{12}\$([0-9a-f]{32})/.exec(contentId)?.[1];
    const t = tenantHex ? this.tenantById(tenantHex) : undefined;
    if (!t) throw new Error('ledger: content id of no known tenant');
    const r = this.catalog.resolveContentId(t, contentId);
    if (r.kind !== 'ok') throw new Error('ledger: no such content');
    return JSON.parse(serializeBlob(this.catalog, this.seedHash, r.blob).body.toString("utf8")) as Record<string, unknown>[];
  }

  servedContentIds(tenantId?: string): string[] {
    if (tenantId) return [...(this.servedIds.get(tenantId) ?? [])];
    const all: string[] = [];
    for (const set of this.servedIds.values()) all.push(...set);
    return all;
  }

  served(): { blobs: number; records: number; bytes: number } {
    return { ...this.totals };
  }
}
