#!/usr/bin/env bash
# lint.sh — project rules a compiler does not check (STYLE.md §10):
#   1. banned functions: sprintf strcpy strcat atoi strtok localtime gmtime
#      (unbounded writes, no error reporting, or hidden global state);
#   2. every C file is formatted by the root .clang-format (when clang-format
#      is installed; ./dev installs it).
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
fi
[ $status -eq 0 ] && echo "lint: ok ($(echo "$files" | wc -w) files)"
exit $status
