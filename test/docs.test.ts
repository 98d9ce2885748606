import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { readmePath, renderReadme, tagsDoc, tagsPath } from './support/docs';

describe('generated documentation is current (npm run docs regenerates it)', () => {
  it('README config reference matches src/config/schema.json', () => {
    const readme = fs.readFileSync(readmePath, 'utf8');
    assert.equal(readme, renderReadme(readme));
  });

  it('docs/tags.md matches the record-type table', () => {
    assert.equal(fs.readFileSync(tagsPath, 'utf8'), tagsDoc());
  });

  it('README starts with the two commands', () => {
    const lines = fs.readFileSync(readmePath, 'utf8').split('\n').slice(0, 8).join('\n');
    assert.match(lines, /npm run demo/);
    assert.match(lines, /npm test/);
  });
});
