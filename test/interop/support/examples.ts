/**
 * Every Fluentd and Fluent Bit config the project ships, so a test can hand each to the real program:
 * - files named `fluent*.example` in the repository root and in fluent-plugin/ (found by name, so a
 *   new example is checked without anyone adding it here);
 * - fenced code blocks in README.md and docs/**.md that are such configs: by their info string
 *   (fluentd, fluent-bit, fluentbit) or, without one, by content (a top-level <source>/<match>/…
 *   directive; a [SERVICE]/[INPUT]/[OUTPUT] section; a YAML `pipeline:` with inputs/outputs).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../../../src/paths';

export interface Example {
  /** Where it comes from: `fluent.conf.forward.example`, `README.md:183`. */
  where: string;
  kind: 'fluentd' | 'fluent-bit';
  /** Classic (.conf) or YAML (Fluent Bit only). */
  format: 'conf' | 'yaml';
  text: string;
}

const FLUENTD_TOP = /^\s*<(source|match|filter|label|system|worker)\b|^\s*@include\s/m;
const FLUENT_BIT_CLASSIC = /^\s*\[(SERVICE|INPUT|OUTPUT|FILTER|PARSER|MULTILINE_PARSER)\]\s*$/im;
const FLUENT_BIT_YAML = /^pipeline:\s*$[\s\S]*^\s+(inputs|outputs):/m;

export function classify(text: string, hint = ''): { kind: Example['kind']; format: Example['format'] } | null {
  const h = hint.toLowerCase();
  if (h === 'fluentd') return { kind: 'fluentd', format: 'conf' };
  if (h === 'fluent-bit' || h === 'fluentbit') return { kind: 'fluent-bit', format: FLUENT_BIT_YAML.test(text) ? 'yaml' : 'conf' };
  if (FLUENT_BIT_CLASSIC.test(text)) return { kind: 'fluent-bit', format: 'conf' };
  if (FLUENT_BIT_YAML.test(text)) return { kind: 'fluent-bit', format: 'yaml' };
  if (FLUENTD_TOP.test(text)) return { kind: 'fluentd', format: 'conf' };
  return null;
}

/** Fenced blocks (``` or ~~~) of one markdown text, with their info string and first line number. */
export function fencedBlocks(md: string): Array<{ info: string; line: number; text: string }> {
  const out: Array<{ info: string; line: number; text: string }> = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)/.exec(lines[i]);
    if (!open) continue;
    const fence = open[2];
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !lines[j].trimStart().startsWith(fence)) body.push(lines[j++]);
    out.push({ info: open[3], line: i + 2, text: body.join('\n') + '\n' });
    i = j;
  }
  return out;
}

function markdownFiles(): string[] {
  const out = [path.join(packageRoot, 'README.md')];
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.md')) out.push(p);
    }
  };
  walk(path.join(packageRoot, 'docs'));
  return out.filter((f) => fs.existsSync(f)).sort();
}

/** `fluent*.example` in the root and fluent-plugin/. */
export function exampleFiles(): string[] {
  const out: string[] = [];
  for (const d of [packageRoot, path.join(packageRoot, 'fluent-plugin')]) {
    if (!fs.existsSync(d)) continue;
    for (const name of fs.readdirSync(d)) if (/^fluent.*\.example$/.test(name) && fs.statSync(path.join(d, name)).isFile()) out.push(path.join(d, name));
  }
  return out.sort();
}

export function shippedExamples(): Example[] {
  const out: Example[] = [];
  for (const f of exampleFiles()) {
    const text = fs.readFileSync(f, 'utf8');
    const c = classify(text, /fluent-?bit/i.test(path.basename(f)) ? 'fluent-bit' : '') ?? { kind: 'fluentd', format: 'conf' };
    out.push({ where: path.relative(packageRoot, f), text, ...c });
  }
  for (const f of markdownFiles()) {
    for (const b of fencedBlocks(fs.readFileSync(f, 'utf8'))) {
      const c = classify(b.text, b.info);
      if (c) out.push({ where: `${path.relative(packageRoot, f)}:${b.line}`, text: b.text, ...c });
    }
  }
  return out;
}

/**
 * Uncomments a commented block `# <name …>` … `# </name>` (one level of `# ` off every line of it),
 * the way a user switches on the example's <security>, <user> or <transport tls>.
 */
export function enableBlock(text: string, name: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^\\s*#\\s*<${name}(\\s[^>]*)?>\\s*$`).test(l));
  if (start < 0) throw new Error(`no commented <${name}> block`);
  const tag = name.split(/\s/)[0];
  const end = lines.findIndex((l, i) => i > start && new RegExp(`^\\s*#\\s*</${tag}>\\s*$`).test(l));
  if (end < 0) throw new Error(`no commented </${tag}> after line ${start + 1}`);
  for (let i = start; i <= end; i++) lines[i] = lines[i].replace(/^(\s*)# ?/, '$1');
  return lines.join('\n');
}

/** Uncomments one commented setting line (`# user_auth true`). */
export function enableLine(text: string, setting: string): string {
  const re = new RegExp(`^(\\s*)#\\s*(${setting.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')})`, 'm');
  if (!re.test(text)) throw new Error(`no commented "${setting}"`);
  return text.replace(re, '$1$2');
}
