#!/usr/bin/env bash
# Runs the XFTP relay benchmark of BENCHMARKS.md ("XFTP") and prints the figures: upload and download MB/s of
# 4 MB chunks over TLS 1.3 + HTTP/2 with N parallel clients, against nginx serving the same 4 MB over TLS 1.3 +
# HTTP/2 to h2load in the same run, and the relay's RSS under TRANSFERS parallel transfers.
#
#   bench/run_xftp.sh [build-dir]          (default: build-rb, configured with --buildtype=release)
#
# Environment: RUNS (5) repetitions per client count, DURATION (10) seconds per phase, CLIENTS ("1 8 32"),
# TRANSFERS (100; 0 = skip the memory figure), SERVER_CPU (0) / GEN_CPU (1) the cores the servers and the
# generators are pinned to, PORT (15443) for the relay, NGINX_PORT (15444), GET (raw) how xftp-load treats
# downloads in the comparison: raw = received and counted as h2load does, decrypt = decrypted and checked as a
# client does (costs the generator, not the server). PERF_OUT (unset): a file for `perf record -g` of the relay
# during one extra download run with the largest client count, after the measured ones.
# Needs nginx (nginx-light), h2load (nghttp2-client), taskset, openssl, bc: installed with apt-get when missing.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build-rb}
RELAY=$BUILD/src/simplex-relay
LOAD=$BUILD/bench/xftp-load
RUNS=${RUNS:-5}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-"1 8 32"}
TRANSFERS=${TRANSFERS:-100}
SERVER_CPU=${SERVER_CPU:-0}
GEN_CPU=${GEN_CPU:-1}
PORT=${PORT:-15443}
NGINX_PORT=${NGINX_PORT:-15444}
GET=${GET:-raw}
PERF_OUT=${PERF_OUT:-}
SIZE=4194304
SUITE=TLS_CHACHA20_POLY1305_SHA256 # the relay's only TLS 1.3 suite for xftp/1 (src/core/tls.cpp)

for f in "$RELAY" "$LOAD"; do [[ -x $f ]] || { echo "missing $f (ninja -C $BUILD src/simplex-relay bench/xftp-load)" >&2; exit 2; }; done
if ! command -v nginx >/dev/null || ! command -v h2load >/dev/null; then
  apt-get install -y nginx-light nghttp2-client >/dev/null 2>&1 ||
    { apt-get update >/dev/null && apt-get install -y nginx-light nghttp2-client >/dev/null; }
fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

WORK=$(mktemp -d /tmp/xftp-bench.XXXXXX)
SERVER_PID=
NGINX_PID=
stop_pid() { [[ -n $1 ]] && kill "$1" 2>/dev/null && wait "$1" 2>/dev/null || true; }
cleanup() {
  stop_pid "$SERVER_PID"
  stop_pid "$NGINX_PID"
  rm -rf "$WORK"
}
trap cleanup EXIT

GEN="taskset -c $GEN_CPU"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(uname -r)"
echo "servers (relay, nginx) pinned to CPU $SERVER_CPU, generators (xftp-load, h2load) to CPU $GEN_CPU;" \
  "$RUNS runs of ${DURATION}s per phase; medians below"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg), cpu pressure: $(sed -n 's/^some //p' /proc/pressure/cpu 2>/dev/null)"

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -n "s/.*$1 *\([0-9.]*\).*/\1/p" | head -1; }  # number after a label
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }       # utime + stime of a pid (no spaces in its name)
med() { printf '%s\n' "$@" | median; }

# ---- the relay: a fresh `xftp init` per client count ----
start_relay() {
  stop_pid "$SERVER_PID"
  local dir=$WORK/xftp
  rm -rf "$dir"
  mkdir -p "$dir"
  XFTP_SERVER_CFG_PATH=$dir/cfg XFTP_SERVER_LOG_PATH=$dir/log \
    "$RELAY" xftp init -p "$dir/files" -q 100gb >"$dir/init.log" 2>&1
  sed -i -e "s/^port = .*/port = $PORT/" "$dir/cfg/file-server.ini"
  XFTP_SERVER_CFG_PATH=$dir/cfg XFTP_SERVER_LOG_PATH=$dir/log \
    taskset -c "$SERVER_CPU" "$RELAY" xftp start >"$dir/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do grep -q "Listening on port" "$dir/server.log" 2>/dev/null && break; sleep 0.1; done
  sleep 0.3
}
xftp_load() { $GEN "$LOAD" --port "$PORT" --cfg "$WORK/xftp/cfg" --pid "$SERVER_PID" "$@"; }

