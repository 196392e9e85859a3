#!/usr/bin/env bash
# Runs a command with TEST_POSTGRES_URL and TEST_REDIS_URL pointing at throwaway
# PostgreSQL and Redis servers: Debian's packages (installed with apt-get when missing,
# which needs root), started on free loopback ports with their data in a temporary
# directory, stopped and deleted afterwards. `make test-cluster` uses it.
# Usage: tests/cluster/with_services.sh .venv/bin/pytest -q tests/cluster
set -euo pipefail

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pg_bindir() {
    local dir=""
    if command -v pg_config >/dev/null 2>&1; then
        dir="$(pg_config --bindir)"
    fi
    if [[ -z "$dir" || ! -x "$dir/initdb" ]]; then
        dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    fi
    echo "$dir"
}

missing=()
bindir="$(pg_bindir)"
[[ -n "$bindir" && -x "$bindir/initdb" ]] || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if (( ${#missing[@]} )); then
    if [[ "$(id -u)" != "0" ]]; then
        echo "with_services: ${missing[*]} missing; install them (apt-get install ${missing[*]}) or run as root" >&2
        exit 2
    fi
    echo "with_services: installing ${missing[*]} (apt-get)" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    bindir="$(pg_bindir)"
fi

dir="$(mktemp -d -t kpibot-cluster.XXXXXX)"
pg_port="$(free_port)"
redis_port="$(free_port)"
# PostgreSQL refuses to run as root: use an unprivileged account for the servers.
as_user=()
if [[ "$(id -u)" == "0" ]]; then
    chown nobody "$dir"
    as_user=(runuser -u nobody --)
fi
stop() {
    if [[ -f "$dir/redis.pid" ]]; then
        kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
    fi
    "${as_user[@]}" "$bindir/pg_ctl" -D "$dir/pg" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap stop EXIT

"${as_user[@]}" "$bindir/initdb" -D "$dir/pg" -U postgres --auth=trust >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 2; }
"${as_user[@]}" "$bindir/pg_ctl" -D "$dir/pg" -l "$dir/pg.log" -w \
    -o "-p $pg_port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
    start >/dev/null || { cat "$dir/pg.log" >&2; exit 2; }
"${as_user[@]}" redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$dir" \
    --save "" --appendonly no --daemonize yes --pidfile "$dir/redis.pid" \
    --logfile "$dir/redis.log" >/dev/null
for _ in $(seq 50); do
    if [[ -s "$dir/redis.pid" ]] && redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
        break
    fi
    sleep 0.1
done
echo "with_services: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port," \
    "Redis $(redis-server --version | awk '{print $3}' | cut -d= -f2) on 127.0.0.1:$redis_port" >&2

TEST_POSTGRES_URL="postgresql+asyncpg://postgres@127.0.0.1:$pg_port/postgres" \
TEST_REDIS_URL="redis://127.0.0.1:$redis_port/0" "$@"
