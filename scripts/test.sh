#!/usr/bin/env bash
# The one test command (`npm test`, also run by .ci/run). It installs the
# system programs the tests need when they are missing and fails loudly if it
# cannot: no test is ever skipped for a missing tool.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s\n' "$*"; }

step "system packages (etcd, chromium, h2load, curl, prometheus, postgresql, nats-server)"
need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
[ -x /usr/bin/chromium ] || need+=(chromium)
{ command -v h2load >/dev/null && command -v nghttp >/dev/null; } || need+=(nghttp2-client)
command -v curl >/dev/null || need+=(curl)
command -v script >/dev/null || need+=(bsdutils) # a pseudo-terminal for the CLI's progress lines
command -v prometheus >/dev/null || need+=(prometheus)
command -v openssl >/dev/null || need+=(openssl) # TLS tests make throwaway certificates
# Prometheus processes running before the install: the package may start its
# own service on install, and only a process the install started is stopped.
prometheus_before="$(pgrep -u prometheus -x prometheus 2>/dev/null || true)"
# PostgreSQL 15 for the cluster-mode tests (tests/harness/postgres.ts runs it as `postgres`).
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql)
[ -x /usr/sbin/nats-server ] || command -v nats-server >/dev/null || need+=(nats-server)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "FATAL: need root or sudo to install ${need[*]}" >&2; exit 1; }
    SUDO="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq || { echo "FATAL: apt-get update failed" >&2; exit 1; }
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
    || { echo "FATAL: could not install ${need[*]}" >&2; exit 1; }
  for pid in $(pgrep -u prometheus -x prometheus 2>/dev/null || true); do
    if ! grep -qx "$pid" <<<"$prometheus_before"; then
      echo "stopping the prometheus service the package install started (pid $pid); tests run their own"
      $SUDO kill "$pid" || true
    fi
  done
fi
for p in etcd etcdctl /usr/bin/chromium h2load nghttp curl script prometheus openssl /usr/lib/postgresql/15/bin/postgres /usr/lib/postgresql/15/bin/initdb /usr/sbin/nats-server; do
  command -v "$p" >/dev/null || { echo "FATAL: $p still missing" >&2; exit 1; }
done

step "runtime"
node_version="$(node --version)"
case "$node_version" in
  v24.*) echo "node $node_version" ;;
  *) echo "FATAL: tests need Node 24 (got $node_version); run them with npm test" >&2; exit 1 ;;
esac

step "contracts: buf lint, buf format, buf breaking"
buf lint
buf format proto --diff --exit-code
if git rev-parse --verify -q main >/dev/null && git cat-file -e main:buf.yaml 2>/dev/null; then
  # Against main's tree with this node_modules beside it: proto/ imports
  # google/api/*.proto from the google-proto-files package (a second Buf
  # module), which a bare '.git#branch=main' input lacks. Only proto/ is
  # compared; the package is not ours to check.
  against="$(mktemp -d)"
  git archive main | tar -x -C "$against"
  ln -s "$PWD/node_modules" "$against/node_modules"
  status=0
  buf breaking proto --against "$against/proto" || status=$?
  rm -rf "$against"
  [ "$status" = 0 ] || { echo "FATAL: buf breaking against main failed" >&2; exit 1; }
fi

step "generated code is fresh (gen/src == buf generate)"
# buf writes the generated part of the @switchboard/gen package, gen/src;
# gen/package.json is the package's hand-written manifest, outside it.
fresh="$(mktemp -d)"
trap 'rm -rf "$fresh"' EXIT
buf generate -o "$fresh"
if ! diff -r gen/src "$fresh/gen/src"; then
  echo "FATAL: gen/ is stale: run npm run generate and commit the result" >&2
  exit 1
fi

step "type check"
tsc -p .
if [ -f web/tsconfig.json ]; then tsc -p web; fi

step "packages: no cross-package relative imports; knip (unused files, exports, dependencies; unlisted dependencies)"
node scripts/check-imports.ts
knip

step "web build"
if [ -f web/vite.config.ts ]; then npm run build -w web --silent; fi

step "tests"
node --test --test-reporter=spec --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout=300000 \
  "tests/**/*.test.ts" "server/src/**/*.test.ts" "node-client/src/**/*.test.ts" "naming/src/**/*.test.ts" "common/src/**/*.test.ts" "$@"