# ---- nginx: one process (master_process off, worker_processes 1), TLS 1.3 ChaCha20-Poly1305 only ----
mkdir -p "$WORK/www" "$WORK/nginx"
head -c "$SIZE" /dev/urandom >"$WORK/www/chunk"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
  -keyout "$WORK/nginx/key.pem" -out "$WORK/nginx/cert.pem" >/dev/null 2>&1
cat >"$WORK/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$NGINX_PORT ssl http2;
    ssl_certificate $WORK/nginx/cert.pem;
    ssl_certificate_key $WORK/nginx/key.pem;
    ssl_protocols TLSv1.3;
    ssl_conf_command Ciphersuites $SUITE;
    root $WORK/www;
  }
}
EOF
start_nginx() {
  stop_pid "$NGINX_PID"
  taskset -c "$SERVER_CPU" nginx -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" >"$WORK/nginx/out.log" 2>&1 &
  NGINX_PID=$!
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$NGINX_PORT") 2>/dev/null && break; sleep 0.1; done
}
stop_nginx() { stop_pid "$NGINX_PID"; NGINX_PID=; }

echo "nginx: $(nginx -v 2>&1 | sed 's/.*: //'), h2load: $(h2load --version | head -1)"
start_relay
echo "relay TLS: $(openssl s_client -connect "127.0.0.1:$PORT" -alpn xftp/1 </dev/null 2>/dev/null | grep -m1 -o 'Protocol.*\|Cipher is.*' | tr '\n' ' ')"
start_nginx
echo "nginx TLS: $(openssl s_client -connect "127.0.0.1:$NGINX_PORT" -alpn h2 </dev/null 2>/dev/null | grep -m1 -o 'Cipher is.*')"
stop_nginx
echo "ceiling on CPU $SERVER_CPU: $(taskset -c "$SERVER_CPU" "$LOAD" --ceiling -d 1 | sed 's/ceiling: //' | tr '\n' ';')"
# The TLS record cipher (both servers) and OpenSSL's SHA-256 (SHA-NI where the CPU has it) for comparison.
speed() { taskset -c "$SERVER_CPU" openssl speed -seconds 1 -bytes 16384 -evp "$1" 2>/dev/null | awk -v a="$1" 'tolower($1) == a {printf "%s %.0f MB/s", a, $2 * 1000 / 1048576}'; }
echo "openssl speed on CPU $SERVER_CPU (16 KB): $(speed chacha20-poly1305), $(speed sha256)"

# h2load with the relay's receive windows (1 MiB per stream, 4 MiB per connection: src/core/http2_client.hpp)
# and one stream per connection, as each xftp-load client has one transfer at a time.
h2load_run() {
  local n=$1 out=$2 t0 t1
  t0=$(ticks "$NGINX_PID")
  $GEN h2load -c "$n" -m 1 -D "$DURATION" -w 20 -W 22 --tls13-ciphers="$SUITE" \
    "https://127.0.0.1:$NGINX_PORT/chunk" >"$out" 2>&1 || true
  t1=$(ticks "$NGINX_PID")
  echo "nginx_cpu_s: $(echo "($t1 - $t0) / $(getconf CLK_TCK)" | bc -l)" >>"$out"
}
# MB (MiB) that h2load received whole (succeeded requests x 4 MiB), and its wall time in seconds.
h2load_mb() { echo "$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' "$1") * $SIZE / 1048576" | bc -l; }
h2load_secs() { sed -n 's/^finished in \([0-9.]*\)\(m\?s\),.*/\1 \2/p' "$1" | awk '{print ($2 == "ms") ? $1 / 1000 : $1}'; }

