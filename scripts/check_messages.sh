#!/usr/bin/env bash
# Fail when a Spanish catalog misses a string: run by `make messages` (and so
# by `make test`) before the test passes.
#
# makemessages rewrites .po files, so it runs on a copy of the tree: the
# working copy's catalogs are never touched. In the copy every catalog is
# brought up to date with the code (new strings added, gone ones dropped),
# then any entry left untranslated or fuzzy fails the check, listed by file.
# Finally the catalogs must compile.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
languages=(es)
# Where catalogs live (settings LOCALE_PATHS and each app's locale/).
catalog_dirs=(locale accounts/locale agencies/locale mfa/locale)
ignores=(--ignore=.venv --ignore=.bench --ignore=tests --ignore=benchmarks --ignore=staticfiles --ignore=scripts)

command -v msgattrib >/dev/null || { echo "check_messages: gettext is missing (make system-deps)" >&2; exit 2; }

copy="$(mktemp -d)"
trap 'rm -rf "$copy"' EXIT
tar -C "$root" --exclude=./.venv --exclude=./.bench --exclude=./.git --exclude=./staticfiles --exclude='*.sqlite3*' \
  --exclude=./.pytest_cache --exclude='__pycache__' -cf - . | tar -C "$copy" -xf -
for dir in "${catalog_dirs[@]}"; do mkdir -p "$copy/$dir"; done

cd "$copy"
for language in "${languages[@]}"; do
  "$python" manage.py makemessages -l "$language" --no-obsolete "${ignores[@]}" -v 0
  "$python" manage.py makemessages -l "$language" --no-obsolete -d djangojs "${ignores[@]}" -v 0
done

# msgattrib prints the header entry too whenever it prints any entry.
entries() { local n; n="$(grep -c '^msgid ' <<<"$1" || true)"; echo $(( n > 0 ? n - 1 : 0 )); }

failed=0
while IFS= read -r -d '' po; do
  untranslated="$(msgattrib --untranslated --no-wrap "$po")"
  fuzzy="$(msgattrib --only-fuzzy --no-wrap "$po")"
  if [ -n "$untranslated" ] || [ -n "$fuzzy" ]; then
    failed=1
    echo "${po#./}: $(entries "$untranslated") untranslated, $(entries "$fuzzy") fuzzy"
    { echo "$untranslated"; echo "$fuzzy"; } | grep '^msgid ' | grep -v '^msgid ""$' | head -20 | sed 's/^/    /'
  fi
done < <(find . -path ./.venv -prune -o -name '*.po' -path '*/LC_MESSAGES/*' -print0 | sort -z)

if [ "$failed" -ne 0 ]; then
  echo "check_messages: translate the entries above in the working copy's .po files (makemessages -l es --no-obsolete)." >&2
  exit 1
fi
"$python" manage.py compilemessages "${ignores[@]}" -v 0
echo "check_messages: every catalog is complete and compiles."
