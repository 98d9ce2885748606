/**
 * Bounded memory of recently delivered record Ids, to drop records Microsoft re-delivers.
 *
 * Two generations of Sets: lookups check both, inserts go to the young one, and when it fills the
 * old one is dropped whole. O(1) per record, no per-entry bookkeeping, memory capped at `capacity`
 * Ids, and an Id is remembered for at least capacity/2 inserts. Records are recognised by `Id`, never
 * by a hash of their bytes: the same record comes back with its fields in another order.
 */
export class RecentIds {
  private young = new Set<string>();
  private old = new Set<string>();
  private readonly half: number;

  /** capacity 0 turns de-duplication off. */
  constructor(capacity = 200_000) {
    this.half = Math.floor(capacity / 2);
  }

  has(id: string): boolean {
    return this.young.has(id) || this.old.has(id);
  }

  add(id: string): void {
    if (this.half === 0) return;
    if (this.young.size >= this.half) {
      this.old = this.young;
      this.young = new Set<string>();
    }
    this.young.add(id);
  }

  get size(): number {
    return this.young.size + this.old.size;
  }
}

/**
 * Record Ids delivered, per tenant: one bound (`capacity` in total, across tenants) over keys
 * (tenant, Id), because two tenants' records are different records even if their Ids were equal.
 * Only the ack tracker adds to it, when a batch holding the record was acknowledged.
 */
export class DeliveredIds {
  private readonly ids: RecentIds;

  constructor(capacity = 200_000) {
    this.ids = new RecentIds(capacity);
  }

  has(tenantId: string, id: string): boolean {
    return this.ids.has(tenantId + '\u0000' + id);
  }

  add(tenantId: string, id: string): void {
    this.ids.add(tenantId + '\u0000' + id);
  }

  get size(): number {
    return this.ids.size;
  }
}

/**
 * The record's Id when it can identify the record: a non-empty string (of sane length). A record
 * without one (missing, empty, not a string) is never dropped as a duplicate.
 */
export function usableId(record: unknown): string | undefined {
  if (record === null || typeof record !== 'object') return undefined;
  const id = (record as { Id?: unknown }).Id;
  return typeof id === 'string' && id.length > 0 && id.length <= 1024 ? id : undefined;
}
