#!/usr/bin/env bash
# Debian package test (root only): builds the .deb with packaging/build-deb.sh (or takes SR_DEB=path/to.deb),
# installs it with dpkg, checks what it installed, runs `smp-server init` and `start` as the smp user on a free
# port, stops the server with SIGINT, then removes and purges the package and checks that the server data and
# users are kept. Last line: "test_deb: PASS" or "test_deb: FAIL"; exit status 0 only on PASS.
#
# It refuses to run where simplex-relay is installed or where any default data directory already exists, and
# at the end deletes only what it created (package, data directories, the smp and xftp users).
set -uo pipefail
cd "$(dirname "$0")/../.."

fail=0
ok() { echo "  ok: $*"; }
bad() { echo "  FAILED: $*"; fail=1; }
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi; }

if [ "$(id -u)" != 0 ]; then echo "test_deb: must run as root"; echo "test_deb: FAIL"; exit 1; fi
data_dirs=(/etc/opt/simplex /var/opt/simplex /etc/opt/simplex-xftp /var/opt/simplex-xftp /srv/xftp)
if dpkg-query -W -f='${Status}' simplex-relay 2>/dev/null | grep -q 'installed\|config-files'; then
  echo "test_deb: simplex-relay is already installed here; not touching it"; echo "test_deb: FAIL"; exit 1
fi
for d in "${data_dirs[@]}"; do
  if [ -e "$d" ]; then echo "test_deb: $d exists; not touching server data"; echo "test_deb: FAIL"; exit 1; fi
done
new_users=()
for u in smp xftp; do getent passwd "$u" >/dev/null || new_users+=("$u"); done

work=$(mktemp -d /tmp/sr-test-deb-XXXXXX)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null
  dpkg --purge simplex-relay >/dev/null 2>&1
  rm -rf "${data_dirs[@]}"
  for u in "${new_users[@]}"; do
    userdel "$u" >/dev/null 2>&1
    getent group "$u" >/dev/null && groupdel "$u" >/dev/null 2>&1
  done
  rm -rf "$work"
}
trap cleanup EXIT

# --- build
if [ -n "${SR_DEB:-}" ]; then
  deb=$SR_DEB
else
  echo "== building the .deb"
  if DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-parallel=$(nproc)} packaging/build-deb.sh "$work" >"$work/build.log" 2>&1; then
    deb=$(ls "$work"/simplex-relay_*.deb | head -1)
    ok "dpkg-buildpackage built $(basename "$deb")"
  else
    tail -40 "$work/build.log"; bad "dpkg-buildpackage"; echo "test_deb: FAIL"; exit 1
  fi
fi

# --- install
echo "== dpkg -i"
if dpkg -i "$deb" >"$work/install.log" 2>&1; then ok "dpkg -i"; else cat "$work/install.log"; bad "dpkg -i"; fi
check "/usr/bin/simplex-relay" test -x /usr/bin/simplex-relay
for n in smp-server xftp-server; do
  check "/usr/bin/$n -> simplex-relay" test "$(readlink /usr/bin/$n)" = simplex-relay
done
check "smp-server --version" sh -c '/usr/bin/smp-server --version | grep -q "^SMP server v"'
check "xftp-server --version" sh -c '/usr/bin/xftp-server --version | grep -q "^SimpleX XFTP server v"'
for u in smp xftp; do check "system user $u" getent passwd "$u"; done
check "smp owns /etc/opt/simplex and /var/opt/simplex" \
  test "$(stat -c %U /etc/opt/simplex /var/opt/simplex | sort -u)" = smp
check "xftp owns its directories and /srv/xftp" \
  test "$(stat -c %U /etc/opt/simplex-xftp /var/opt/simplex-xftp /srv/xftp | sort -u)" = xftp
check "stopscript installed" test -x /usr/bin/simplex-servers-stopscript
for n in simplex-relay smp-server xftp-server; do
  check "man page $n(1)" test -f "/usr/share/man/man1/$n.1.gz"
done

