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
  /** Records read and not settled yet: key → the outcome of the batch carrying it (true: acknowledged). */
  private readonly inFlight = new Map<string, Promise<boolean>>();

  /**
   * `onAdded` (issue-14 hook): told of every Id added, i.e. acknowledged (the persistent record Id
   * store takes them from here, so it never holds an Id that was only read).
   */
  constructor(
    capacity = 200_000,
    private readonly onAdded?: (tenantId: string, ids: readonly string[]) => void,
  ) {
    this.ids = new RecentIds(capacity);
    this.enabled = capacity > 0;
  }

  private readonly enabled: boolean;

  /** The key of a record: computed once per record, then used for every lookup. */
  key(tenantId: string, id: string): string {
    return tenantId + '\u0000' + id;
  }

  has(tenantId: string, id: string): boolean {
    return this.ids.has(this.key(tenantId, id));
  }

  hasKey(key: string): boolean {
    return this.ids.has(key);
  }

  /** Only the ack tracker calls this, on an acknowledgement. */
  add(tenantId: string, id: string): void {
    this.ids.add(this.key(tenantId, id));
    this.onAdded?.(tenantId, [id]);
  }

  /** Several Ids of one acknowledged batch. */
  addAll(tenantId: string, ids: readonly string[]): void {
    if (ids.length === 0) return;
    for (const id of ids) this.ids.add(this.key(tenantId, id));
    this.onAdded?.(tenantId, ids);
  }

  /** Ids acknowledged in an earlier run (loaded from the state dir at start): not reported to onAdded. */
  seed(tenantId: string, ids: Iterable<string>): void {
    for (const id of ids) this.ids.add(this.key(tenantId, id));
  }

  /**
   * When the record is on its way in a batch not settled yet (another blob holding the same record,
   * or the same blob twice), the outcome of that batch: a reader that skips its own copy must wait for
   * it, and deliver its copy after all if it is false.
   */
  pending(key: string): Promise<boolean> | undefined {
    return this.enabled ? this.inFlight.get(key) : undefined;
  }

  /** The record is on its way in a batch whose outcome is `outcome`. */
  claim(key: string, outcome: Promise<boolean>): void {
    if (this.enabled && !this.inFlight.has(key)) this.inFlight.set(key, outcome);
  }

  /** The batch with `outcome` settled: its claims end. */
  unclaim(keys: readonly string[], outcome: Promise<boolean>): void {
    for (const k of keys) if (this.inFlight.get(k) === outcome) this.inFlight.delete(k);
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
