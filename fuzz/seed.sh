#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ from the repository's fixtures and the real
# corpus (run from anywhere; idempotent). See README "Fuzzing".
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
c="$root/fuzz/corpus"
mkdir -p "$c"/{policy_raw,policy_structured,manifests,cron,settings,spans,planner}
# planner: the input bytes choose a generated database (fuzz_targets/planner.rs);
# it starts from an empty corpus.
for f in "$root"/policy/test_data/*.json; do
  case "$f" in *.context.json) continue ;; esac
  # validate's payload: {"request": ..., "settings": {}}
  { printf '{"request":'; cat "$f"; printf ',"settings":{}}'; } > "$c/policy_raw/$(basename "$f")"
done
for f in "$root"/tests/fixtures/corpus/*.yaml "$root"/tests/fixtures/parity/*.yaml "$root"/tests/fixtures/cases/*.yaml; do
  cp "$f" "$c/manifests/"
  cp "$f" "$c/spans/"
done
i=0
for f in "$root"/tests/fixtures/parity/*.json "$root"/policy/test_data/*.json; do
  i=$((i + 1))
  { printf '\000'; tr -d '\000' < "$f"; printf '\000{}\000[]'; } > "$c/policy_structured/seed-$i"
done
printf '%s\n' '0 0 3 * * *' '0 3 * * *' '@daily' '@every 1h30m' '0 0 0 1,15 * mon' '*/5 * * * * *' '0 0 0 30 2 *' \
  | while read -r s; do printf '%s' "$s" > "$c/cron/$(printf '%s' "$s" | md5sum | cut -c1-8)"; done
printf '%s' '{"severity":{"objectstore-missing":"warn"},"backupLabelKeys":["backup"],"lineageScope":"namespace"}' > "$c/settings/policy"
printf '%s' '[{"name":"strict-objectstores","string":"true"},{"name":"severity","map":{"lineage-gap":"deny"}}]' > "$c/settings/argocd"
echo "seeded $c"
