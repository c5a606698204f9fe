/**
 * Finding 5, metadata: every served kind x every bad metadata variant, each refused with upstream's
 * status (a wrong JSON type fails decoding: 400; a bad value is 422 Invalid) and nothing stored.
 */
import type { MalformedCase } from './case.ts';
import { SERVED_KINDS } from './kinds.ts';

interface Variant {
  what: string;
  /** The metadata to send, given a name that is free. */
  metadata(name: string): Record<string, unknown>;
  status: 400 | 422;
  /** The name to look up afterwards, when the variant has a usable one. */
  stored?: (name: string) => string;
}

const ref = (name: string) => ({ apiVersion: 'apps/v1', kind: 'ReplicaSet', name, uid: `uid-${name}` });
const same = (name: string) => name;

const VARIANTS: Variant[] = [
  { what: 'metadata.name as a number', metadata: () => ({ name: 123 }), status: 400, stored: () => '123' },
  { what: 'metadata.name as an array', metadata: () => ({ name: ['a'] }), status: 400 },
  { what: 'metadata.name as a boolean', metadata: () => ({ name: true }), status: 400, stored: () => 'true' },
  { what: 'metadata.name as an object', metadata: () => ({ name: { a: 1 } }), status: 400 },
  {
    what: 'metadata.name with upper case',
    metadata: (n) => ({ name: `${n}-Upper` }),
    status: 422,
    stored: (n) => `${n}-Upper`,
  },
  {
    what: 'metadata.name with an underscore',
    metadata: (n) => ({ name: `${n}_x` }),
    status: 422,
    stored: (n) => `${n}_x`,
  },
  { what: 'metadata.name of 254 characters', metadata: () => ({ name: 'a'.repeat(254) }), status: 422 },
  { what: 'no metadata.name nor generateName', metadata: () => ({ labels: { a: 'b' } }), status: 422 },
  { what: 'generateName as a number', metadata: () => ({ generateName: 5 }), status: 400 },
  {
    what: 'finalizers as a string',
    metadata: (n) => ({ name: n, finalizers: 'example.com/x' }),
    status: 400,
    stored: same,
  },
  {
    what: 'finalizers holding a number',
    metadata: (n) => ({ name: n, finalizers: [7] }),
    status: 400,
    stored: same,
  },
  {
    what: 'finalizer neither standard nor qualified',
    metadata: (n) => ({ name: n, finalizers: ['plain'] }),
    status: 422,
    stored: same,
  },
  {
    what: 'finalizers orphan and foregroundDeletion',
    metadata: (n) => ({ name: n, finalizers: ['orphan', 'foregroundDeletion'] }),
    status: 422,
    stored: same,
  },
  {
    what: 'ownerReferences without uid',
    metadata: (n) => ({ name: n, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'x' }] }),
    status: 422,
    stored: same,
  },
  {
    what: 'ownerReferences without apiVersion and kind',
    metadata: (n) => ({ name: n, ownerReferences: [{ name: 'x', uid: 'u' }] }),
    status: 422,
    stored: same,
  },
  {
    what: 'ownerReferences with two controllers',
    metadata: (n) => ({
      name: n,
      ownerReferences: [
        { ...ref('a'), controller: true },
        { ...ref('b'), controller: true },
      ],
    }),
    status: 422,
    stored: same,
  },
  {
    what: 'ownerReferences controller as a string',
    metadata: (n) => ({ name: n, ownerReferences: [{ ...ref('a'), controller: 'true' }] }),
    status: 400,
    stored: same,
  },
  {
    what: 'ownerReferences as an object',
    metadata: (n) => ({ name: n, ownerReferences: ref('a') }),
    status: 400,
    stored: same,
  },
  {
    what: 'label value as a number',
    metadata: (n) => ({ name: n, labels: { app: 5 } }),
    status: 400,
    stored: same,
  },
  {
    what: 'label key with a space',
    metadata: (n) => ({ name: n, labels: { 'bad key': 'v' } }),
    status: 422,
    stored: same,
  },
  {
    what: 'label value of 64 characters',
    metadata: (n) => ({ name: n, labels: { app: 'v'.repeat(64) } }),
    status: 422,
    stored: same,
  },
  {
    what: 'annotations as a list',
    metadata: (n) => ({ name: n, annotations: ['a'] }),
    status: 400,
    stored: same,
  },
  {
    what: 'annotations over 256 KiB',
    metadata: (n) => ({ name: n, annotations: { big: 'x'.repeat(262145) } }),
    status: 422,
    stored: same,
  },
  {
    what: 'unknown metadata field under Strict',
    metadata: (n) => ({ name: n, colour: 'red' }),
    status: 400,
    stored: same,
  },
];

export const cases: MalformedCase[] = SERVED_KINDS.flatMap((k) =>
  VARIANTS.map((v, i): MalformedCase => {
    const name = `meta-${k.kind.toLowerCase()}-${i}`;
    const body = { ...k.valid(name), metadata: v.metadata(name) };
    return {
      name: `finding 5: ${k.kind} with ${v.what}`,
      method: 'POST',
      path: `${k.collection}?fieldValidation=Strict`,
      body,
      status: v.status,
      reason: v.status === 400 ? 'BadRequest' : 'Invalid',
      notStored: v.stored ? `${k.collection}/${encodeURIComponent(v.stored(name))}` : undefined,
    };
  }),
);
