/**
 * Malformed requests about HTTP, paths and bodies, generated from tables: prototype pollution
 * through every patch type and every write at every spot of several kinds, path traversal in
 * every segment position and verb, nesting depth, body size, content types, broken JSON and YAML,
 * bodies of the wrong JSON type, oversized request heads and methods a path does not allow.
 * Cases that were a crash or a wrong 2xx before the hardening start with the finding.
 */
import type { MalformedCase } from './case.ts';

const NS = 'malformed';
const core = (resource: string) => `/api/v1/namespaces/${NS}/${resource}`;
const apps = (resource: string) => `/apis/apps/v1/namespaces/${NS}/${resource}`;

interface Kind {
  kind: string;
  /** Collection path the victim lives in. */
  collection: string;
  /** A valid object of the kind, named `name`. */
  make(name: string): Record<string, unknown>;
  namespaced: boolean;
}

const template = (app: string) => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: 'c', image: 'kdp/pause' }] },
});

const KINDS: Kind[] = [
  {
    kind: 'Service',
    collection: core('services'),
    namespaced: true,
    make: (name) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, labels: { app: name } },
      spec: { selector: { app: name }, ports: [{ port: 80 }] },
    }),
  },
  {
    kind: 'Pod',
    collection: core('pods'),
    namespaced: true,
    make: (name) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      ...template(name),
      metadata: { name, labels: { app: name } },
    }),
  },
  {
    kind: 'Deployment',
    collection: apps('deployments'),
    namespaced: true,
    make: (name) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, labels: { app: name } },
      spec: { replicas: 0, selector: { matchLabels: { app: name } }, template: template(name) },
    }),
  },
  {
    kind: 'ReplicaSet',
    collection: apps('replicasets'),
    namespaced: true,
    make: (name) => ({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name, labels: { app: name } },
      spec: { replicas: 0, selector: { matchLabels: { app: name } }, template: template(name) },
    }),
  },
  {
    kind: 'Node',
    collection: '/api/v1/nodes',
    namespaced: false,
    make: (name) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { app: name } } }),
  },
  {
    kind: 'Namespace',
    collection: '/api/v1/namespaces',
    namespaced: false,
    make: (name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { app: name } } }),
  },
];

const NAMESPACE_SETUP = { path: '/api/v1/namespaces', body: { metadata: { name: NS } } };

function setupFor(k: Kind, name: string): MalformedCase['setup'] {
  const own = { path: k.collection, body: k.make(name) };
  return k.namespaced ? [NAMESPACE_SETUP, own] : [own];
}

// ---- prototype pollution ----

/** A JSON text with `__proto__` at a spot; a JS literal would set the prototype instead of a key. */
const PROTO = '{"__proto__":{"polluted":"yes"}}';
const POLLUTION_SPOTS: Record<string, (v: string) => string> = {
  'top level': () => PROTO,
  spec: (v) => `{"spec":${v}}`,
  metadata: (v) => `{"metadata":${v}}`,
  'metadata.labels': (v) => `{"metadata":{"labels":${v}}}`,
  'metadata.annotations': (v) => `{"metadata":{"annotations":${v}}}`,
  'spec.template.metadata.labels': (v) => `{"spec":{"template":{"metadata":{"labels":${v}}}}}`,
};
const JSON_PATCH_POINTERS = [
  '/__proto__/polluted',
  '/metadata/__proto__',
  '/metadata/labels/__proto__',
  '/spec/__proto__/polluted',
  '/constructor/prototype/polluted',
];

const MERGE_TYPES = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
};

