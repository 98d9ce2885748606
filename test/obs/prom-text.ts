import { strict as assert } from 'node:assert';

/** Parses Prometheus text into name{labels} → value, ignoring HELP/TYPE lines. */
export function parseProm(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `unparseable metrics line: ${line}`);
    const labels = m[3]
      ? [...m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)]
          .map((x) => `${x[1]}=${x[2]}`)
          .sort()
          .join(',')
      : '';
    out.set(labels ? `${m[1]}{${labels}}` : m[1], Number(m[4]));
  }
  return out;
}
