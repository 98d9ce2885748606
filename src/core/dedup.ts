import { GuidClaimTable, GuidTable, guidWords, IdList, parseGuid, type Ids } from './guid-table';

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
 * Record Ids delivered, per tenant: one bound (`capacity` in total, across tenants) over (tenant, Id),
 * because two tenants' records are different records even if their Ids were equal. Only the ack
 * tracker adds to it, when a batch holding the record was acknowledged.
 *
 * The same two generations as RecentIds. GUID Ids (nearly all) sit in one typed-array table per
 * generation, 20 bytes per (tenant, Id) off the heap (guid-table.ts: as strings in Sets, the default
 * 100,000 Ids were about 11 MiB of old space, issue 17); others in a Set per tenant, probed with the
 * Id as the record holds it (no (tenant, Id) string built per record: that concatenation cost more
 * than the lookup, and its garbage showed in the GC counts).
 * In front of the tables and Sets, one bit per hashed Id and generation (a one-hash Bloom filter):
 * nearly every record read was never delivered, and a probe of two 100k-entry generations is several
 * cache misses, while a clear bit answers "not delivered" at once. A set bit only sends the lookup on.
 */
export class DeliveredIds {
  /** GUID Ids (nearly all): one table per generation for every tenant (guid-table.ts). */
  private youngGuids: GuidTable;
  private oldGuids: GuidTable;
  /** Other Ids, as strings, per tenant. */
  private young = new Map<string, Set<string>>();
  private old = new Map<string, Set<string>>();
  private youngSize = 0;
  private oldSize = 0;
  private readonly half: number;
  private readonly enabled: boolean;
  private youngBits: Uint32Array;
  private oldBits: Uint32Array;
  private readonly mask: number;
  /** Tenant → its number in the GUID tables (from 1). */
  private readonly tenantNos = new Map<string, number>();
  /** Per tenant: the view readers use, and the records read and not settled yet (Id → its batch's outcome). */
  private readonly tenants = new Map<string, TenantIds>();

  /**
   * `onAdded` (issue-14 hook): told of every Id added, i.e. acknowledged (the persistent record Id
   * store takes them from here, so it never holds an Id that was only read).
   */
  constructor(
    capacity = 200_000,
    private readonly onAdded?: (tenantId: string, ids: Ids) => void,
  ) {
    this.half = Math.floor(capacity / 2);
    this.enabled = capacity > 0;
    // About 16 bits per Id of a generation (a few % false positives), 8 KiB to 2 MiB per generation.
    let bits = 1 << 16;
    while (bits < this.half * 16 && bits < 1 << 24) bits *= 2;
    this.mask = bits - 1;
    this.youngBits = new Uint32Array(bits >>> 5);
    this.oldBits = new Uint32Array(bits >>> 5);
    this.youngGuids = new GuidTable(Math.max(1, this.half));
    this.oldGuids = new GuidTable(Math.max(1, this.half));
  }

  /** The de-dup view of one tenant: lookups and claims by plain record Id. */
  tenant(tenantId: string): TenantIds {
    let t = this.tenants.get(tenantId);
    if (!t) this.tenants.set(tenantId, (t = new TenantIds(this, tenantId, this.enabled)));
    return t;
  }

  /** A (tenant, Id) key, for callers that hold one value per record across tenants (tests). */
  key(tenantId: string, id: string): string {
    return tenantId + KEY_SEP + id;
  }

  has(tenantId: string, id: string): boolean {
    const guid = parseGuid(id);
    const h = (guid ? guidHash() : idHash(id)) & this.mask;
    const bit = 1 << (h & 31);
    if (((this.youngBits[h >>> 5] | this.oldBits[h >>> 5]) & bit) === 0) return false;
    if (guid) {
      const n = this.tenantNos.get(tenantId);
      return n !== undefined && (this.youngGuids.has(n) || this.oldGuids.has(n));
    }
    const y = this.young.get(tenantId);
    if (y !== undefined && y.has(id)) return true;
    const o = this.old.get(tenantId);
    return o !== undefined && o.has(id);
  }

