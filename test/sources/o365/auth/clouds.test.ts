import { strict as assert } from 'node:assert';
import { CLOUDS, resolveCloud } from '../../../../src/sources/o365/auth/clouds';
import { BridgeError } from '../../../../src/errors';

describe('auth/clouds', () => {
  it('gives the documented API root and authority for every plan', () => {
    assert.deepEqual(resolveCloud({ cloud: 'commercial' }), { apiRoot: 'https://manage.office.com', authority: 'https://login.microsoftonline.com' });
    assert.deepEqual(resolveCloud({ cloud: 'gcc' }), { apiRoot: 'https://manage-gcc.office.com', authority: 'https://login.microsoftonline.com' });
    assert.deepEqual(resolveCloud({ cloud: 'gccHigh' }), { apiRoot: 'https://manage.office365.us', authority: 'https://login.microsoftonline.us' });
    assert.deepEqual(resolveCloud({ cloud: 'dod' }), { apiRoot: 'https://manage.protection.apps.mil', authority: 'https://login.microsoftonline.us' });
    assert.deepEqual(Object.keys(CLOUDS).sort(), ['commercial', 'dod', 'gcc', 'gccHigh']);
  });

  it('takes explicit URLs for custom, normalised', () => {
    assert.deepEqual(resolveCloud({ cloud: 'custom', apiUrl: 'https://127.0.0.1:8443/', authorityUrl: 'https://127.0.0.1:8443' }), {
      apiRoot: 'https://127.0.0.1:8443',
      authority: 'https://127.0.0.1:8443',
    });
  });

  it('lets a named cloud override one endpoint (proxy / private endpoint in front of it)', () => {
    assert.deepEqual(resolveCloud({ cloud: 'gccHigh', apiUrl: 'https://o365-proxy.corp.example/' }), {
      apiRoot: 'https://o365-proxy.corp.example',
      authority: 'https://login.microsoftonline.us',
    });
  });

  it('refuses incomplete, insecure or malformed configurations', () => {
    const bad = [
      { cloud: 'custom', apiUrl: 'https://a' },
      { cloud: 'custom', apiUrl: 'http://a', authorityUrl: 'https://b' },
      { cloud: 'custom', apiUrl: 'https://u:p@a', authorityUrl: 'https://b' },
      { cloud: 'custom', apiUrl: 'not a url', authorityUrl: 'https://b' },
      { cloud: 'china' },
      { cloud: 'toString' },
      { cloud: 'commercial', apiUrl: 'http://elsewhere' },
    ];
    for (const cfg of bad) assert.throws(() => resolveCloud(cfg), (e: BridgeError) => e.code === 'CONFIG_INVALID', JSON.stringify(cfg));
  });
});
