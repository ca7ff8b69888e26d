#!/usr/bin/env bash
# Benchmark: `kubectl cnpg-plan check` on a single Cluster file (cold process,
# precompiled policy module cache warm) vs `kubectl kustomize` of the same
# directory. Prints the medians and ratios, both through kubectl's plugin
# dispatch (what a user types: kubectl's own start-up is paid twice over,
# once by kubectl and once by the plugin) and for the plugin binary run
# directly (what pre-commit/CI hooks can call). Not a timed test.
#
#   kubectl-plugin/bench/check-vs-kustomize.sh [DIR] [RUNS]
#
# Uses hyperfine when installed; otherwise a plain loop with `date +%s%N`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
dir="${1:-$here/../tests/fixtures/flux-plugin/orders}"
runs="${2:-30}"
file="$dir/database.yaml"
[ -f "$file" ] || file="$(ls "$dir"/*.yaml | head -1)"

cargo build --release -q -p kubectl-cnpg_plan --manifest-path "$root/Cargo.toml"
bin_dir="$root/target/release"
export PATH="$bin_dir:$PATH"
export CNPG_GUARD_CACHE_DIR="${CNPG_GUARD_CACHE_DIR:-$(mktemp -d)}"
# A kustomization for `kubectl kustomize` of the same directory.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$dir"/*.yaml "$work/"
if [ ! -f "$work/kustomization.yaml" ]; then
  printf 'resources:\n' > "$work/kustomization.yaml"
  for f in "$dir"/*.yaml; do printf '  - %s\n' "$(basename "$f")" >> "$work/kustomization.yaml"; done
fi
# Warm the module cache once (the first run compiles the policy).
kubectl cnpg-plan check "$work/$(basename "$file")" >/dev/null || true

median_ms() { # command...
  local t=() i s e
  for i in $(seq "$runs"); do
    s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N)
    t+=($(( (e - s) / 1000 )))
  done
  printf '%s\n' "${t[@]}" | sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m/1000}'
}

f="$work/$(basename "$file")"
if command -v hyperfine >/dev/null; then
  hyperfine -N -w 3 -r "$runs" --export-json "$work/h.json" \
    "kubectl cnpg-plan check $f" \
    "$bin_dir/kubectl-cnpg_plan check $f" \
    "kubectl kustomize $work" >&2
  python3 - "$work/h.json" <<'PY'
import json,sys
r=json.load(open(sys.argv[1]))["results"]
a,d,b=(x["median"]*1000 for x in r)
print(f"kubectl cnpg-plan check: {a:.2f} ms (ratio {a/b:.2f}x)  kubectl-cnpg_plan check: {d:.2f} ms (ratio {d/b:.2f}x)  kubectl kustomize: {b:.2f} ms")
PY
else
  a=$(median_ms kubectl cnpg-plan check "$f")
  d=$(median_ms "$bin_dir/kubectl-cnpg_plan" check "$f")
  b=$(median_ms kubectl kustomize "$work")
  awk -v a="$a" -v d="$d" -v b="$b" 'BEGIN {printf "kubectl cnpg-plan check: %.2f ms (ratio %.2fx)  kubectl-cnpg_plan check: %.2f ms (ratio %.2fx)  kubectl kustomize: %.2f ms\n", a, a/b, d, d/b, b}'
fi
