#!/usr/bin/env bash
# npm run bench [-- NAME...]: runs the named benchmarks (default: all) on Node 24
# from node_modules. Each bench documents its own method and run time in
# bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
all=(perf profile log balancer fairness cluster log-backends)
names=("$@")
[ ${#names[@]} -eq 0 ] && names=("${all[@]}")
for name in "${names[@]}"; do
  # "unary" (issue 2's name for the GetOrder h2load comparison) is part of perf.
  [ "$name" = unary ] && name=perf
  if [ ! -f "bench/$name.ts" ]; then
    echo "unknown bench '$name' (known: ${all[*]}, unary = perf)" >&2
    exit 2
  fi
  echo "=== bench: $name"
  node "bench/$name.ts"
done
