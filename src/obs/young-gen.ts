/**
 * Keeps V8's young generation at YOUNG_SEMI_SPACE_MIB per semi-space, set at start by `run` (and the
 * bench's bridge child, which measures the product as it runs).
 *
 * Why: on 64-bit Node 20 each semi-space may grow to 16 MiB, and under the bridge's allocation rate it
 * does, so the young generation alone is 32 MiB of resident memory (issue 17: the memory scenario's
 * new space was 32.0 MiB of a 195 MiB peak). The bridge's short-lived garbage (parsed records, encoded
 * once) does not need that much: the throughput bench has always run both the bridge and its floor
 * with 4 MiB semi-spaces. `--max-semi-space-size` is fixed when the heap is set up, so it can't be set
 * from inside, and an operator should not have to pass flags. What can be set from inside is
 * `--semi-space-growth-factor` (read at each growth): it stays at V8's 2 while the new space is below
 * the bound, and is set to 1 (no growth) once it reaches it; if V8 shrinks the new space (idle), the
 * factor goes back to 2 so it can grow back to the bound. V8 grows the new space only after as many
 * bytes survived as it holds (many scavenges), so a check every 50 ms sees every step.
 *
 * An operator who sets any semi-space flag (NODE_OPTIONS or the command line) keeps their choice;
 * O365FB_HEAP_TUNING=0 turns this off, as it does the old-generation setting (heap.ts).
 */
import * as v8 from 'node:v8';

export const YOUNG_SEMI_SPACE_MIB = 4;
const CHECK_MS = 50;
const OPERATOR_FLAGS = ['--max-semi-space-size', '--min-semi-space-size', '--semi-space-growth-factor'];

export interface YoungGenDeps {
  execArgv?: readonly string[];
  env?: NodeJS.ProcessEnv;
  set?: (flags: string) => void;
  /** Bytes committed to the new space (both semi-spaces). */
  newSpaceBytes?: () => number;
}

/** The policy, one check at a time (the timer calls `tick`; tests call it directly). */
export class YoungGenGovernor {
  private capped = false;
  private readonly set: (flags: string) => void;
  private readonly newSpaceBytes: () => number;
  /** New space bytes at which growth stops: both semi-spaces at the bound. */
  readonly limitBytes = 2 * YOUNG_SEMI_SPACE_MIB * 1024 * 1024;

  constructor(d: YoungGenDeps = {}) {
    this.set = d.set ?? v8.setFlagsFromString;
    this.newSpaceBytes = d.newSpaceBytes ?? newSpaceBytes;
  }

  /** Whether growth is stopped now. */
  get stopped(): boolean {
    return this.capped;
  }

  tick(): void {
    const atBound = this.newSpaceBytes() >= this.limitBytes;
    if (atBound === this.capped) return;
    this.capped = atBound;
    this.set(`--semi-space-growth-factor=${atBound ? 1 : 2}`);
  }
}

function newSpaceBytes(): number {
  for (const s of v8.getHeapSpaceStatistics()) if (s.space_name === 'new_space') return s.space_size;
  return 0;
}

/**
 * Starts the governor unless the operator chose a semi-space flag or turned tuning off. Returns it
 * (with a stop function), or null when nothing was started. The timer never keeps the process alive.
 */
let running: { governor: YoungGenGovernor; stop: () => void } | null = null;

export function boundYoungGeneration(d: YoungGenDeps = {}): { governor: YoungGenGovernor; stop: () => void } | null {
  // Once per process (run and demo start it first thing, runBridge again): the injected kind is for tests.
  const injected = d.set !== undefined || d.newSpaceBytes !== undefined;
  if (running && !injected) return running;
  const env = d.env ?? process.env;
  if (env.O365FB_HEAP_TUNING === '0') return null;
  const given = [...(d.execArgv ?? process.execArgv), ...(env.NODE_OPTIONS ?? '').split(/\s+/)];
  // V8 accepts both spellings (dashes or underscores).
  if (given.some((a) => OPERATOR_FLAGS.some((f) => a.replace(/_/g, '-').startsWith(f)))) return null;
  const governor = new YoungGenGovernor(d);
  governor.tick();
  const timer = setInterval(() => governor.tick(), CHECK_MS);
  timer.unref();
  const r = {
    governor,
    stop: () => {
      clearInterval(timer);
      if (running === r) running = null;
    },
  };
  if (!injected) running = r;
  return r;
}
