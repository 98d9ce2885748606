/** Copies a config fixture into a fresh temp dir (so tests can add files beside it) and cleans up. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packageRoot } from '../../src/paths';

export const FIXTURES = path.join(packageRoot, 'test', 'fixtures', 'config');

export interface Staged {
  dir: string;
  file: string;
  /** Problems with the temp dir replaced by `<dir>`. */
  clean(lines: string[]): string[];
  write(name: string, content: string): string;
  remove(): void;
}

export function stage(fixture: string, from = FIXTURES): Staged {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bridge-config-'));
  const file = path.join(dir, fixture);
  fs.copyFileSync(path.join(from, fixture), file);
  return {
    dir,
    file,
    clean: (lines) => lines.map((l) => l.split(dir).join('<dir>')),
    write: (name, content) => {
      const p = path.join(dir, name);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, content);
      return p;
    },
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