function pollutionCases(): MalformedCase[] {
  const out: MalformedCase[] = [];
  for (const k of KINDS) {
    const victim = `proto-${k.kind.toLowerCase()}`;
    const path = `${k.collection}/${victim}`;
    for (const [type, contentType] of Object.entries(MERGE_TYPES)) {
      for (const [spot, wrap] of Object.entries(POLLUTION_SPOTS)) {
        // The issue's four crashing variants were merge/strategic at top level, in spec, in labels.
        const crash = ['top level', 'spec', 'metadata.labels'].includes(spot) ? 'crash: ' : '';
        out.push({
          name: `${crash}${type} patch __proto__ at ${spot} of a ${k.kind}`,
          method: 'PATCH',
          path,
          contentType,
          body: wrap(PROTO),
          setup: setupFor(k, victim),
          status: 400,
          reason: 'BadRequest',
        });
      }
    }
    for (const pointer of JSON_PATCH_POINTERS) {
      out.push({
        name: `json patch add ${pointer} of a ${k.kind}`,
        method: 'PATCH',
        path,
        contentType: 'application/json-patch+json',
        body: [{ op: 'add', path: pointer, value: { polluted: 'yes' } }],
        setup: setupFor(k, victim),
        status: 400,
        reason: 'BadRequest',
      });
    }
    for (const spot of ['metadata.labels', 'spec', 'top level']) {
      const name = `proto-create-${k.kind.toLowerCase()}-${spot.replace(/\W+/g, '-')}`;
      const obj = JSON.stringify(k.make(name));
      // Splices a __proto__ key into the object's JSON text at the spot (every kind here has
      // labels, and all but Node and Namespace a spec).
      if (spot === 'spec' && !obj.includes('"spec":{')) continue;
      const key = '"__proto__":{"polluted":"yes"}';
      const body =
        spot === 'top level'
          ? `${obj.slice(0, -1)},${key}}`
          : spot === 'spec'
            ? obj.replace('"spec":{', `"spec":{${key},`)
            : obj.replace('"labels":{', `"labels":{${key},`);
      out.push({
        name: `create with __proto__ at ${spot} of a ${k.kind}`,
        method: 'POST',
        path: k.collection,
        body,
        setup: k.namespaced ? [NAMESPACE_SETUP] : [],
        status: 400,
        reason: 'BadRequest',
        notStored: `${k.collection}/${name}`,
      });
      out.push({
        name: `update with __proto__ at ${spot} of a ${k.kind}`,
        method: 'PUT',
        path: `${k.collection}/${victim}`,
        body: body.replaceAll(name, victim),
        setup: setupFor(k, victim),
        status: 400,
        reason: 'BadRequest',
      });
    }
  }
  const yamlName = 'proto-yaml';
  out.push({
    name: 'create a Service from YAML with __proto__ in metadata.labels',
    method: 'POST',
    path: core('services'),
    contentType: 'application/yaml',
    body: `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${yamlName}\n  labels:\n    __proto__:\n      polluted: "yes"\nspec:\n  ports: [{port: 80}]\n`,
    setup: [NAMESPACE_SETUP],
    status: 400,
    reason: 'BadRequest',
    notStored: `${core('services')}/${yamlName}`,
  });
  out.push({
    name: 'an escaped \\u005f__proto__ key in a merge patch of a Service',
    method: 'PATCH',
    path: `${core('services')}/proto-service`,
    contentType: MERGE_TYPES.merge,
    body: '{"metadata":{"labels":{"\\u005f\\u005fproto\\u005f\\u005f":{"polluted":"yes"}}}}',
    setup: setupFor(KINDS[0], 'proto-service'),
    status: 400,
    reason: 'BadRequest',
  });
  return out;
}

// ---- path traversal ----

const BAD_SEGMENTS: [label: string, raw: string][] = [
  ['%2e%2e', '%2e%2e'],
  ['%2E%2E', '%2E%2E'],
  ['..', '..'],
  ['%2e', '%2e'],
  ['.', '.'],
  ['encoded slash', 'a%2fb'],
  ['encoded slash alone', '%2F'],
  ['encoded percent', 'a%25b'],
];
const NAMED_COLLECTIONS = [
  ...KINDS.map((k) => k.collection),
  core('endpoints'),
  core('events'),
  `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`,
];
const NAMESPACED_RESOURCES = [
  '/api/v1/namespaces/{ns}/services',
  '/api/v1/namespaces/{ns}/pods',
  '/api/v1/namespaces/{ns}/endpoints',
  '/api/v1/namespaces/{ns}/events',
  '/apis/apps/v1/namespaces/{ns}/deployments',
  '/apis/apps/v1/namespaces/{ns}/replicasets',
  '/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices',
];