# Units: reference names, users, stop signal, hardening; verified by systemd when it is installed.
for n in smp-server:smp xftp-server:xftp; do
  unit=/lib/systemd/system/${n%%:*}.service user=${n#*:}
  check "$unit installed" test -f "$unit"
  for line in "User=$user" "Group=$user" "ExecStart=/usr/bin/${n%%:*} start" KillSignal=SIGINT \
              NoNewPrivileges=yes ProtectSystem=strict TimeoutStopSec=120s LimitNOFILE=65535 \
              AmbientCapabilities=CAP_NET_BIND_SERVICE WantedBy=multi-user.target; do
    grep -qxF "$line" "$unit" || bad "$unit lacks $line"
  done
  if command -v systemd-analyze >/dev/null; then
    if out=$(systemd-analyze verify "$unit" 2>&1) && [ -z "$out" ]; then ok "systemd-analyze verify $unit"
    else echo "$out"; bad "systemd-analyze verify $unit"; fi
  fi
done

# Man pages name every option the binary's --help lists.
man_has_options() {  # man_has_options PAGE CMD...: each --option of `CMD --help` appears in PAGE
  local page=$1 opt missing= text; shift
  text=$(zcat "/usr/share/man/man1/$page.1.gz" | sed 's/\\-/-/g')
  for opt in $("$@" --help 2>&1 | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
    [ "$opt" = --help ] && continue
    grep -qF -- "$opt" <<<"$text" || missing+=" $opt"
  done
  [ -z "$missing" ] || { echo "    $page(1) lacks:$missing"; return 1; }
}
for c in init start cert database; do check "smp-server(1) covers '$c --help'" man_has_options smp-server smp-server "$c"; done
for c in init start cert; do check "xftp-server(1) covers '$c --help'" man_has_options xftp-server xftp-server "$c"; done

# --- init and start as the service users
echo "== init and start as smp"
as_smp() { setpriv --reuid=smp --regid=smp --init-groups -- "$@"; }
if as_smp smp-server init -y --no-password --disable-web --ip 127.0.0.1 >"$work/init.log" 2>&1; then
  ok "smp-server init -y as smp"
else
  cat "$work/init.log"; bad "smp-server init -y as smp"
fi
fingerprint=$(cat /etc/opt/simplex/fingerprint 2>/dev/null)
check "init wrote the identity, owned by smp" test "$(stat -c %U /etc/opt/simplex/ca.crt /etc/opt/simplex/smp-server.ini | sort -u)" = smp
check "xftp-server init as xftp" setpriv --reuid=xftp --regid=xftp --init-groups -- \
  xftp-server init -p /srv/xftp -q 1gb --ip 127.0.0.1

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -i "s/^port = .*/port = $port/" /etc/opt/simplex/smp-server.ini
# setpriv execs the server, so $! is the server itself (a backgrounded shell function would be a subshell).
setpriv --reuid=smp --regid=smp --init-groups -- smp-server start +RTS -N -RTS >"$work/start.log" 2>&1 &
server_pid=$!
listening=
for _ in $(seq 1 100); do
  if ss -ltnH "sport = :$port" | grep -q .; then listening=1; break; fi
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.2
done
if [ -n "$listening" ]; then ok "smp-server start as smp listens on 127.0.0.1:$port"
else cat "$work/start.log"; bad "smp-server start did not listen on $port"; fi
check "server process runs as smp" test "$(ps -o user= -p "$server_pid")" = smp
kill -INT "$server_pid" 2>/dev/null
for _ in $(seq 1 150); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
kill -0 "$server_pid" 2>/dev/null && { bad "SIGINT: still running after 30 s"; kill -KILL "$server_pid"; }
wait "$server_pid"; rc=$?
server_pid=
if [ "$rc" = 0 ]; then ok "SIGINT: clean exit"; else tail -20 "$work/start.log"; bad "SIGINT: exit status $rc"; fi
check "store log written" test -f /var/opt/simplex/smp-server-store.log
# What systemd's ExecStopPost does after a clean stop.
check "stopscript backs up the store log as smp" sh -c \
  'SERVICE_RESULT=success EXIT_STATUS=0 setpriv --reuid=smp --regid=smp --init-groups -- simplex-servers-stopscript smp-server &&
   ls /var/opt/simplex/backups/queues/smp-server-store.log.* >/dev/null'
check "stopscript refuses after a failed stop" sh -c \
  '! SERVICE_RESULT=exit-code EXIT_STATUS=1 simplex-servers-stopscript smp-server'

# --- The Docker image's runtime stage installs exactly the libraries the binary links (no engine needed to check):
# every shared library of the packaged binary must come from a package in its apt-get line or in debian-slim.
docker_runtime_ok() {
  local wanted have lib pkg missing=
  wanted=$(awk '/^FROM .*-slim/ {rt=1} rt && /apt-get install/ {on=1} on {print} on && !/\\$/ {on=0}' \
    packaging/docker/Dockerfile | tr ' \\' '\n\n' | grep -E '^lib|^zlib' | sort -u)
  have="$wanted libc6 libgcc-s1 libstdc++6"  # in debian:bookworm-slim
  for lib in $(ldd /usr/bin/simplex-relay | awk '/=>/ {print $3}'); do
    pkg=$(dpkg -S "$lib" 2>/dev/null || dpkg -S "${lib#/usr}" 2>/dev/null || dpkg -S "/usr$lib" 2>/dev/null)
    pkg=${pkg%%:*}
    { [ -n "$pkg" ] && grep -qwF -- "$pkg" <<<"$have"; } || missing+=" $lib(${pkg:-?})"
  done
  [ -z "$missing" ] || { echo "    not installed by the Dockerfile's runtime stage:$missing"; return 1; }
}
check "Dockerfile runtime stage provides every linked library" docker_runtime_ok

# --- Docker entrypoints, without a Docker engine: the image's paths are bind-mounted in a mount namespace and the
# network is a fresh namespace with unprivileged low ports, as Docker gives a container. The entrypoint runs as the
# service user, initialises from the environment and execs the server, which must listen and stop on SIGINT.
echo "== Docker entrypoints (mount + network namespace)"
run_entrypoint() {  # run_entrypoint NAME USER PORT LOG ENV... ; sets entry_pid, entry_ok
  local name=$1 user=$2 port=$3 log=$4 root=$work/image-$1; shift 4
  mkdir -p "$root/bin" "$root/etc" "$root/var" "$root/srv"
  chown "$user:$user" "$root/etc" "$root/var" "$root/srv"
  ln -sf /usr/bin/simplex-relay "$root/bin/$name"
  ln -sf /usr/bin/simplex-servers-stopscript "$root/bin/simplex-servers-stopscript"
  install -m 755 "packaging/docker/entrypoint-$name" "$root/bin/entrypoint"
  local cfg=/etc/opt/simplex state=/var/opt/simplex
  [ "$name" = xftp-server ] && cfg=/etc/opt/simplex-xftp state=/var/opt/simplex-xftp
  # unshare and sh exec: the pid stays that of the server in the end.
  env -i PATH=/usr/local/bin:/usr/bin:/bin "$@" unshare -m -n sh -c "
    mount --bind '$root/bin' /usr/local/bin && mount --bind '$root/etc' $cfg && mount --bind '$root/var' $state &&
    mount --bind '$root/srv' /srv/xftp && ip link set lo up && echo 0 >/proc/sys/net/ipv4/ip_unprivileged_port_start &&
    exec setpriv --reuid=$user --regid=$user --init-groups -- /usr/local/bin/entrypoint" >"$log" 2>&1 &
  entry_pid=$! entry_ok=
  for _ in $(seq 1 100); do
    if nsenter -t "$entry_pid" -n ss -ltnH "sport = :$port" 2>/dev/null | grep -q .; then entry_ok=1; break; fi
    kill -0 "$entry_pid" 2>/dev/null || break
    sleep 0.2
  done
}
stop_entrypoint() {  # stop_entrypoint WHAT LOG
  kill -INT "$entry_pid" 2>/dev/null
  for _ in $(seq 1 150); do kill -0 "$entry_pid" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$entry_pid" 2>/dev/null && { kill -KILL "$entry_pid"; bad "$1: still running 30 s after SIGINT"; }
  wait "$entry_pid"; local rc=$?
  if [ "$rc" = 0 ]; then ok "$1: SIGINT, clean exit"; else tail -20 "$2"; bad "$1: exit status $rc"; fi
}
if unshare -m -n true 2>/dev/null; then
  run_entrypoint smp-server smp 5223 "$work/entry-smp.log" ADDR=smp1.example.org PASS=s3cret WEB_MANUAL=1
  ini=$work/image-smp-server/etc/smp-server.ini
  if [ -n "$entry_ok" ]; then ok "entrypoint-smp-server: init from ADDR/PASS/WEB_MANUAL, listening on 5223"
  else cat "$work/entry-smp.log"; bad "entrypoint-smp-server did not listen on 5223"; fi
  check "entrypoint-smp-server: password, fqdn, own domains in the INI" sh -c "
    grep -qx 'create_password = s3cret' '$ini' && grep -qx 'host = smp1.example.org' '$ini' &&
    grep -qx 'own_server_domains = example.org' '$ini' && grep -qx 'port = 5223' '$ini' && ! grep -q '^https' '$ini'"
  check "entrypoint-smp-server: server address printed" grep -q "^Server address: smp://.*:s3cret@smp1.example.org" "$work/entry-smp.log"
  fp=$(cat "$work/image-smp-server/etc/fingerprint" 2>/dev/null)
  check "simplex-relay check passes against the container's server" \
    nsenter -t "$entry_pid" -n simplex-relay check "smp://$fp:s3cret@127.0.0.1:5223"
  check "simplex-relay check fails without the password" \
    sh -c "! nsenter -t $entry_pid -n simplex-relay check smp://$fp@127.0.0.1:5223"
  stop_entrypoint entrypoint-smp-server "$work/entry-smp.log"

  run_entrypoint xftp-server xftp 443 "$work/entry-xftp.log" ADDR=192.0.2.7 QUOTA=2GB PASS=upl0ad
  ini=$work/image-xftp-server/etc/file-server.ini
  if [ -n "$entry_ok" ]; then ok "entrypoint-xftp-server: init from ADDR/QUOTA/PASS, listening on 443 as xftp"
  else cat "$work/entry-xftp.log"; bad "entrypoint-xftp-server did not listen on 443"; fi
  check "entrypoint-xftp-server: quota lower-cased, password and path in the INI" sh -c "
    grep -qx 'storage_quota = 2gb' '$ini' && grep -qx 'create_password = upl0ad' '$ini' && grep -qx 'path = /srv/xftp' '$ini'"
  fp=$(cat "$work/image-xftp-server/etc/fingerprint" 2>/dev/null)
  check "simplex-relay check passes against the container's XFTP server" \
    nsenter -t "$entry_pid" -n simplex-relay check "xftp://$fp:upl0ad@127.0.0.1:443"
  stop_entrypoint entrypoint-xftp-server "$work/entry-xftp.log"
else
  echo "  skipped: unshare -m -n is not permitted here"
fi

# --- remove, reinstall over the data, purge
echo "== dpkg -r / -i / --purge"
check "dpkg -r" dpkg -r simplex-relay
check "binary removed" test ! -e /usr/bin/simplex-relay
check "after remove: identity kept" test "$(cat /etc/opt/simplex/fingerprint 2>/dev/null)" = "$fingerprint"
check "after remove: store log kept" test -f /var/opt/simplex/smp-server-store.log
check "after remove: XFTP config kept" test -f /etc/opt/simplex-xftp/file-server.ini
check "reinstall over existing data" dpkg -i "$deb"
check "reinstall keeps ownership" test "$(stat -c %U /etc/opt/simplex/smp-server.ini)" = smp
check "dpkg --purge" dpkg --purge simplex-relay
check "after purge: identity kept" test "$(cat /etc/opt/simplex/fingerprint 2>/dev/null)" = "$fingerprint"
check "after purge: store log kept" test -f /var/opt/simplex/smp-server-store.log
check "after purge: XFTP data kept" test -d /srv/xftp -a -f /etc/opt/simplex-xftp/file-server.ini
check "after purge: users kept" getent passwd smp xftp

if [ "$fail" = 0 ]; then echo "test_deb: PASS"; else echo "test_deb: FAIL"; fi
exit "$fail"
