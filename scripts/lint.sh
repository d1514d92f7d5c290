#!/usr/bin/env bash
# npm run lint: Biome checks TS/JS/JSON (its linter, and its formatter in check mode: biome.jsonc)
# and clang-format checks native/ (.clang-format); both report, neither writes.
# npm run format (--write): Biome formats and applies its safe fixes (the ones it guarantees keep
# behaviour: `import type`, `**` for Math.pow, ...), clang-format rewrites native/ in place.
set -euo pipefail
cd "$(dirname "$0")/.."
write=0
case "${1:-}" in --write) write=1 ;; "") ;; *) echo "lint: unknown argument '$1' (--write or nothing)" >&2; exit 2 ;; esac

biome=node_modules/.bin/biome
[ -x "$biome" ] || { echo "lint: $biome not found: run npm ci first" >&2; exit 1; }
# clang-format's output differs between versions; .clang-format is checked with Debian bookworm's 14.
cf="${CLANG_FORMAT:-}"
if [ -z "$cf" ]; then cf=clang-format; command -v clang-format-14 >/dev/null && cf=clang-format-14; fi
command -v "$cf" >/dev/null || { echo "lint: $cf not found (scripts/setup-system.sh installs clang-format 14)" >&2; exit 1; }
case "$("$cf" --version)" in
  *" version 14."*) ;;
  *) echo "lint: native/ is formatted with clang-format 14; $cf is $("$cf" --version) (set CLANG_FORMAT to a clang-format 14)" >&2; exit 1 ;;
esac
mapfile -t sources < <(find native \( -name '*.cc' -o -name '*.h' \) | sort)

if [ "$write" = 1 ]; then
  "$biome" check --write .
  "$cf" -i "${sources[@]}"
  echo "format: Biome and clang-format ($cf) applied"
else
  status=0
  "$biome" check --error-on-warnings . || status=1
  "$cf" --dry-run -Werror "${sources[@]}" || status=1
  [ "$status" = 0 ] && echo "lint: Biome and clang-format found nothing"
  exit "$status"
fi
