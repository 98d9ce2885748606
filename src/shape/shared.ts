/**
 * Values many events share, frozen: the router's `o365_bridge` metadata of one blob and record type.
 * An encoder may write such a value's bytes once and copy them after (the forward sink's MsgpackWriter
 * does); freezing keeps those bytes true to the object.
 */
const shared = new WeakSet<object>();

/** Freezes `o` and marks it shared; returns it. */
export function sharedValue<T extends object>(o: T): Readonly<T> {
  Object.freeze(o);
  shared.add(o);
  return o;
}

export function isShared(o: object): boolean {
  return shared.has(o);
}
