#!/usr/bin/env bash
# Quick start on a fresh Debian 12 machine, no root needed for the relays themselves:
# installs missing build packages (apt-get, through sudo when not root), builds simplex-relay, initialises a demo
# SMP and XFTP relay under ./demo (config, state and files stay in this directory; nothing in /etc or /var), and
# runs both on localhost until Ctrl-C.
#
#   SMP  on 127.0.0.1:${SMP_PORT:-5223}     XFTP on 127.0.0.1:${XFTP_PORT:-8443}
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

missing=()
for p in $(cat packaging/build-deps.txt); do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  echo "Installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

[ -f build/build.ninja ] || meson setup build --buildtype=release
ninja -C build
relay=$root/build/src/simplex-relay

demo=$root/demo
smp_env=(env SMP_SERVER_CFG_PATH="$demo/smp/etc" SMP_SERVER_LOG_PATH="$demo/smp/var")
xftp_env=(env XFTP_SERVER_CFG_PATH="$demo/xftp/etc" XFTP_SERVER_LOG_PATH="$demo/xftp/var")
SMP_PORT=${SMP_PORT:-5223}
XFTP_PORT=${XFTP_PORT:-8443}

if [ ! -f "$demo/smp/etc/smp-server.ini" ]; then
  "${smp_env[@]}" "$relay" smp init -y --no-password --disable-web --ip 127.0.0.1
  # Unprivileged demo: one port above 1024 instead of the default 5223,443.
  sed -i "s/^port = .*/port = $SMP_PORT/" "$demo/smp/etc/smp-server.ini"
fi
if [ ! -f "$demo/xftp/etc/file-server.ini" ]; then
  mkdir -p "$demo/xftp/files"
  "${xftp_env[@]}" "$relay" xftp init -p "$demo/xftp/files" -q 1gb --ip 127.0.0.1
  sed -i "s/^port = .*/port = $XFTP_PORT/" "$demo/xftp/etc/file-server.ini"
fi

pids=()
stop() {
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  wait
}
trap stop INT TERM
"${smp_env[@]}" "$relay" smp start &
pids+=($!)
"${xftp_env[@]}" "$relay" xftp start &
pids+=($!)
echo "Demo relays running (config in $demo). Press Ctrl-C to stop both."
wait