for n in $CLIENTS; do
  echo
  echo "== $n parallel clients: 4 MB chunks, TLS 1.3 $SUITE, HTTP/2 =="
  up=() upc=() down=() downc=() ng=() ngc=() ratio=() ratioc=() upl=() downl=() ngl=() srv=()
  for run in $(seq "$RUNS"); do
    start_relay
    xftp_load -c "$n" -d "$DURATION" --get "$GET" >"$WORK/ours.txt" 2>&1 || { cat "$WORK/ours.txt"; exit 1; }
    start_nginx
    h2load_run "$n" "$WORK/h2load.txt"
    stop_nginx
    local_up=$(grep '^upload:' "$WORK/ours.txt" | sed 's/.* = \([0-9.]*\) MB\/s.*/\1/')
    local_down=$(grep '^download:' "$WORK/ours.txt" | sed 's/.* = \([0-9.]*\) MB\/s.*/\1/')
    local_upc=$(grep '^upload:' "$WORK/ours.txt" | field 'per server core:')
    local_downc=$(grep '^download:' "$WORK/ours.txt" | field 'per server core:')
    local_srv=$(grep '^download:' "$WORK/ours.txt" | sed -n 's/.*server CPU \([0-9]*\)%.*/\1/p')
    ng_mb=$(h2load_mb "$WORK/h2load.txt")
    ng_secs=$(h2load_secs "$WORK/h2load.txt")
    ng_mbs=$(echo "$ng_mb / $ng_secs" | bc -l)
    ng_cpu=$(field 'nginx_cpu_s:' <"$WORK/h2load.txt")
    ng_core=$(echo "$ng_mb / $ng_cpu" | bc -l)
    ng_lat=$(sed -n 's/^time for request: *[0-9.]*m\?s *[0-9.]*m\?s *\([0-9.]*\)\(m\?s\).*/\1 \2/p' "$WORK/h2load.txt" |
      awk '{print ($2 == "s") ? $1 * 1000 : $1}')
    printf 'run %s: upload %.1f MB/s (%.1f per server core); download %.1f MB/s (%.1f per server core, server CPU %s%%);' \
      "$run" "$local_up" "$local_upc" "$local_down" "$local_downc" "$local_srv"
    printf ' nginx %.1f MB/s (%.1f per core, CPU %.0f%%) [%s];' "$ng_mbs" "$ng_core" "$(echo "100 * $ng_cpu / $ng_secs" | bc -l)" \
      "$(grep -o 'Cipher: [A-Z0-9_]*' "$WORK/h2load.txt" | head -1)"
    printf ' ratio ours/nginx %.3f wall, %.3f per core\n' "$(echo "$local_down / $ng_mbs" | bc -l)" \
      "$(echo "$local_downc / $ng_core" | bc -l)"
    grep latency "$WORK/ours.txt" | sed 's/^/    /'
    echo "    nginx time for request mean: ${ng_lat} ms"
    up+=("$local_up"); upc+=("$local_upc"); down+=("$local_down"); downc+=("$local_downc"); srv+=("$local_srv")
    ng+=("$ng_mbs"); ngc+=("$ng_core")
    ratio+=("$(echo "$local_down / $ng_mbs" | bc -l)"); ratioc+=("$(echo "$local_downc / $ng_core" | bc -l)")
    upl+=("$(grep '^upload latency' "$WORK/ours.txt" | field 'median')")
    downl+=("$(grep '^download latency' "$WORK/ours.txt" | field 'median')")
    ngl+=("$ng_lat")
  done
  printf 'median N=%s: upload %.1f MB/s (%.1f per server core, per-client p50 %.1f ms); download %.1f MB/s (%.1f per server core, server CPU %s%%, per-client p50 %.1f ms)\n' \
    "$n" "$(med "${up[@]}")" "$(med "${upc[@]}")" "$(med "${upl[@]}")" "$(med "${down[@]}")" "$(med "${downc[@]}")" \
    "$(med "${srv[@]}")" "$(med "${downl[@]}")"
  printf 'median N=%s: nginx %.1f MB/s (%.1f per core, mean request %.1f ms); ratio ours/nginx (same run) %.3f wall clock, %.3f per server core\n' \
    "$n" "$(med "${ng[@]}")" "$(med "${ngc[@]}")" "$(med "${ngl[@]}")" "$(med "${ratio[@]}")" "$(med "${ratioc[@]}")"
done

if [[ -n $PERF_OUT ]]; then
  n=${CLIENTS##* }
  start_relay
  (sleep 1; exec perf record -F 999 -g -o "$PERF_OUT" -p "$SERVER_PID" -- sleep $((DURATION > 3 ? DURATION - 2 : 1))) \
    >"$WORK/perf.log" 2>&1 &
  perf_pid=$!
  xftp_load -c "$n" -d "$DURATION" --get "$GET" --phases down >"$WORK/perf-load.txt" 2>&1 || true
  wait "$perf_pid" || true
  echo
  echo "perf run (not in the medians): $(grep '^download:' "$WORK/perf-load.txt"); profile in $PERF_OUT"
fi

if [[ $TRANSFERS -gt 0 ]]; then
  echo
  echo "== server memory under $TRANSFERS parallel transfers of 4 MB =="
  start_relay
  echo "fresh relay VmRSS: $(sed -n 's/^VmRSS: *//p' "/proc/$SERVER_PID/status")"
  xftp_load --transfers "$TRANSFERS" --get decrypt
fi
stop_pid "$SERVER_PID"
SERVER_PID=
