/**
 * What the callgrind workload runs under valgrind, bundled into one file first (callgrind.ts):
 * `node callgrind-entry.mjs CASE ITERATIONS NATIVE_ADDON_PATH` prepares the case's fixed input
 * and runs its operation ITERATIONS times, nothing else, so that the instructions of a run with W
 * iterations (start-up, preparation, and a warm-up in which the JIT compiles the operation)
 * subtracted from those of a run with W + N leave N operations of optimised code.
 */
import { findCase } from './cases.ts';

const [name = '', iterations = '0', nativeAddon] = process.argv.slice(2);
const hotPath = findCase(name);
if (!hotPath) throw new Error(`no case "${name}"`);
const op = hotPath.prepare(nativeAddon);
for (let i = Number(iterations); i > 0; i--) op();
