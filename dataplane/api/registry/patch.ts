/**
 * PATCH bodies: JSON merge patch (RFC 7386), strategic merge patch for the list fields kdp's
 * kinds have, and JSON patch (RFC 6902). STUB: to be completed.
 */
export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';

export function applyPatch(_type: PatchType, current: unknown, _patch: unknown, _kind: string): unknown {
  return current;
}
