/**
 * OpenAPI, honestly: kdp publishes no schemas. /openapi/v2 answers a valid Swagger 2.0 document
 * with no paths and no definitions (as protobuf when asked, which is what kubectl asks for), so
 * kubectl's default validation finds no schema for any kind, skips client-side checks and lets
 * the server validate. /openapi/v3 is 404, which kubectl takes as "no v3" and falls back to v2;
 * declaring fieldValidation support there would promise unknown-field detection that kdp, which
 * keeps fields it does not know as they are, cannot give.
 */
import { KUBERNETES_VERSION } from '../../version.ts';
import type { ApiResult } from './dispatch-types.ts';
import { notFoundPath } from './rest-paths.ts';

const TITLE = 'Kubernetes (kdp: no schemas published)';
// What upstream answers with; Go's mime parser refuses the '@' of the Accept header's spelling.
const PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

function protoString(field: number, s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  return Buffer.concat([protoTag(field), varint(bytes.length), bytes]);
}

function protoMessage(field: number, body: Buffer): Buffer {
  return Buffer.concat([protoTag(field), varint(body.length), body]);
}

/** Wire type 2 (length-delimited) for every field written here. */
function protoTag(field: number): Buffer {
  return varint((field << 3) | 2);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

/** gnostic's openapi_v2.Document: swagger = 1, info = 2 (title = 1, version = 2), paths = 8. */
let v2Proto: Buffer | undefined;
function swaggerProto(): Buffer {
  v2Proto ??= Buffer.concat([
    protoString(1, '2.0'),
    protoMessage(2, Buffer.concat([protoString(1, TITLE), protoString(2, KUBERNETES_VERSION.gitVersion)])),
    protoMessage(8, Buffer.alloc(0)),
  ]);
  return v2Proto;
}

export function serveOpenApi(rest: string, accept: string | undefined): ApiResult {
  if (rest !== 'v2') throw notFoundPath();
  if ((accept ?? '').includes('protobuf')) {
    return { kind: 'text', status: 200, body: swaggerProto(), contentType: PROTOBUF };
  }
  return {
    kind: 'object',
    status: 200,
    body: { swagger: '2.0', info: { title: TITLE, version: KUBERNETES_VERSION.gitVersion }, paths: {} },
  };
}
