/**
 * msal-node requires `jsonwebtoken` when it loads, which pulls in jws, jwa, semver and seven lodash
 * packages: about 9.5 MiB of RSS on its own (issue 17). msal uses one function of it, `sign`, and only
 * to build a certificate's client assertion; a tenant with a client secret never calls it. Imported
 * by token-provider.ts before msal-node, this puts a stand-in where msal's `require('jsonwebtoken')`
 * finds it (net/lazy-module.ts); its `sign` loads the real module on the first certificate
 * assertion and calls it. If msal or jsonwebtoken cannot be found where expected, nothing is done.
 */
import { installStandIn, type StandIn } from '../../../net/lazy-module';

interface Jwt {
  sign(...args: unknown[]): unknown;
}

let standIn: StandIn | null = null;

/** What msal-node sees as `require('jsonwebtoken')`: the one member it uses, forwarding to the real module. */
const lazyJwt: Jwt = {
  sign: (...args: unknown[]) => (standIn!.load() as Jwt).sign(...args),
};

/** Installs the stand-in unless jsonwebtoken is loaded already. Idempotent. */
export function installLazyJwt(): boolean {
  if (standIn) return true;
  standIn = installStandIn('@azure/msal-node', 'jsonwebtoken', lazyJwt);
  return standIn !== null;
}

/** For tests: whether the real jsonwebtoken has been loaded through the stand-in. */
export function realJwtLoaded(): boolean {
  return standIn?.loaded === true;
}

installLazyJwt();
