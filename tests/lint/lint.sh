#!/usr/bin/env bash
# lint.sh — project rules a compiler does not check:
#   1. banned functions: sprintf strcpy strcat atoi strtok localtime gmtime
#      (unbounded writes, no error reporting, or hidden global state);
#   2. every C file is formatted by the root .clang-format (when clang-format
#      is installed; ./dev installs it);
#   3. git tracks no data a program wrote: LMDB files and lock files (a store
#      committed by accident costs every clone its size), report PDFs outside
#      docs/, SQLite files, generated event files and bench output, and no
#      file over 1 MiB outside docs/images/ (hand-written files are not that
#      big; generated ones are). .gitignore keeps most of it out; this catches
#      `git add -f` and merges, which .gitignore does not.
# Usage: lint.sh SOURCE_DIR
set -uo pipefail
root="${1:?usage: lint.sh SOURCE_DIR}"
cd "$root" || exit 2
status=0
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.c' -o -name '*.h')
if [ -z "$files" ]; then
  echo "lint: no C files found under $root" >&2
  exit 2
fi

# shellcheck disable=SC2086
banned=$(grep -nE '\b(sprintf|strcpy|strcat|atoi|strtok|localtime|gmtime)[[:space:]]*\(' $files |
         grep -vE '^[^:]+:[0-9]+:[[:space:]]*(\*|//)' || true)
if [ -n "$banned" ]; then
  echo "lint: banned functions (use snprintf, memcpy with a length, strtol, gmtime_r...):" >&2
  echo "$banned" >&2
  status=1
fi

if command -v clang-format >/dev/null 2>&1; then
  unformatted=""
  for f in $files; do
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
      unformatted="$unformatted $f"
    fi
  done
  if [ -n "$unformatted" ]; then
    echo "lint: not formatted by .clang-format (run: clang-format -i FILE):" >&2
    for f in $unformatted; do echo "  $f" >&2; done
    status=1
  fi
else
  echo "lint: clang-format not installed; format check skipped" >&2
  [ -n "${KPID_SKIP_LOG:-}" ] && echo "lint: clang-format not installed: C formatting not checked" >>"$KPID_SKIP_LOG"
fi
if tracked=$(git ls-files 2>/dev/null) && [ -n "$tracked" ]; then
  generated=$(echo "$tracked" | grep -E '\.mdb$|\.mdb-lock$|-lock$|(^|/)kpid\.lock$|(^|/)LOCK$|\.(sqlite|sqlite3|db|db-journal|db-wal)$|\.ndjson$|(^|/)kpid-data/|^bench/out/|^build[^/]*/' || true)
  pdfs=$(echo "$tracked" | grep -E '\.pdf$' | grep -vE '^docs/' || true)
  big=""
  while IFS= read -r f; do
    [ -f "$f" ] || continue
    case "$f" in docs/images/*) continue ;; esac
    size=$(stat -c %s "$f" 2>/dev/null || echo 0)
    [ "$size" -gt 1048576 ] && big="$big  $f ($size bytes)"$'\n'
  done <<<"$tracked"
  if [ -n "$generated$pdfs$big" ]; then
    echo "lint: git tracks generated data (git rm --cached it; .gitignore has the patterns):" >&2
    [ -n "$generated" ] && echo "$generated" | sed 's/^/  /' >&2
    [ -n "$pdfs" ] && echo "$pdfs" | sed 's/^/  (a report PDF outside docs\/) /' >&2
    [ -n "$big" ] && printf '%s' "$big" | sed 's/^/  (over 1 MiB)/' >&2
    status=1
  fi
else
  echo "lint: not a git checkout; tracked-data check skipped" >&2
  [ -n "${KPID_SKIP_LOG:-}" ] && echo "lint: not a git checkout: tracked generated data not checked" >>"$KPID_SKIP_LOG"
fi
[ $status -eq 0 ] && echo "lint: ok ($(echo "$files" | wc -w) files)"
exit $status
