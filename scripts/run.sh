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

# Every run id of this session carries this tag, so the final check looks at our own leftovers only: other
# tsunagari runs may share the machine (docs/instances.md).
TSUNAGARI_SESSION=${TSUNAGARI_SESSION:-$mode-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')}
export TSUNAGARI_SESSION

# The @nightly scenarios against a physical lab, unchanged (profile "lab": topologies/<lab>.lab.yaml).
# No physical lab exists here: a stand-in (test/support/standin-lab.ts, FRR routers with sshd and a lab
# switch, built outside tsunagari) plays it, and is removed again whatever the run's outcome.
lab_run() {
  standin() { node --import tsx scripts/standin-lab.ts "$@"; }
  trap 'standin down >/dev/null 2>&1 || true' EXIT INT TERM
  lab_env=$(standin up) || { echo "tsunagari: the stand-in lab did not come up (see above)" >&2; return 1; }
  eval "$lab_env"
  set +e
  tsunagari test --no-setup --profile lab --tags @nightly "$@"
  rc=$?
  set -e
  standin down
  trap - EXIT INT TERM
  return $rc
}

# The same features with part of a lab on another machine (profile two-machines, docs/machines.md). The
# second machine is a stand-in: a network namespace with its own dockerd on TCP+TLS
# (test/support/second-machine.ts), removed again whatever the run's outcome.
machines_run() {
  m2() { node --import tsx scripts/second-machine.ts "$@"; }
  trap 'm2 down >/dev/null 2>&1 || true' EXIT INT TERM
  m2 up || { echo "tsunagari: the stand-in second machine did not come up (see above)" >&2; return 1; }
  m2_env=$(m2 env) || return 1
  set +e
  # the machine's variables (DOCKER_HOST of m2 among them) only for the test run, not for what follows
  ( eval "$m2_env"; tsunagari test --no-setup --profile two-machines "$@" )
  rc=$?
  set -e
  m2 down
  trap - EXIT INT TERM
  return $rc
}

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
    echo "== example features (English and Japanese) against their labs: two workers, each on lab copies of its own"
    tsunagari test --no-setup --fresh --parallel 2 --format progress features
    echo "== the same @nightly features against a (stand-in) physical lab: profile lab"
    lab_run --format progress --reports reports/lab features
    echo "== two-sites with site B on a second machine (a second Docker engine in its own namespace): profile two-machines"
    machines_run --format progress --reports reports/two-machines features/en/two-sites.feature features/ja/two-sites.feature
    echo "== soak, short form: concurrent runs SIGKILLed at random moments leave nothing (npm run soak: 50 trials)"
    node --import tsx scripts/soak.ts --trials 5 --kill-max 30
    echo "== leftovers check: the tests must have removed everything they created (this session's runs only)"
    tsunagari cleanup --check --session "$TSUNAGARI_SESSION"
    ;;
  lab)
    echo "== @nightly features against the (stand-in) physical lab: profile lab"
    lab_run features
    echo "== leftovers check: nothing of this session's runs left, nothing pending on the lab's devices"
    tsunagari cleanup --check --session "$TSUNAGARI_SESSION"
    ;;
  machines)
    echo "== two-sites with site B on a (stand-in) second machine: profile two-machines"
    machines_run features/en/two-sites.feature features/ja/two-sites.feature
    echo "== leftovers check (this session's runs only)"
    tsunagari cleanup --check --session "$TSUNAGARI_SESSION"
    ;;
  demo)
    echo "== example features (English and Japanese) against their labs"
    tsunagari test --no-setup features
    echo "== reports: reports/cucumber.html, reports/junit.xml, reports/cucumber.json, reports/messages.ndjson"
    ;;
  *) echo "usage: scripts/run.sh test|demo|setup|lab|machines" >&2; exit 2 ;;
esac
