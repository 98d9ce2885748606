/**
 * Reads V8 .cpuprofile files (node --cpu-prof) and prints where the time went: self time per
 * function and per source file, as a share of the busy (non-idle) time. Enough to see what dominates
 * without opening DevTools.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

function shortUrl(url: string): string {
  if (!url) return '';
  const u = url.replace(/^file:\/\//, '');
  const i = u.lastIndexOf('/node_modules/');
  if (i >= 0) return u.slice(i + '/node_modules/'.length);
  for (const marker of ['/src/', '/bench/', '/test/']) {
    const j = u.lastIndexOf(marker);
    if (j >= 0) return u.slice(j + 1);
  }
  return u.startsWith('node:') ? u : path.basename(u);
}

/** Self time in ms per function and per file, summed over profiles. */
export function selfTimes(profiles: CpuProfile[]): { byFn: Map<string, number>; byFile: Map<string, number>; busy: number; idle: number } {
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (const p of profiles) {
    const nodes = new Map(p.nodes.map((n) => [n.id, n]));
    const samples = p.samples ?? [];
    const deltas = p.timeDeltas ?? [];
    for (let i = 0; i < samples.length; i++) {
      const n = nodes.get(samples[i]);
      if (!n) continue;
      const ms = (deltas[i + 1] ?? deltas[i] ?? 0) / 1000;
      const name = n.callFrame.functionName || '(anonymous)';
      if (name === '(idle)') {
        idle += ms;
        continue;
      }
      busy += ms;
      const file = shortUrl(n.callFrame.url) || name;
      const key = n.callFrame.url ? `${name}  ${file}:${n.callFrame.lineNumber + 1}` : name;
      byFn.set(key, (byFn.get(key) ?? 0) + ms);
      byFile.set(file, (byFile.get(file) ?? 0) + ms);
    }
  }
  return { byFn, byFile, busy, idle };
}

/** Summary of the profiles in `dir` whose file name starts with `prefix`. */
export function summarizeProfiles(dir: string, top = 20, prefix = ''): string {
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith('.cpuprofile')) : [];
  if (files.length === 0) return '(no profiles written)';
  const profiles = files.map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as CpuProfile);
  const { byFn, byFile, busy, idle } = selfTimes(profiles);
  const pct = (ms: number) => `${((ms / busy) * 100).toFixed(1).padStart(5)}%`;
  const lines = [`${files.length} profile(s): busy ${(busy / 1000).toFixed(1)} s, idle ${(idle / 1000).toFixed(1)} s`, 'top functions (self):'];
  for (const [k, ms] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(ms)}  ${k}`);
  lines.push('top files (self):');
  for (const [k, ms] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 12)) lines.push(`  ${pct(ms)}  ${k}`);
  return lines.join('\n');
}

/**
 * The bridge's stages, each the inclusive time under its entry function (a sample counts for every
 * stage on its stack). Names are `function:file` of the compiled code.
 */
export const BRIDGE_STAGES: ReadonlyArray<[string, RegExp]> = [
  ['split + JSON.parse (JsonSplitter.push)', /^push:blob-reader/],
  ['encode (PacketStream.add)', /^add:forward-protocol/],
  ['validate', /^validate:validator/],
  ['route', /^route:event/],
  ['ack path (AckTracker.batchAcked)', /^batchAcked:ack-tracker/],
  ['checkpoint write (writeFileAtomic)', /^writeFileAtomic:checkpoint/],
  ['de-dup has/pending/claim/unclaim', /^(has|pending|claim|unclaim):dedup/],
  ['packet copy (PacketBuilder.assemble)', /^assemble:forward-protocol/],
  ['socket writes', /^Socket\._writeGeneric:/],
  ['HTTP reads (socketOnData, onStreamRead)', /^(socketOnData|onStreamRead):/],
  ['garbage collector', /^\(garbage collector\)/],
];

/** Busy and per-stage inclusive ms, summed over profiles. */
export function stageTimes(profiles: CpuProfile[], stages: ReadonlyArray<[string, RegExp]> = BRIDGE_STAGES): { busy: number; stages: Map<string, number> } {
  const out = new Map<string, number>(stages.map(([name]) => [name, 0]));
  let busy = 0;
  for (const p of profiles) {
    const nodes = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const label = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'}:${path.basename(n.callFrame.url).replace(/\.js$/, '')}`;
    // Which stages each node's stack is in, once per node.
    const memo = new Map<number, boolean[]>();
    const inStages = (id: number): boolean[] => {
      let m = memo.get(id);
      if (m) return m;
      const n = nodes.get(id)!;
      const up = parent.has(id) ? inStages(parent.get(id)!) : stages.map(() => false);
      const l = label(n);
      m = stages.map(([, re], k) => up[k] || re.test(l));
      memo.set(id, m);
      return m;
    };
    const samples = p.samples ?? [];
    const deltas = p.timeDeltas ?? [];
    for (let i = 0; i < samples.length; i++) {
      const n = nodes.get(samples[i]);
      if (!n || n.callFrame.functionName === '(idle)') continue;
      const ms = (deltas[i + 1] ?? deltas[i] ?? 0) / 1000;
      busy += ms;
      const m = inStages(n.id);
      stages.forEach(([name], k) => {
        if (m[k]) out.set(name, out.get(name)! + ms);
      });
    }
  }
  return { busy, stages: out };
}

/** Stage table of the profiles in `dir` starting with `prefix`; with `records`, also CPU s per 100k records. */
export function summarizeStages(dir: string, prefix = '', records?: number): string {
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith('.cpuprofile')) : [];
  if (files.length === 0) return '(no profiles written)';
  const { busy, stages } = stageTimes(files.map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as CpuProfile));
  const per = (ms: number) => (records ? `  ${((ms / 1000 / records) * 1e5).toFixed(3)} s/100k` : '');
  const lines = [`${files.length} profile(s): busy ${(busy / 1000).toFixed(1)} s${per(busy)}; stages (inclusive):`];
  for (const [name, ms] of stages) lines.push(`  ${((ms / busy) * 100).toFixed(1).padStart(5)}%  ${name}${per(ms)}`);
  return lines.join('\n');
}

if (require.main === module) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: node dist/bench/profile.js DIR_WITH_CPUPROFILES [TOP] [FILE_PREFIX] [RECORDS]\n');
    process.exit(2);
  }
  console.log(summarizeProfiles(dir, Number(process.argv[3] ?? 25), process.argv[4] ?? ''));
  // Stages per mix (e.g. prefix bridge-defender): RECORDS turns the shares into CPU s per 100k.
  console.log(summarizeStages(dir, process.argv[4] ?? '', process.argv[5] ? Number(process.argv[5]) : undefined));
}
