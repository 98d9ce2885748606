/** Per-tenant request budget over fixed one-minute windows of the emulator's clock. */
export class Throttle {
  private readonly windows = new Map<string, { minute: number; count: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number,
  ) {}

  /** Counts the request; returns 0 when allowed, else the seconds until the window resets. */
  take(tenantKey: string): number {
    const now = this.now();
    const minute = Math.floor(now / 60_000);
    let w = this.windows.get(tenantKey);
    if (!w || w.minute !== minute) {
      w = { minute, count: 0 };
      this.windows.set(tenantKey, w);
    }
    w.count++;
    if (w.count <= this.perMinute) return 0;
    return Math.max(1, Math.ceil(((minute + 1) * 60_000 - now) / 1000));
  }
}
