#!/bin/sh
# run_fuzz.sh BINARY CORPUS_DIR SECONDS [ARTIFACT_DIR] — one bounded libFuzzer
# run, as ctest does it. The seed corpus is copied to a temporary directory
# (libFuzzer adds the inputs it finds to its first corpus directory, and the
# repository must stay untouched); a crashing input is kept in ARTIFACT_DIR
# (default ./fuzz-artifacts; ctest passes a directory in the build tree).
set -eu
bin=$1
corpus=$2
secs=$3
artifacts=${4:-$PWD/fuzz-artifacts}
work=$(mktemp -d "${TMPDIR:-/tmp}/kpid-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$artifacts"
if [ -d "$corpus" ]; then
  cp -R "$corpus"/. "$work/corpus/"
fi
# -jobs is not used: the machine's cores are shared; one process, bounded
# time and memory. A crash, leak, timeout or failed property exits non-zero.
rc=0
"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -print_final_stats=1 -artifact_prefix="$artifacts/$(basename "$bin")-" "$work/corpus" || rc=$?
exit "$rc"
