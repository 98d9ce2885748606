import * as path from 'node:path';
import * as fs from 'node:fs';

/** The package root (where package.json and schemas/ live), from src/ or dist/src/ alike. */
export const packageRoot: string = (() => {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'schemas'))) return dir;
    dir = path.dirname(dir);
  }
  return path.resolve(__dirname, '..', '..');
})();

export const schemasDir = path.join(packageRoot, 'schemas');
