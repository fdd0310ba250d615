#!/usr/bin/env bash
# The core tests (tests/spec, the planner, tests/cli; no interop) at the declared minimum versions
# (ci/min-constraints.txt), then, where pyenv is installed, with the oldest and the newest Python it has
# among 3.10–3.13 (newest dependencies). .ci/run calls it after the full suite; it runs alone too:
#   bash ci/floors.sh            # all three
#   bash ci/floors.sh floors     # only the minimum versions
set -euo pipefail
cd "$(dirname "$0")/.."
CORE=(tests/spec tests/engine/test_planner.py tests/cli)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
started=$SECONDS

core() {  # core NAME PYTHON [pip arguments]: a fresh venv, mtlsgen in it, the core tests
  local name=$1 python=$2 start=$SECONDS
  shift 2
  "$python" -m venv "$work/$name"
  "$work/$name/bin/pip" install -q --disable-pip-version-check "$@" -e '.[jks]' pytest jsonschema
  echo "ci: core tests, $name ($("$work/$name/bin/python" --version 2>&1))"
  "$work/$name/bin/python" -m pytest -q -p no:cacheprovider -m "not interop" "${CORE[@]}"
  echo "ci: $name took $((SECONDS - start)) s"
}

core floors python3 -c ci/min-constraints.txt
if [ "${1:-}" != floors ] && command -v pyenv >/dev/null; then
  root=$(pyenv root)
  # Installed Pythons among 3.10–3.13, oldest first (version sort, so 3.10 comes after 3.9).
  mapfile -t pythons < <(ls -d "$root"/versions/3.1[0-3].*/bin/python 2>/dev/null | sort -V)
  if [ "${#pythons[@]}" -gt 0 ]; then
    core oldest-python "${pythons[0]}"
    if [ "${#pythons[@]}" -gt 1 ]; then core newest-python "${pythons[-1]}"; fi
  else
    echo "ci: pyenv has no Python 3.10–3.13; only the minimum versions were checked"
  fi
fi
echo "ci: floors and Pythons took $((SECONDS - started)) s"
