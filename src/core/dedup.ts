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

  /** Forget an Id (its delivery failed for good, so a later copy must not be dropped). */
  delete(id: string): void {
    this.young.delete(id);
    this.old.delete(id);
  }

  get size(): number {
    return this.young.size + this.old.size;
  }
}
