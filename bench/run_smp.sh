#!/usr/bin/env bash
# Runs the SMP relay benchmarks of BENCHMARKS.md and prints the figures.
#
#   bench/run_smp.sh [build-dir]          (default: build-bench, configured with --buildtype=release)
#
# Environment: RUNS (5) repetitions of figures 1-2, DURATION (10) seconds per throughput run,
# SERVER_CPU (0) / GEN_CPU (1) the cores the server and the generator are pinned to,
# FIGURES ("1 2 3 4") which figures to run, IDLE_CONNS (10000), SUBS (1000000), SUB_CONNS (200),
# C (4) connection pairs, Q (8) queues (loops) per connection.
# Figure 4 (proxied vs direct SEND->MSG->ACK): PROXY_DEST (self) "self" = PRXY to the server's own address,
# "other" = a second relay on port DEST_PORT (PORT+1) pinned to DEST_CPU (SERVER_CPU);
# PERF_OUT (unset) = a file for `perf record --call-graph dwarf` of the server during one extra proxied run
# after the measured ones (not in the medians: the unwinding perf needs CPU of its own).
# Needs taskset, openssl; figure 2 needs nats-server and a smp-load built with libnats (packaging/bench-deps.txt).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build-bench}
RELAY=$BUILD/src/simplex-relay
LOAD=$BUILD/bench/smp-load
RUNS=${RUNS:-5}
DURATION=${DURATION:-10}
SERVER_CPU=${SERVER_CPU:-0}
GEN_CPU=${GEN_CPU:-1}
FIGURES=${FIGURES:-"1 2 3 4"}
IDLE_CONNS=${IDLE_CONNS:-10000}
SUBS=${SUBS:-1000000}
SUB_CONNS=${SUB_CONNS:-200}
C=${C:-4}
Q=${Q:-8}
SIZE=16048 # the largest SEND body at v18: every SEND and MSG fills its 16 KB block
PORT=${PORT:-15223}
NATS_PORT=${NATS_PORT:-14443}
PROXY_DEST=${PROXY_DEST:-self}
DEST_PORT=${DEST_PORT:-$((PORT + 1))}
DEST_CPU=${DEST_CPU:-$SERVER_CPU}
PERF_OUT=${PERF_OUT:-}

for f in "$RELAY" "$LOAD"; do [[ -x $f ]] || { echo "missing $f (ninja -C $BUILD src/simplex-relay bench/smp-load)" >&2; exit 2; }; done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

WORK=$(mktemp -d /tmp/smp-bench.XXXXXX)
SERVER_PID=
DEST_PID=
cleanup() {
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  [[ -n $DEST_PID ]] && kill "$DEST_PID" 2>/dev/null && wait "$DEST_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

GEN="taskset -c $GEN_CPU"
SRV="taskset -c $SERVER_CPU"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(uname -r)"
echo "server pinned to CPU $SERVER_CPU, generator to CPU $GEN_CPU; $RUNS runs of ${DURATION}s; medians below"

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -n "s/.*$1 *\([0-9.]*\).*/\1/p" | head -1; }  # number after a label

# A fresh relay in $WORK/<dir> on <port> pinned to <cpu>, its pid in $STARTED (queues of earlier runs do not
# count against the next one).
start_relay() {
  local dir=$WORK/$1 port=$2 cpu=$3
  rm -rf "$dir"
  mkdir -p "$dir"
  SMP_SERVER_CFG_PATH=$dir/cfg SMP_SERVER_LOG_PATH=$dir/log \
    "$RELAY" smp init -y --no-password --disable-web -l >"$dir/init.log" 2>&1
  sed -i -e "s/^port = .*/port = $port/" -e 's/^disconnect = on/disconnect = off/' "$dir/cfg/smp-server.ini"
  SMP_SERVER_CFG_PATH=$dir/cfg SMP_SERVER_LOG_PATH=$dir/log \
    taskset -c "$cpu" "$RELAY" smp start >"$dir/server.log" 2>&1 &
  STARTED=$!
  for _ in $(seq 100); do grep -q "binding to\|Listening" "$dir/server.log" 2>/dev/null && break; sleep 0.1; done
  sleep 0.3
}
start_smp() {
  stop_smp
  start_relay smp "$PORT" "$SERVER_CPU"
  SERVER_PID=$STARTED
}
stop_smp() {
  if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  SERVER_PID=
  if [[ -n $DEST_PID ]]; then kill "$DEST_PID" 2>/dev/null || true; wait "$DEST_PID" 2>/dev/null || true; fi
  DEST_PID=
}
smp_load() { $GEN "$LOAD" --port "$PORT" --cfg "$WORK/smp/cfg" "$@"; }

