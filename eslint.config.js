import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/**
 * The layers of the tree, bottom first (DESIGN.md "The shape" and "Layout"). A file may import
 * from its own folder, from any layer below its own, never from a layer above, and never from a
 * sibling folder of its own layer (so overlay, proxy and controllers stay independent of each
 * other). Tests sit above everything and are not listed. Globs are relative to this file.
 */
const LAYERS = [
  { errors: ['dataplane/*.ts'] },
  {
    api: ['dataplane/api/**'],
    kernel: ['dataplane/kernel/*.ts', 'dataplane/kernel/!(testing)/**'],
  },
  {
    client: ['dataplane/client/**'],
    'kernel fakes': ['dataplane/kernel/testing/**'],
    native: ['dataplane/native/**'],
  },
  // ebpf-ts: a library over the native module, below the proxy mode and the cluster that use it.
  { ebpf: ['dataplane/ebpf/**'] },
  {
    overlay: ['dataplane/overlay/**'],
    proxy: ['dataplane/proxy/**'],
    controllers: ['dataplane/controllers/**'],
    dns: ['dataplane/dns/**'],
  },
  // The cluster's topology is pure data that the agents read; the builder realising it is above them.
  { topology: ['dataplane/cluster/topology*.ts'] },
  { agent: ['dataplane/agent/**'] },
  { cluster: ['dataplane/cluster/!(topology*)', 'dataplane/cluster/*/**'] },
  { bench: ['bench/**'] },
  { cli: ['dataplane/cli/**', 'scenarios/**'] },
];

function layerZones() {
  const zones = [];
  LAYERS.forEach((layer, level) => {
    const above = LAYERS.slice(level + 1).flatMap((l) => Object.values(l).flat());
    for (const [name, target] of Object.entries(layer)) {
      const siblings = Object.entries(layer).flatMap(([other, paths]) => (other === name ? [] : paths));
      const from = [...above, ...siblings];
      if (from.length === 0) continue;
      zones.push({
        target,
        from,
        message: `${name} is below (or beside) what it imports: see the layers in eslint.config.js and DESIGN.md.`,
      });
    }
  });
  // Fakes and test fixtures live in testing/ folders: the code that runs a cluster never loads them.
  zones.push({
    target: ['dataplane/**/!(testing)/*.ts'],
    from: ['dataplane/**/testing/**'],
    message: 'only tests, testing/ folders and the bench may import fakes and fixtures.',
  });
  return zones;
}

export default tseslint.config(
  { ignores: ['node_modules/**', 'build/**', 'dist/**', '.kdp/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['**/*.ts', '**/*.mts', '**/*.js', '**/*.mjs'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.mts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.mts'] },
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.mts', '.js', '.mjs', '.json'] })],
    },
    rules: {
      // Type-only imports count too: a cycle of types still ties the files' design together.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { basePath: import.meta.dirname, zones: layerZones() }],
    },
  },
);
