#!/usr/bin/env bash
# Runs a command with TEST_POSTGRES_URL pointing at a PostgreSQL server: the one
# given in TEST_POSTGRES_URL, else a throwaway local cluster (initdb in a temp dir,
# a free port, trust auth on 127.0.0.1), stopped and deleted afterwards.
# Usage: tests/with_postgres.sh .venv/bin/pytest -q tests/storage ...
set -euo pipefail

if [[ -n "${TEST_POSTGRES_URL:-}" ]]; then
    exec "$@"
fi

bindir=""
if command -v pg_config >/dev/null 2>&1; then
    bindir="$(pg_config --bindir)"
fi
if [[ -z "$bindir" || ! -x "$bindir/initdb" ]]; then
    bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
fi
if [[ -z "$bindir" || ! -x "$bindir/initdb" ]]; then
    echo "with_postgres: no PostgreSQL server binaries (initdb) found; install postgresql or set TEST_POSTGRES_URL" >&2
    exit 2
fi

dir="$(mktemp -d -t kpibot-pg.XXXXXX)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# PostgreSQL refuses to run as root: use an unprivileged account for the server.
as_user=()
if [[ "$(id -u)" == "0" ]]; then
    chown nobody "$dir"
    as_user=(runuser -u nobody --)
fi
stop() {
    "${as_user[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap stop EXIT

"${as_user[@]}" "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 2; }
"${as_user[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 2; }
echo "with_postgres: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2

TEST_POSTGRES_URL="postgresql+asyncpg://postgres@127.0.0.1:$port/postgres" "$@"