# ---- Figure 1: delivered msgs/s per server core against the signature-check ceiling ----
figure1() {
  echo
  echo "== Figure 1: SEND->MSG->ACK, ${SIZE} B bodies (16 KB blocks), TLS, v18; $C pairs x $Q queues =="
  local ed_r=() x_r=() xc_r=() ed_m=() x_m=() ed_c=() x_c=() xc_c=() half=() p50=() p99=() rss=() ed_w=() x_w=()
  for run in $(seq "$RUNS"); do
    start_smp
    # The ceiling on the server's core, with the server idle.
    $SRV "$LOAD" --ceiling --size "$SIZE" -d 1 >"$WORK/ceil.txt"
    local ce cx cxc ch
    ce=$(field 'ceiling_ed25519:' <"$WORK/ceil.txt"); cx=$(field 'ceiling_x25519:' <"$WORK/ceil.txt")
    cxc=$(field 'ceiling_x25519_cached:' <"$WORK/ceil.txt")
    ch=$(field 'ceiling_half_verify_rate:' <"$WORK/ceil.txt")
    smp_load -c "$C" -q "$Q" -d "$DURATION" --size "$SIZE" --auth ed25519 --rss-pid "$SERVER_PID" >"$WORK/ed.txt"
    start_smp
    smp_load -c "$C" -q "$Q" -d "$DURATION" --size "$SIZE" --auth x25519 --rss-pid "$SERVER_PID" >"$WORK/x.txt"
    # msgs/s per fully used server core (delivered msgs / server CPU seconds): the machine is shared, and the
    # generator may be the limit, so wall-clock msgs/s alone would not measure the relay.
    local me mx we wx
    me=$(field 'per server core:' <"$WORK/ed.txt"); mx=$(field 'per server core:' <"$WORK/x.txt")
    we=$(grep SEND/MSG/ACK "$WORK/ed.txt" | sed 's/.* = \([0-9]*\) \/s.*/\1/')
    wx=$(grep SEND/MSG/ACK "$WORK/x.txt" | sed 's/.* = \([0-9]*\) \/s.*/\1/')
    echo "run $run: ed25519 $we msgs/s wall, $me per server core (ceiling $ce, half 128 B verify rate $ch);" \
      "x25519 $wx wall, $mx per server core (ceiling $cx, cached DH $cxc); $(grep -o 'server CPU.*%' "$WORK/ed.txt");" \
      "$(grep -o 'latency.*' "$WORK/ed.txt")"
    ed_m+=("$me"); x_m+=("$mx"); ed_c+=("$ce"); x_c+=("$cx"); xc_c+=("$cxc"); half+=("$ch"); ed_w+=("$we"); x_w+=("$wx")
    ed_r+=("$(echo "$me / $ce" | bc -l)"); x_r+=("$(echo "$mx / $cx" | bc -l)")
    xc_r+=("$(echo "$mx / $cxc" | bc -l)")
    p50+=("$(field 'p50' <"$WORK/ed.txt")"); p99+=("$(field 'p99' <"$WORK/ed.txt")")
    rss+=("$(grep 'VmRSS after:' "$WORK/ed.txt" | sed 's/.*: //')")
  done
  stop_smp
  printf 'median ed25519: %.0f msgs/s wall, %.0f per server core, ceiling %.0f (half of the 128 B verify rate: %.0f), ratio %.3f; p50 %s ms p99 %s ms; server RSS %s\n' \
    "$(printf '%s\n' "${ed_w[@]}" | median)" "$(printf '%s\n' "${ed_m[@]}" | median)" "$(printf '%s\n' "${ed_c[@]}" | median)" \
    "$(printf '%s\n' "${half[@]}" | median)" "$(printf '%s\n' "${ed_r[@]}" | median)" \
    "$(printf '%s\n' "${p50[@]}" | median)" "$(printf '%s\n' "${p99[@]}" | median)" "${rss[-1]}"
  printf 'median x25519:  %.0f msgs/s wall, %.0f per server core, ceiling %.0f, ratio %.3f; ceiling with cached DH %.0f, ratio %.3f\n' \
    "$(printf '%s\n' "${x_w[@]}" | median)" "$(printf '%s\n' "${x_m[@]}" | median)" "$(printf '%s\n' "${x_c[@]}" | median)" "$(printf '%s\n' "${x_r[@]}" | median)" \
    "$(printf '%s\n' "${xc_c[@]}" | median)" "$(printf '%s\n' "${xc_r[@]}" | median)"
}

