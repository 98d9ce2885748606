/**
 * How far V8 lets the old generation grow past what is live, set once at start by `run` and `demo`.
 *
 * Why: the bridge's live heap is small (about 30 MiB in the memory scenario), but records that wait
 * in a batch being filled survive two scavenges and are promoted, so the old generation fills with
 * short-lived garbage. After each mark-compact V8 sets the next limit at up to 4 × what is live when
 * collecting is cheap, so RSS peaked at 2.5 × the live heap (issue 17: 242–276 MiB). A growing factor
 * of 1 + HEAP_GROWING_PERCENT/100 caps the limit at that multiple of the live size. At 100 (twice):
 * peak 205 MiB, at no measurable CPU cost. 50 (factor 1.5) then gave 197 MiB but cost 10–20 % more
 * CPU per record (five times the mark-compacts: bench/results/issue-17-memory.md). Since, promotion
 * halved (record Ids as words, issue-17-round4.md) and dropped buffers leave at once: 50 now takes the
 * memory scenario from 136 to 128 MiB with 4.2 mark-compacts per 100k records instead of 2.0, and
 * three back-to-back pairs of the throughput scenario showed no CPU cost above their noise
 * (bench/results/issue-17-round5.md).
 *
 * `--heap-growing-percent` is read at every mark-compact, so setting it after start takes effect
 * (the semi-space size is not: it is fixed when the heap is set up, which is why the young
 * generation is left alone). An operator who sets the flag (NODE_OPTIONS or the command line) keeps
 * their value; O365FB_HEAP_TUNING=0 turns this off.
 */
import * as v8 from 'node:v8';

export const HEAP_GROWING_PERCENT = 50;

const FLAG = '--heap-growing-percent';

/**
 * Sets the growing factor unless the operator chose one or turned tuning off. Returns the flag set,
 * or null when nothing was set. Idempotent.
 */
export function tuneHeap(o: { execArgv?: readonly string[]; env?: NodeJS.ProcessEnv; set?: (flags: string) => void } = {}): string | null {
  const env = o.env ?? process.env;
  if (env.O365FB_HEAP_TUNING === '0') return null;
  const given = [...(o.execArgv ?? process.execArgv), ...(env.NODE_OPTIONS ?? '').split(/\s+/)];
  // V8 accepts both spellings (dashes or underscores).
  if (given.some((a) => a.replace(/_/g, '-').startsWith(FLAG))) return null;
  const flag = `${FLAG}=${HEAP_GROWING_PERCENT}`;
  (o.set ?? v8.setFlagsFromString)(flag);
  return flag;
}
