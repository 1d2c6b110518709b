#!/usr/bin/env bash
# Runs every test: builds simplex-relay with each TLS backend (OpenSSL 3 and BoringSSL), both with
# AddressSanitizer + UndefinedBehaviorSanitizer, runs the Catch2 unit and integration suites of each, and ends with
# one line "N passed, M failed" (test cases over all runs). Exit 0 only when everything passed.
#
#   tests/run.sh                 both backends
#   SR_BACKENDS=openssl tests/run.sh
#   tests/run.sh "[smp-cli]"     pass a Catch2 test spec to every suite
set -uo pipefail
cd "$(dirname "$0")/.."

backends=${SR_BACKENDS:-openssl boringssl}
spec=("$@")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0
failed=0
logdir=$(mktemp -d /tmp/sr-tests-XXXXXX)

count() {  # count <log> → adds the Catch2 summary of one suite run to the totals
  local log=$1 p f
  if grep -qE '^All tests passed \(' "$log"; then
    p=$(grep -E '^All tests passed \(' "$log" | tail -1 | sed -E 's/.* in ([0-9]+) test cases?\)/\1/')
    f=0
  elif grep -qE '^test cases:' "$log"; then
    local line
    line=$(grep -E '^test cases:' "$log" | tail -1)
    p=$(sed -nE 's/.*\| *([0-9]+) passed.*/\1/p' <<<"$line"); p=${p:-0}
    f=$(sed -nE 's/.*\| *([0-9]+) failed.*/\1/p' <<<"$line"); f=${f:-0}
  else
    p=0; f=1   # the suite crashed or printed no summary: count it as one failure
  fi
  passed=$((passed + p)); failed=$((failed + f))
}

for backend in $backends; do
  dir=build-test-$backend
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" -Dtls="$backend" -Db_sanitize=address,undefined -Db_lundef=false --buildtype=debug \
      --wrap-mode=nodownload \
      >"$logdir/setup-$backend.log" 2>&1 || { cat "$logdir/setup-$backend.log"; failed=$((failed + 1)); continue; }
  fi
  if ! ninja -C "$dir" >"$logdir/build-$backend.log" 2>&1; then
    tail -50 "$logdir/build-$backend.log"
    echo "build with TLS backend $backend FAILED"
    failed=$((failed + 1))
    continue
  fi
  for suite in unit_tests integration_tests; do
    log="$logdir/$backend-$suite.log"
    echo "=== $backend: $suite"
    "$dir/tests/$suite" "${spec[@]}" 2>&1 | tee "$log" | grep -vE '^\s*$' | tail -40
    count "$log"
  done
done

# `meson install` puts the binary and its two multi-call symlinks side by side.
check_install() {
  local dir=$1 dest
  dest=$(mktemp -d /tmp/sr-install-XXXXXX)
  if DESTDIR="$dest" meson install -C "$dir" --no-rebuild >"$logdir/install.log" 2>&1 &&
     bin=$(find "$dest" -type f -name simplex-relay) && [ -n "$bin" ] &&
     [ "$(readlink "$(dirname "$bin")/smp-server")" = simplex-relay ] &&
     [ "$(readlink "$(dirname "$bin")/xftp-server")" = simplex-relay ] &&
     "$(dirname "$bin")/smp-server" --version | grep -q '^SMP server v'; then
    echo "install: simplex-relay, smp-server and xftp-server installed"; passed=$((passed + 1))
  else
    echo "install check FAILED"; cat "$logdir/install.log"; failed=$((failed + 1))
  fi
  rm -rf "$dest"
}
first=${backends%% *}
[ -f "build-test-$first/build.ninja" ] && check_install "build-test-$first"

# Debian package: build, install, init/start as smp, remove (root only; SR_SKIP_DEB=1 skips it).
if [ "${SR_SKIP_DEB:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v dpkg-buildpackage >/dev/null; then
  command -v dh >/dev/null || apt-get install -y --no-install-recommends debhelper >/dev/null 2>&1
  if command -v dh >/dev/null; then
    echo "=== Debian package"
    if tests/package/test_deb.sh >"$logdir/deb.log" 2>&1; then passed=$((passed + 1)); tail -1 "$logdir/deb.log"
    else failed=$((failed + 1)); tail -60 "$logdir/deb.log"; fi
  fi
fi

rm -rf "$logdir"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
