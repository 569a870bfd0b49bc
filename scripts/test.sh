#!/usr/bin/env bash
# The whole test suite: dependencies, renderer build (web-mode tests serve it), type check, vitest,
# then one summary line. Exit status is non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-test-deps.sh || exit 1
npm run build:renderer || { echo "0 passed, 1 failed"; exit 1; }
status=0
npm run typecheck || status=1
rm -f test-results/vitest.json
npx vitest run "$@"
vitest_status=$?
[ $vitest_status -eq 0 ] || status=1
node scripts/test-summary.mjs test-results/vitest.json $vitest_status || status=1
exit $status