function traversalCases(): MalformedCase[] {
  const out: MalformedCase[] = [];
  for (const collection of NAMED_COLLECTIONS) {
    for (const [label, raw] of BAD_SEGMENTS) {
      for (const method of ['GET', 'DELETE', 'PUT', 'PATCH'] as const) {
        out.push({
          name: `${label === '%2e%2e' ? 'traversal: ' : ''}${method} ${collection}/${label} as a name`,
          method,
          path: `${collection}/${raw}`,
          contentType: method === 'PATCH' ? MERGE_TYPES.merge : undefined,
          body: method === 'PUT' || method === 'PATCH' ? { metadata: { labels: { a: 'b' } } } : undefined,
          setup: [NAMESPACE_SETUP],
          status: 400,
          reason: 'BadRequest',
        });
      }
    }
  }
  for (const resource of NAMESPACED_RESOURCES) {
    for (const [label, raw] of BAD_SEGMENTS) {
      out.push({
        name: `${label === '%2e%2e' ? 'traversal: ' : ''}list ${resource.replace('{ns}', label)} as a namespace`,
        method: 'GET',
        path: resource.replace('{ns}', raw),
        status: 400,
        reason: 'BadRequest',
      });
      out.push({
        name: `create in ${resource.replace('{ns}', label)} as a namespace`,
        method: 'POST',
        path: resource.replace('{ns}', raw),
        body: { metadata: { name: 'x' } },
        status: 400,
        reason: 'BadRequest',
      });
    }
  }
  const notFound: [string, string][] = [
    ['resource position', `/api/v1/namespaces/${NS}/%2e%2e`],
    ['resource position with a name', `/api/v1/namespaces/${NS}/%2e%2e/x`],
    ['version position', '/api/%2e%2e/namespaces'],
    ['group position', '/apis/%2e%2e/v1/deployments'],
    ['group version position', '/apis/apps/%2e%2e/deployments'],
    ['subresource position', `${core('services')}/proto-service/%2e%2e`],
    ['subresource with an encoded slash', `${core('services')}/proto-service/status%2f..`],
    ['cluster resource position', '/api/v1/%2e%2e'],
  ];
  for (const [where, path] of notFound) {
    out.push({
      name: `%2e%2e in the ${where} addresses nothing`,
      method: 'GET',
      path,
      status: 404,
      reason: 'NotFound',
    });
  }
  for (const path of [`${core('services')}/%zz`, `/api/v1/namespaces/%E0%A4%A/services`]) {
    out.push({
      name: `a broken escape: GET ${path}`,
      method: 'GET',
      path,
      status: 400,
      reason: 'BadRequest',
    });
  }
  return out;
}

// ---- depth, size, content types, broken bodies ----

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const nestedObjects = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

