import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';

/**
 * In a fresh process (this one may have loaded jsonwebtoken already): the token provider's module
 * loads msal-node without jsonwebtoken; msal's `require('jsonwebtoken')` then holds the stand-in,
 * whose `sign` loads the real module and returns what the real one returns.
 */
const SCRIPT = `
const Module = require('node:module');
const crypto = require('node:crypto');
const loaded = (re) => Object.keys(require.cache).some((k) => re.test(k));
require(process.argv[1]);
const lazy = require(process.argv[2]);
const out = { afterLoad: { msal: loaded(/@azure[\\\\/]msal-node/), jwtFiles: Object.keys(require.cache).filter((k) => /[\\\\/]jsonwebtoken[\\\\/]/.test(k)).length, jws: loaded(/[\\\\/]jws[\\\\/]/), lodash: loaded(/lodash\\./), real: lazy.realJwtLoaded() } };
const fromMsal = Module.createRequire(require.resolve('@azure/msal-node'))('jsonwebtoken');
out.standIn = Object.keys(fromMsal);
const token = fromMsal.sign({ aud: 'x', iat: 1 }, 'k3y', { header: { kid: 'a' } });
const [h, p, s] = token.split('.');
out.token = {
  header: JSON.parse(Buffer.from(h, 'base64url').toString()),
  payload: JSON.parse(Buffer.from(p, 'base64url').toString()),
  verifies: crypto.createHmac('sha256', 'k3y').update(h + '.' + p).digest('base64url') === s,
};
out.afterSign = { jws: loaded(/[\\\\/]jws[\\\\/]/), real: lazy.realJwtLoaded(), same: Module.createRequire(require.resolve('@azure/msal-node'))('jsonwebtoken') !== fromMsal };
process.stdout.write(JSON.stringify(out));
`;

describe('auth/lazy-jwt (issue 17: jsonwebtoken is loaded only for a certificate assertion)', () => {
  it('msal-node loads without jsonwebtoken; the stand-in\'s sign loads the real module and signs as it does', () => {
    const out = JSON.parse(
      execFileSync(process.execPath, ['-e', SCRIPT, require.resolve('../../../../src/sources/o365/auth/token-provider'), require.resolve('../../../../src/sources/o365/auth/lazy-jwt')], { encoding: 'utf8' }),
    ) as Record<string, Record<string, unknown>>;
    assert.deepEqual(out.afterLoad, { msal: true, jwtFiles: 1, jws: false, lodash: false, real: false });
    // The one jsonwebtoken entry in the cache is the stand-in (its index.js path), with sign alone.
    assert.deepEqual(out.standIn, ['sign']);
    assert.deepEqual(out.token, { header: { alg: 'HS256', typ: 'JWT', kid: 'a' }, payload: { aud: 'x', iat: 1 }, verifies: true });
    // After the first sign, requiring jsonwebtoken gives the real module (the stand-in left the cache).
    assert.deepEqual(out.afterSign, { jws: true, real: true, same: true });
  });

  it('installs nothing when jsonwebtoken is loaded already', () => {
    const lazy = require('../../../../src/sources/o365/auth/lazy-jwt') as typeof import('../../../../src/sources/o365/auth/lazy-jwt');
    const before = Object.keys(require.cache).length;
    lazy.installLazyJwt();
    assert.equal(Object.keys(require.cache).length, before);
  });
});
