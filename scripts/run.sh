#!/bin/sh
# The README's two commands end here. `npm run demo` and `npm test` both set up whatever is missing
# first (node modules, Debian packages, Docker engine, Open vSwitch, images), then demo or test.
set -eu
cd "$(dirname "$0")/.."
mode=${1:-test}

if [ "$(id -u)" != 0 ]; then
  echo "tsunagari: cannot set up (not running as root: labs need network namespaces, Docker and OVS); hint: sudo npm $( [ "$mode" = test ] && echo test || echo "run $mode")" >&2
  exit 1
fi

# Node dependencies: (re)install when package-lock.json is newer than the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== installing node modules (npm ci)"
  npm ci --no-audit --no-fund
fi

tsunagari() { node bin/tsunagari.js "$@"; }

echo "== set-up"
tsunagari setup

case "$mode" in
  setup) ;;
  test)
    echo "== type check"
    npx tsc --noEmit
    echo "== unit tests"
    node --import tsx --test $(find test/unit -name '*.test.ts' | sort)
    echo "== integration tests (real Docker, Open vSwitch, veth, VXLAN)"
    node --import tsx --test --test-concurrency=1 $(find test/integration -name '*.test.ts' | sort)
    echo "== example features (English and Japanese) against their labs"
    tsunagari test --no-setup --format progress features
    echo "== leftovers check: the tests must have removed everything they created"
    tsunagari cleanup --check
    ;;
  demo)
    echo "== example features (English and Japanese) against their labs"
    tsunagari test --no-setup features
    echo "== reports: reports/cucumber.html, reports/junit.xml, reports/cucumber.json, reports/messages.ndjson"
    ;;
  *) echo "usage: scripts/run.sh test|demo|setup" >&2; exit 2 ;;
esac