function bodyCases(): MalformedCase[] {
  const out: MalformedCase[] = [];
  const svc = KINDS[0];
  const victim = `${svc.collection}/body-victim`;
  const setup = setupFor(svc, 'body-victim');
  for (const depth of [1001, 10_000, 100_000]) {
    for (const [shape, make] of [
      ['arrays', nested],
      ['objects', nestedObjects],
    ] as const) {
      const annotated = (name: string) =>
        `{"apiVersion":"v1","kind":"Service","metadata":{"name":"${name}","annotations":{"a":${make(depth)}}},"spec":{"ports":[{"port":80}]}}`;
      const crash = depth === 100_000 ? 'crash: ' : '';
      const name = `deep-${shape}-${depth}`;
      out.push({
        name: `${crash}create with ${shape} nested ${depth} deep`,
        method: 'POST',
        path: svc.collection,
        body: annotated(name),
        setup,
        status: 400,
        reason: 'BadRequest',
        notStored: `${svc.collection}/${name}`,
      });
      out.push({
        name: `update with ${shape} nested ${depth} deep`,
        method: 'PUT',
        path: victim,
        body: annotated('body-victim'),
        setup,
        status: 400,
        reason: 'BadRequest',
      });
      for (const [type, contentType] of Object.entries(MERGE_TYPES)) {
        out.push({
          name: `${type} patch with ${shape} nested ${depth} deep`,
          method: 'PATCH',
          path: victim,
          contentType,
          body: `{"metadata":{"annotations":{"a":${make(depth)}}}}`,
          setup,
          status: 400,
          reason: 'BadRequest',
        });
      }
      out.push({
        name: `json patch with a value of ${shape} nested ${depth} deep`,
        method: 'PATCH',
        path: victim,
        contentType: 'application/json-patch+json',
        body: `[{"op":"add","path":"/metadata/annotations","value":${make(depth)}}]`,
        setup,
        status: 400,
        reason: 'BadRequest',
      });
    }
  }
  out.push({
    name: 'create from YAML with flow sequences nested 5000 deep',
    method: 'POST',
    path: svc.collection,
    contentType: 'application/yaml',
    body: `apiVersion: v1\nkind: Service\nmetadata:\n  name: deep-yaml\n  annotations:\n    a: ${nested(5000)}\n`,
    setup,
    status: 400,
    reason: 'BadRequest',
    notStored: `${svc.collection}/deep-yaml`,
  });

  const big = (name: string) =>
    JSON.stringify({
      ...svc.make(name),
      metadata: { name, annotations: { a: 'x'.repeat(3.2 * 1024 * 1024) } },
    });
  out.push({
    name: 'create with a body past 3 MiB',
    method: 'POST',
    path: svc.collection,
    body: big('too-big'),
    setup,
    status: 413,
    reason: 'RequestEntityTooLarge',
    notStored: `${svc.collection}/too-big`,
  });
  out.push({
    name: 'update with a body past 3 MiB',
    method: 'PUT',
    path: victim,
    body: big('body-victim'),
    setup,
    status: 413,
    reason: 'RequestEntityTooLarge',
  });
  out.push({
    name: 'merge patch with a body past 3 MiB',
    method: 'PATCH',
    path: victim,
    contentType: MERGE_TYPES.merge,
    body: JSON.stringify({ metadata: { annotations: { a: 'x'.repeat(3.2 * 1024 * 1024) } } }),
    setup,
    status: 413,
    reason: 'RequestEntityTooLarge',
  });

  for (const contentType of [
    'text/plain',
    'application/xml',
    'application/vnd.kubernetes.protobuf',
    'image/png',
  ]) {
    out.push({
      name: `create with Content-Type ${contentType}`,
      method: 'POST',
      path: svc.collection,
      contentType,
      body: svc.make('ctype'),
      setup,
      status: 415,
      reason: 'UnsupportedMediaType',
      notStored: `${svc.collection}/ctype`,
    });
    out.push({
      name: `update with Content-Type ${contentType}`,
      method: 'PUT',
      path: victim,
      contentType,
      body: svc.make('body-victim'),
      setup,
      status: 415,
      reason: 'UnsupportedMediaType',
    });
  }
  for (const contentType of ['application/json', 'text/plain', 'application/xml', '']) {
    out.push({
      name: `patch with Content-Type "${contentType}"`,
      method: 'PATCH',
      path: victim,
      contentType,
      body: { metadata: { labels: { a: 'b' } } },
      setup,
      status: 415,
      reason: 'UnsupportedMediaType',
    });
  }

  const brokenJson: [string, string][] = [
    ['truncated object', '{"apiVersion":"v1","kind":"Service","metadata":{"name":"broken"'],
    ['truncated string', '{"apiVersion":"v1","kind":"Serv'],
    ['trailing garbage', '{"apiVersion":"v1","kind":"Service","metadata":{"name":"broken"}} trailing'],
    ['two documents', '{"kind":"Service"}{"kind":"Service"}'],
    ['single quotes', "{'apiVersion':'v1'}"],
    ['NaN', '{"spec":{"ports":[{"port":NaN}]}}'],
    ['a comment', '{"kind":"Service" /* c */}'],
    ['a lone surrogate escape is fine but a bad escape is not', '{"a":"\\x41"}'],
    ['control bytes', '\u0000\u0001\u0002'],
    ['a lone brace', '{'],
    ['a lone bracket', '['],
  ];
  for (const [what, body] of brokenJson) {
    out.push({
      name: `create with broken JSON: ${what}`,
      method: 'POST',
      path: svc.collection,
      body,
      setup,
      status: 400,
      reason: 'BadRequest',
      notStored: `${svc.collection}/broken`,
    });
    out.push({
      name: `merge patch with broken JSON: ${what}`,
      method: 'PATCH',
      path: victim,
      contentType: MERGE_TYPES.merge,
      body,
      setup,
      status: 400,
      reason: 'BadRequest',
    });
  }
  out.push({
    name: 'create with broken YAML',
    method: 'POST',
    path: svc.collection,
    contentType: 'application/yaml',
    body: 'apiVersion: v1\nkind: Service\nmetadata:\n  name: [unclosed\n',
    setup,
    status: 400,
    reason: 'BadRequest',
  });
  out.push({
    name: 'create from YAML with an alias bomb',
    method: 'POST',
    path: svc.collection,
    contentType: 'application/yaml',
    body: `a: &a [x, x, x, x, x, x, x, x, x, x]\n${Array.from(
      { length: 8 },
      (_, i) =>
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(97 + i)}`)
          .join(', ')}]`,
    ).join('\n')}\n`,
    setup,
    status: 400,
    reason: 'BadRequest',
  });

  const wrongTypes: [string, string][] = [
    ['an array', '[]'],
    ['an array of objects', '[{"kind":"Service"}]'],
    ['a string', '"Service"'],
    ['a number', '42'],
    ['null', 'null'],
    ['true', 'true'],
  ];
  for (const [what, body] of wrongTypes) {
    out.push({
      name: `create with a whole body that is ${what}`,
      method: 'POST',
      path: svc.collection,
      body,
      setup,
      status: 400,
      reason: 'BadRequest',
    });
    out.push({
      name: `update with a whole body that is ${what}`,
      method: 'PUT',
      path: victim,
      body,
      setup,
      status: 400,
      reason: 'BadRequest',
    });
    for (const [type, contentType] of Object.entries(MERGE_TYPES)) {
      out.push({
        name: `${type} patch with a whole body that is ${what}`,
        method: 'PATCH',
        path: victim,
        contentType,
        body,
        setup,
        status: 400,
        reason: 'BadRequest',
      });
    }
    if (what !== 'an array' && what !== 'an array of objects') {
      out.push({
        name: `json patch with a whole body that is ${what}`,
        method: 'PATCH',
        path: victim,
        contentType: 'application/json-patch+json',
        body,
        setup,
        status: 400,
        reason: 'BadRequest',
      });
    }
  }
  for (const [what, op] of [
    ['an op that is not an object', '[1]'],
    ['an unknown op', '[{"op":"smash","path":"/spec"}]'],
    ['no path', '[{"op":"add","value":1}]'],
    ['a path without a slash', '[{"op":"add","path":"spec","value":1}]'],
    ['add without value', '[{"op":"add","path":"/metadata/labels/x"}]'],
    ['remove of a missing path', '[{"op":"remove","path":"/spec/nothing/here"}]'],
    ['an index past the end', '[{"op":"add","path":"/spec/ports/99","value":{}}]'],
    ['move without from', '[{"op":"move","path":"/spec/x"}]'],
    ['move into its own child', '[{"op":"move","from":"/spec","path":"/spec/x"}]'],
    ['a failing test', '[{"op":"test","path":"/metadata/name","value":"other"}]'],
    ['remove the whole document', '[{"op":"remove","path":""}]'],
  ] as const) {
    out.push({
      name: `json patch with ${what}`,
      method: 'PATCH',
      path: victim,
      contentType: 'application/json-patch+json',
      body: op,
      setup,
      status: 400,
      reason: 'BadRequest',
    });
  }
  return out;
}