# ---- Figure 2: PING/PONG against NATS request/reply, both over TLS, 16 KB each way ----
figure2() {
  echo
  echo "== Figure 2: SMP PING->PONG (16 KB blocks) vs NATS request/reply (16384 B payloads), TLS; $C connections x $Q loops =="
  if ! command -v nats-server >/dev/null; then echo "nats-server not installed: skipped"; return; fi
  if "$LOAD" --nats tls://127.0.0.1:1 -n 0 2>&1 | grep -q "without libnats"; then echo "smp-load built without libnats: skipped"; return; fi
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
    -keyout "$WORK/nats.key" -out "$WORK/nats.crt" >/dev/null 2>&1
  cat >"$WORK/nats.conf" <<EOF
port: $NATS_PORT
net: 127.0.0.1
tls { cert_file: "$WORK/nats.crt", key_file: "$WORK/nats.key" }
EOF
  local smp=() nats=() ratio=() sp50=() np50=() smpc=() natsc=() ratioc=()
  for run in $(seq "$RUNS"); do
    start_smp
    smp_load -c "$C" -q "$Q" -d "$DURATION" --ping-only --rss-pid "$SERVER_PID" >"$WORK/ping.txt"
    stop_smp
    $SRV nats-server -c "$WORK/nats.conf" >"$WORK/nats.log" 2>&1 &
    local npid=$!
    sleep 0.5
    $GEN "$LOAD" --nats "tls://127.0.0.1:$NATS_PORT" -c "$C" -q "$Q" -d "$DURATION" --size 16384 --rss-pid "$npid" >"$WORK/nats.txt"
    kill "$npid"; wait "$npid" 2>/dev/null || true
    local s n sc nc
    s=$(grep PING/PONG "$WORK/ping.txt" | sed 's/.* = \([0-9]*\) \/s.*/\1/')
    n=$(grep 'NATS request' "$WORK/nats.txt" | sed 's/.* = \([0-9]*\) \/s.*/\1/')
    sc=$(field 'per server core:' <"$WORK/ping.txt"); nc=$(field 'per server core:' <"$WORK/nats.txt")
    echo "run $run: SMP $s round trips/s, $sc per server core ($(grep -o 'server CPU.*%' "$WORK/ping.txt"); $(grep -o 'latency.*' "$WORK/ping.txt"));" \
      "NATS $n/s, $nc per server core ($(grep -o 'server CPU.*%' "$WORK/nats.txt"); $(grep -o 'latency.*' "$WORK/nats.txt"))"
    smp+=("$s"); nats+=("$n"); ratio+=("$(echo "$s / $n" | bc -l)"); smpc+=("$sc"); natsc+=("$nc"); ratioc+=("$(echo "$sc / $nc" | bc -l)")
    sp50+=("$(field 'p50' <"$WORK/ping.txt")"); np50+=("$(field 'p50' <"$WORK/nats.txt")")
  done
  printf 'median SMP %.0f/s (p50 %s ms), NATS %.0f/s (p50 %s ms), ratio SMP/NATS %.3f (wall clock)\n' \
    "$(printf '%s\n' "${smp[@]}" | median)" "$(printf '%s\n' "${sp50[@]}" | median)" \
    "$(printf '%s\n' "${nats[@]}" | median)" "$(printf '%s\n' "${np50[@]}" | median)" "$(printf '%s\n' "${ratio[@]}" | median)"
  printf 'median per server core: SMP %.0f/s, NATS %.0f/s, ratio SMP/NATS %.3f\n' \
    "$(printf '%s\n' "${smpc[@]}" | median)" "$(printf '%s\n' "${natsc[@]}" | median)" "$(printf '%s\n' "${ratioc[@]}" | median)"
}

# ---- Figure 3: memory per idle connection, per stored queue, per subscription ----
figure3() {
  echo
  echo "== Figure 3: server RSS growth: $IDLE_CONNS idle TLS connections; $SUBS queues over $SUB_CONNS connections =="
  start_smp
  smp_load --idle "$IDLE_CONNS" --rss-pid "$SERVER_PID"
  start_smp
  smp_load --subs "$SUBS" -c "$SUB_CONNS" --rss-pid "$SERVER_PID"
  stop_smp
}

