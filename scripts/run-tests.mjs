#!/usr/bin/env node
// Runs one test tier with node's own test runner (through tsx for TypeScript).
// Usage: node scripts/run-tests.mjs unit|integration|vm [filter...]
// The tiers are the folders under test/; a filter keeps only files whose path contains it.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const [tier = 'unit', ...filters] = process.argv.slice(2);
const root = join(import.meta.dirname, '..', 'test', tier);

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.test.ts') ? [p] : [];
  });
}

let files;
try {
  files = walk(root).sort();
} catch {
  console.error(`no test tier "${tier}" (expected a folder ${root})`);
  process.exit(2);
}
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (!files.length) {
  console.error(`no test files in ${root}${filters.length ? ` matching ${filters.join(', ')}` : ''}`);
  process.exit(2);
}
const concurrency = tier === 'unit' ? [] : ['--test-concurrency=1'];
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', ...concurrency, ...files], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