  hasKey(key: string): boolean {
    const [t, id] = splitKey(key);
    return this.has(t, id);
  }

  private put(tenantId: string, id: string): void {
    if (this.half === 0) return;
    if (this.youngSize >= this.half) this.rotate();
    this.putIn(tenantId, id);
  }

  /** The young generation is full: it becomes the old one, the old one is emptied and reused as the young. */
  private rotate(): void {
    this.old = this.young;
    this.oldSize = this.youngSize;
    this.young = new Map();
    this.youngSize = 0;
    const guids = this.oldGuids;
    this.oldGuids = this.youngGuids;
    guids.clear();
    this.youngGuids = guids;
    const bits = this.oldBits;
    this.oldBits = this.youngBits;
    this.youngBits = bits.fill(0);
  }

  private tenantNo(tenantId: string): number {
    let n = this.tenantNos.get(tenantId);
    if (n === undefined) this.tenantNos.set(tenantId, (n = this.tenantNos.size + 1));
    return n;
  }

  /** Adds to the young generation (counted once, however often it comes). */
  private putIn(tenantId: string, id: string): void {
    if (parseGuid(id)) {
      this.putGuid(this.tenantNo(tenantId));
      return;
    }
    const h = idHash(id) & this.mask;
    this.youngBits[h >>> 5] |= 1 << (h & 31);
    let s = this.young.get(tenantId);
    if (s === undefined) this.young.set(tenantId, (s = new Set()));
    const before = s.size;
    s.add(id);
    this.youngSize += s.size - before;
  }

  /** Only the ack tracker calls this, on an acknowledgement. */
  add(tenantId: string, id: string): void {
    this.put(tenantId, id);
    this.onAdded?.(tenantId, [id]);
  }

  /** Several Ids of one acknowledged batch. */
  addAll(tenantId: string, ids: Ids): void {
    if (ids.length === 0) return;
    if (this.half > 0) {
      if (ids instanceof IdList) {
        // The GUIDs go in as words, without making their strings again.
        const no = this.tenantNo(tenantId);
        for (let i = 0; i < ids.guidCount; i++) {
          if (this.youngSize >= this.half) this.rotate();
          ids.loadGuid(i);
          this.putGuid(no);
        }
        for (const id of ids.others()) this.put(tenantId, id);
      } else for (const id of ids) this.put(tenantId, id);
    }
    this.onAdded?.(tenantId, ids);
  }

  /** The GUID in guidWords, for tenant number `no`, into the young generation. */
  private putGuid(no: number): void {
    const h = guidHash() & this.mask;
    this.youngBits[h >>> 5] |= 1 << (h & 31);
    if (this.youngGuids.add(no)) this.youngSize++;
  }

  /** Ids acknowledged in an earlier run (loaded from the state dir at start): not reported to onAdded. */
  seed(tenantId: string, ids: Iterable<string>): void {
    for (const id of ids) this.put(tenantId, id);
  }

  /**
   * When the record is on its way in a batch not settled yet (another blob holding the same record,
   * or the same blob twice), the outcome of that batch: a reader that skips its own copy must wait for
   * it, and deliver its copy after all if it is false.
   */
  pending(key: string): Promise<boolean> | undefined {
    const [t, id] = splitKey(key);
    return this.tenant(t).pending(id);
  }

  /** The record is on its way in a batch whose outcome is `outcome`. */
  claim(key: string, outcome: Promise<boolean>): void {
    const [t, id] = splitKey(key);
    this.tenant(t).claim(id, outcome);
  }

  /** The batch with `outcome` settled: its claims end. */
  unclaim(keys: Ids, outcome: Promise<boolean>): void {
    for (const k of keys) {
      const [t, id] = splitKey(k);
      this.tenant(t).unclaim([id], outcome);
    }
  }

  get size(): number {
    return this.youngSize + this.oldSize;
  }
}

const KEY_SEP = '\u0000';

