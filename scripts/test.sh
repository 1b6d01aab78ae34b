#!/usr/bin/env bash
# `npm test`: the type check, then the suite's two vitest projects as two runs side by side.
# Each project runs its files one at a time — the drills proper in one, the commands, reports,
# verify and game days in the other — so at most two files share the machine's cores. (Vitest
# itself runs projects that disable file parallelism one file at a time between them.) Both
# stream their output, each line prefixed with its project; the exit code is the first failure's.
set -uo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.test.json || exit $?
run() {
  npx vitest run --project "$1" --passWithNoTests "${@:2}" 2>&1 | sed -u "s/^/[$1] /"
  return "${PIPESTATUS[0]}"
}
run drills "$@" &
drills=$!
run commands "$@"
commands=$?
wait "$drills"
drills=$?
exit $((commands != 0 ? commands : drills))
