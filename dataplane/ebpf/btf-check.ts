/**
 * Holds a codec (codec.ts) to the BTF type the object declares for a map's key or value, before any
 * byte is written: sizes, every field's name, offset and size, array lengths. A mismatch is
 * KDP_ERR_BPF_CODEC naming the path of the field ("value.bytes: offset 8 in the codec, 12 in BTF"),
 * so a struct edited on one side only can never corrupt a map silently.
 */
import { KdpError } from '../errors.ts';
import type { CodecShape } from './codec.ts';
import { BPF_ERR } from './errors.ts';
import type { BtfType } from './native.ts';

/** Problems found, each naming its field path; empty when the codec matches. */
export function compareWithBtf(shape: CodecShape, btf: BtfType, path: string): string[] {
  if (shape.size !== btf.size) {
    return [`${path}: ${shape.size} bytes in the codec, ${btf.size} in BTF (${describe(btf)})`];
  }
  switch (shape.kind) {
    case 'int':
      if (btf.kind !== 'int' && btf.kind !== 'enum')
        return [`${path}: an integer in the codec, ${describe(btf)} in BTF`];
      return [];
    case 'bytes':
      return []; // opaque: only the size is checked
    case 'array':
      if (btf.kind !== 'array') return [`${path}: an array in the codec, ${describe(btf)} in BTF`];
      if (btf.count !== shape.count)
        return [`${path}: ${shape.count} elements in the codec, ${btf.count} in BTF`];
      return btf.elem ? compareWithBtf(shape.elem, btf.elem, `${path}[]`) : [];
    case 'struct':
      return compareStruct(shape, btf, path);
  }
}

function compareStruct(shape: Extract<CodecShape, { kind: 'struct' }>, btf: BtfType, path: string): string[] {
  if (btf.kind !== 'struct' || !btf.members)
    return [`${path}: a struct in the codec, ${describe(btf)} in BTF`];
  const problems: string[] = [];
  const members = new Map(btf.members.map((m) => [m.name, m]));
  for (const f of shape.fields) {
    const m = members.get(f.name);
    const at = `${path}.${f.name}`;
    if (!m) {
      problems.push(
        `${at}: no such field in BTF ${describe(btf)} (fields: ${[...members.keys()].join(', ')})`,
      );
      continue;
    }
    if (m.bitSize !== 0) {
      problems.push(`${at}: a bitfield in BTF; describe the bytes that hold it with bytes(n)`);
      continue;
    }
    if (m.offset !== f.offset) problems.push(`${at}: offset ${f.offset} in the codec, ${m.offset} in BTF`);
    else problems.push(...compareWithBtf(f.shape, m.type, at));
  }
  const named = new Set(shape.fields.map((f) => f.name));
  for (const m of btf.members) {
    if (!named.has(m.name))
      problems.push(`${path}.${m.name}: in BTF at offset ${m.offset}, missing from the codec`);
  }
  return problems;
}

function describe(t: BtfType): string {
  const name = t.typedef ?? t.name;
  return `${t.kind}${name ? ` ${name}` : ''} of ${t.size} bytes`;
}

/** Throws KDP_ERR_BPF_CODEC listing every problem, or returns when the codec matches. */
export function assertCodecMatchesBtf(
  shape: CodecShape,
  btf: BtfType | undefined,
  what: string,
  path: string,
): void {
  if (!btf) return; // no BTF for this map (legacy definition): only sizes can be checked, by the caller
  const problems = compareWithBtf(shape, btf, path);
  if (problems.length > 0) {
    throw new KdpError(
      BPF_ERR.codec,
      `${what}: the codec does not match the object's BTF: ${problems.join('; ')}`,
      {
        details: { problems },
      },
    );
  }
}
