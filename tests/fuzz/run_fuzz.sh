#!/bin/sh
# run_fuzz.sh BINARY CORPUS_DIR BUDGET [ARTIFACT_DIR] — one bounded libFuzzer
# run.
#
# BUDGET is either
#   runs=N     N inputs from seed 1: the same inputs on every machine, so a
#              run that passed passes again (what ctest, hence CI, does);
#   seconds=N  N seconds from a random seed: exploration, which finds new
#              inputs each time (`./dev fuzz`); not for gating a merge.
#
# The inputs it finds go to a temporary directory (the repository must stay
# untouched); a crashing input is kept in ARTIFACT_DIR (default
# ./fuzz-artifacts; ctest passes a directory in the build tree).
set -eu
if [ $# -lt 3 ]; then
  echo "usage: run_fuzz.sh BINARY CORPUS_DIR runs=N|seconds=N [ARTIFACT_DIR]" >&2
  exit 2
fi
bin=$1
corpus=$2
budget=$3
artifacts=${4:-$PWD/fuzz-artifacts}
# Fixed inputs need a fixed layout too: libFuzzer folds code addresses into
# its features, so under address randomisation the same seed explores
# differently. setarch -R (util-linux) turns randomisation off for the run.
norand=""
case $budget in
  runs=[0-9]*)
    limit="-runs=${budget#runs=} -seed=1 -reload=0"
    if setarch -R true 2>/dev/null; then
      norand="setarch -R"
    else
      echo "run_fuzz.sh: setarch -R is not permitted here; address randomisation stays on" >&2
    fi
    ;;
  seconds=[0-9]*) limit="-max_total_time=${budget#seconds=}" ;;
  *)
    echo "run_fuzz.sh: budget '$budget' must be runs=N or seconds=N" >&2
    exit 2
    ;;
esac
work=$(mktemp -d "${TMPDIR:-/tmp}/kpid-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$artifacts"
# libFuzzer writes what it finds into its first corpus directory only: an
# empty temporary one; the seed corpus is read from where it is.
seeds=""
[ -d "$corpus" ] && seeds=$corpus
# -jobs is not used: the machine's cores are shared; one process, bounded
# work and memory. A crash, leak, timeout or failed property exits non-zero.
rc=0
# shellcheck disable=SC2086 # $norand, $limit: several words; $seeds: none or one
$norand "$bin" $limit -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -print_final_stats=1 -artifact_prefix="$artifacts/$(basename "$bin")-" "$work/corpus" $seeds || rc=$?
exit "$rc"