# ---- Figure 4: SEND->MSG->ACK through the server as a proxy (PRXY/PFWD) against the direct path ----
# The destination's smp-load options into the array named $1: none (PRXY to the server itself), or a fresh
# second relay.
start_dest() {
  local -n opts=$1
  opts=()
  [[ $PROXY_DEST == other ]] || return 0
  start_relay dest "$DEST_PORT" "$DEST_CPU"
  DEST_PID=$STARTED
  opts=(--dest "127.0.0.1:$DEST_PORT" --dest-cfg "$WORK/dest/cfg" --dest-pid "$DEST_PID")
}
figure4() {
  echo
  echo "== Figure 4: SEND->MSG->ACK direct vs proxied (PFWD -> RFWD), ${SIZE} B bodies, ed25519; $C pairs x $Q queues; destination: $PROXY_DEST =="
  local dw=() dc=() pw=() pc=() rw=() rc=() pp50=() dp50=()
  for run in $(seq "$RUNS"); do
    start_smp
    smp_load -c "$C" -q "$Q" -d "$DURATION" --size "$SIZE" --auth ed25519 --rss-pid "$SERVER_PID" >"$WORK/direct.txt"
    start_smp
    local dest=()
    start_dest dest
    smp_load -c "$C" -q "$Q" -d "$DURATION" --size "$SIZE" --auth ed25519 --rss-pid "$SERVER_PID" \
      --proxied "${dest[@]}" >"$WORK/proxied.txt"
    local w1 c1 w2 c2
    w1=$(grep 'SEND/MSG/ACK:' "$WORK/direct.txt" | sed 's/.* = \([0-9]*\) \/s.*/\1/')
    c1=$(field 'per server core:' <"$WORK/direct.txt")
    w2=$(grep 'SEND/MSG/ACK via proxy:' "$WORK/proxied.txt" | sed 's/.* = \([0-9]*\) \/s.*/\1/')
    if [[ $PROXY_DEST == other ]]; then c2=$(field 'per core of proxy + destination:' <"$WORK/proxied.txt")
    else c2=$(field 'per server core:' <"$WORK/proxied.txt"); fi
    echo "run $run: direct $w1 msgs/s wall, $c1 per server core ($(grep -o 'server CPU.*%' "$WORK/direct.txt"); $(grep -o 'latency.*' "$WORK/direct.txt"));" \
      "proxied $w2 msgs/s wall, $c2 per relay core ($(grep -o 'server CPU.*%' "$WORK/proxied.txt");" \
      "$(grep -o 'destination CPU [0-9]*%' "$WORK/proxied.txt" || true) $(grep -o 'latency.*' "$WORK/proxied.txt"))"
    dw+=("$w1"); dc+=("$c1"); pw+=("$w2"); pc+=("$c2")
    rw+=("$(echo "$w2 / $w1" | bc -l)"); rc+=("$(echo "$c2 / $c1" | bc -l)")
    dp50+=("$(field 'p50' <"$WORK/direct.txt")"); pp50+=("$(field 'p50' <"$WORK/proxied.txt")")
  done
  if [[ -n $PERF_OUT ]]; then
    start_smp
    local dest=()
    start_dest dest
    # Sample once the loops run (after PRXY, NEW, SKEY), until shortly before they end.
    (sleep 2; exec perf record -F 1999 --call-graph dwarf,16384 -o "$PERF_OUT" -p "$SERVER_PID" -- sleep $((DURATION > 4 ? DURATION - 3 : 1))) \
      >"$WORK/perf.log" 2>&1 &
    local perf_pid=$!
    smp_load -c "$C" -q "$Q" -d "$DURATION" --size "$SIZE" --auth ed25519 --rss-pid "$SERVER_PID" \
      --proxied "${dest[@]}" >"$WORK/perf-load.txt"
    wait "$perf_pid" || true
    echo "perf run (not in the medians): $(grep -o 'server CPU.*%' "$WORK/perf-load.txt"); profile in $PERF_OUT:"
    perf report -i "$PERF_OUT" --no-children --sort dso -g none 2>/dev/null | grep '%' | head -8 || true
  fi
  stop_smp
  printf 'median direct:  %.0f msgs/s wall, %.0f per server core, p50 %s ms\n' \
    "$(printf '%s\n' "${dw[@]}" | median)" "$(printf '%s\n' "${dc[@]}" | median)" "$(printf '%s\n' "${dp50[@]}" | median)"
  printf 'median proxied: %.0f msgs/s wall, %.0f per relay core, p50 %s ms\n' \
    "$(printf '%s\n' "${pw[@]}" | median)" "$(printf '%s\n' "${pc[@]}" | median)" "$(printf '%s\n' "${pp50[@]}" | median)"
  printf 'median ratio proxied/direct (same run): %.3f wall clock, %.3f per relay core\n' \
    "$(printf '%s\n' "${rw[@]}" | median)" "$(printf '%s\n' "${rc[@]}" | median)"
  return 0
}

for f in $FIGURES; do "figure$f"; done
