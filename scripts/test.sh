#!/usr/bin/env bash
# The whole test suite, as CI runs it: set-up (idempotent), type check and lint, the unit tier,
# then, as root, the integration tier (real namespaces, real kubectl). Exit code is non-zero if
# any tier fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== typecheck and lint"
npx --no-install tsc --noEmit -p .
npx --no-install eslint --max-warnings 0 .
echo "== unit tests"
npm test --silent
if [ "$(id -u)" -eq 0 ]; then
  echo "== integration tests (root)"
  npm run --silent test:integration
else
  echo "== integration tests skipped: they need root"
fi