// ---- request heads and methods ----

function headCases(): MalformedCase[] {
  const out: MalformedCase[] = [];
  // Node refuses a request head past 16 KiB with a bare 431 before any handler runs.
  for (const size of [17 * 1024, 64 * 1024, 1024 * 1024]) {
    out.push({
      name: `a request path of ${size >> 10} KiB`,
      method: 'GET',
      path: `${core('services')}/${'a'.repeat(size)}`,
      status: 431,
    });
  }
  out.push({
    name: 'a query of 20 KiB',
    method: 'GET',
    path: `${core('services')}?labelSelector=${'a'.repeat(20 * 1024)}`,
    status: 431,
  });
  const svc = KINDS[0];
  const notAllowed: [MalformedCase['method'], string, string][] = [
    ['POST', `${svc.collection}/some-name`, 'POST to an object'],
    ['PUT', svc.collection, 'PUT to a collection'],
    ['PATCH', svc.collection, 'PATCH to a collection'],
    ['DELETE', '/api/v1/services', 'DELETE across all namespaces'],
    ['POST', '/api/v1/services', 'POST across all namespaces'],
    ['POST', '/api/v1', 'POST to discovery'],
    ['DELETE', '/version', 'DELETE /version'],
    ['PUT', '/metrics', 'PUT /metrics'],
    ['DELETE', `${svc.collection}/x/status`, 'DELETE a status subresource'],
    ['POST', '/api/v1/namespaces/default/finalize', 'POST a namespace finalize'],
  ];
  for (const [method, path, what] of notAllowed) {
    out.push({ name: `method not allowed: ${what}`, method, path, status: 405, reason: 'MethodNotAllowed' });
  }
  for (const path of [
    '/api/v2/namespaces',
    '/apis/example.com/v1/widgets',
    `${core('widgets')}`,
    '/api/v1/namespaces/default/services/x/logs',
    '/apis/apps/v1/namespaces/default/deployments/x/rollback',
    '/nothing/here',
  ]) {
    out.push({ name: `unknown path ${path}`, method: 'GET', path, status: 404, reason: 'NotFound' });
  }
  return out;
}

export const cases: MalformedCase[] = [
  ...pollutionCases(),
  ...traversalCases(),
  ...bodyCases(),
  ...headCases(),
];