/** The Bloom hash of the GUID in guidWords (its words are random already: one mix). */
function guidHash(): number {
  const h = Math.imul(guidWords[0] ^ guidWords[1] ^ guidWords[2] ^ guidWords[3], 0x9e3779b1);
  return (h ^ (h >>> 16)) >>> 0;
}

/** FNV-1a over the Id's UTF-16 code units: cheap, and Ids (GUIDs mostly) spread well. */
function idHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf(KEY_SEP);
  return i < 0 ? ['', key] : [key.slice(0, i), key.slice(i + 1)];
}

/**
 * One tenant's side of DeliveredIds, keyed by the record Id alone: what the poller asks per record,
 * and the Claims a batcher marks its records with (its "keys" are then plain Ids).
 */
export class TenantIds {
  /** Claims of GUID Ids: Id → the number of the outcome it waits for (see outcomeNo). */
  private readonly claimed = new GuidClaimTable();
  /** Claims of other Ids. */
  private readonly inFlight = new Map<string, Promise<boolean>>();
  /** Outcome numbers in use: the promise, and how many GUID claims hold it. */
  private readonly outcomes: Array<Promise<boolean> | undefined> = [undefined];
  private readonly refs: number[] = [0];
  private readonly numbers = new Map<Promise<boolean>, number>();
  private readonly freeNumbers: number[] = [];

  constructor(
    private readonly all: DeliveredIds,
    readonly tenantId: string,
    private readonly enabled: boolean,
  ) {}

  /** Acknowledged (delivered) before. */
  has(id: string): boolean {
    return this.all.has(this.tenantId, id);
  }

  /** See DeliveredIds.pending. */
  pending(id: string): Promise<boolean> | undefined {
    if (!this.enabled) return undefined;
    if (parseGuid(id)) {
      if (this.claimed.size === 0) return undefined;
      const n = this.claimed.get();
      return n === 0 ? undefined : this.outcomes[n];
    }
    return this.inFlight.get(id);
  }

  claim(id: string, outcome: Promise<boolean>): void {
    if (!this.enabled) return;
    if (parseGuid(id)) {
      if (this.claimed.get() !== 0) return;
      const n = this.numberOf(outcome); // leaves guidWords alone
      this.claimed.setIfAbsent(n);
      this.refs[n]++;
      return;
    }
    if (!this.inFlight.has(id)) this.inFlight.set(id, outcome);
  }

  unclaim(ids: Ids, outcome: Promise<boolean>): void {
    if (!this.enabled) return;
    const n = this.numbers.get(outcome);
    if (ids instanceof IdList) {
      if (n !== undefined) for (let i = 0; i < ids.guidCount; i++) this.dropClaim(ids, i, n);
      this.unclaimTexts(ids.others(), outcome);
      return;
    }
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (parseGuid(id)) {
        if (n !== undefined && this.claimed.deleteIf(n)) this.release(n);
      } else if (this.inFlight.get(id) === outcome) this.inFlight.delete(id);
    }
  }

  private dropClaim(ids: IdList, i: number, n: number): void {
    ids.loadGuid(i);
    if (this.claimed.deleteIf(n)) this.release(n);
  }

  private unclaimTexts(ids: readonly string[], outcome: Promise<boolean>): void {
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (this.inFlight.get(id) === outcome) this.inFlight.delete(id);
    }
  }

  /** The number for `outcome` (one per batch part with claims), taken on its first claim. */
  private numberOf(outcome: Promise<boolean>): number {
    let n = this.numbers.get(outcome);
    if (n === undefined) {
      n = this.freeNumbers.pop() ?? this.outcomes.length;
      this.outcomes[n] = outcome;
      this.refs[n] = 0;
      this.numbers.set(outcome, n);
    }
    return n;
  }

  /** One claim of outcome number n ended; the number is free once none is left. */
  private release(n: number): void {
    if (--this.refs[n] > 0) return;
    const o = this.outcomes[n]!;
    this.numbers.delete(o);
    this.outcomes[n] = undefined;
    this.freeNumbers.push(n);
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
