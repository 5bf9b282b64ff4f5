#!/usr/bin/env bash
# Re-create one committed example manifest with a given dbt.
#   usage: tests/manifests/generate.sh PATH/TO/dbt
# Writes tests/manifests/manifest_v<schema>_dbt<version>.json.gz from the mini project.
set -euo pipefail
DBT="$1"
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cp -r "$HERE/project/." "$WORK/"
(cd "$WORK" && "$DBT" parse --profiles-dir . --no-partial-parse >/dev/null)
read -r SCHEMA VERSION < <(python3 - "$WORK/target/manifest.json" <<'PY'
import json, re, sys
meta = json.load(open(sys.argv[1]))["metadata"]
print(re.search(r"v(\d+)\.json", meta["dbt_schema_version"]).group(1), meta["dbt_version"])
PY
)
gzip -9n < "$WORK/target/manifest.json" > "$HERE/manifest_v${SCHEMA}_dbt${VERSION}.json.gz"
echo "wrote manifest_v${SCHEMA}_dbt${VERSION}.json.gz"
