#!/usr/bin/env bash
# tests/tools/pg_cluster.sh -- a throwaway PostgreSQL cluster for tests.
#
#   pg_cluster.sh start DIR   initdb DIR/data, start it, print its URL
#                             (postgresql://postgres@127.0.0.1:PORT/postgres,
#                             also written to DIR/url)
#   pg_cluster.sh stop DIR    stop it and remove DIR/data
#
# Trust authentication on a unix socket (DIR/sock, or a short directory
# under /tmp when DIR's path is too long for a socket) and on 127.0.0.1 at a
# free port; fsync and synchronous_commit on, as in production. The
# superuser is "postgres". PostgreSQL refuses to run as root: when run as
# root, DIR is chowned to the postgres user and the server runs as it
# (runuser/setpriv). A cluster left running in DIR by an earlier run is
# stopped and replaced.
#
# Environment: SIGNET_PG_BIN overrides the binaries' directory (default
# /usr/lib/postgresql/15/bin, else the newest /usr/lib/postgresql/*/bin).
set -euo pipefail

usage() {
  echo "usage: $0 start|stop DIR" >&2
  exit 2
}
[[ $# -eq 2 ]] || usage
cmd=$1
dir=$2

pg_bin() {
  if [[ -n ${SIGNET_PG_BIN:-} ]]; then
    echo "$SIGNET_PG_BIN"
  elif [[ -x /usr/lib/postgresql/15/bin/initdb ]]; then
    echo /usr/lib/postgresql/15/bin
  else
    local d
    d=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V |
      tail -1 || true)
    [[ -n $d ]] || { echo "$0: PostgreSQL not found (apt-get install postgresql)" >&2; exit 1; }
    echo "$d"
  fi
}

# as_owner CMD...: runs CMD as the cluster's owner (postgres when we are root).
as_owner() {
  if [[ $EUID -eq 0 ]]; then
    if command -v runuser >/dev/null; then
      runuser -u postgres -- "$@"
    else
      setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
    fi
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

stop_cluster() {
  local data=$dir/data
  if [[ -f $data/postmaster.pid ]]; then
    (cd "$dir" && as_owner "$BIN/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1) || true
  fi
  if [[ -f $dir/sockdir ]]; then
    local s
    s=$(cat "$dir/sockdir")
    [[ $s == /tmp/signet-pgsock.* ]] && rm -rf "$s"
  fi
  rm -rf "$data" "$dir/url" "$dir/sockdir"
}

BIN=$(pg_bin)
case $cmd in
  start)
    mkdir -p "$dir"
    dir=$(realpath "$dir")
    stop_cluster
    if [[ $EUID -eq 0 ]]; then
      id postgres >/dev/null 2>&1 || { echo "$0: running as root needs a postgres user" >&2; exit 1; }
      chown postgres: "$dir"
      if ! runuser -u postgres -- test -w "$dir"; then
        echo "$0: the postgres user cannot reach $dir (a parent directory is not traversable)" >&2
        exit 1
      fi
    fi
    # unix socket paths are limited to 107 bytes (".s.PGSQL.NNNNN" included).
    sock=$dir/sock
    if [[ ${#sock} -gt 80 ]]; then
      sock=$(mktemp -d /tmp/signet-pgsock.XXXXXX)
      [[ $EUID -eq 0 ]] && chown postgres: "$sock"
    else
      mkdir -p "$sock"
      [[ $EUID -eq 0 ]] && chown postgres: "$sock"
    fi
    echo "$sock" >"$dir/sockdir"
    cd "$dir"
    as_owner "$BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
      --no-sync >"$dir/initdb.log" 2>&1 || {
      echo "$0: initdb failed:" >&2
      cat "$dir/initdb.log" >&2
      exit 1
    }
    started=
    for _ in 1 2 3 4 5; do
      port=$(free_port)
      cat >"$dir/data/postgresql.auto.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sock'
fsync = on
synchronous_commit = on
max_connections = 200
logging_collector = off
CONF
      [[ $EUID -eq 0 ]] && chown postgres: "$dir/data/postgresql.auto.conf"
      if as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null 2>&1; then
        started=1
        break
      fi
    done
    if [[ -z $started ]]; then
      echo "$0: the server did not start; its log:" >&2
      tail -n 30 "$dir/server.log" >&2
      exit 1
    fi
    url="postgresql://postgres@127.0.0.1:$port/postgres"
    echo "$url" >"$dir/url"
    echo "$url"
    ;;
  stop)
    [[ -d $dir ]] || exit 0
    dir=$(realpath "$dir")
    stop_cluster
    ;;
  *) usage ;;
esac
