#!/usr/bin/env bash
# Starts Redis and PostgreSQL on this machine when they are not already
# answering, installing Debian's packages when they are missing. For
# development and CI; production points REDIS_URL and DATABASE_URL elsewhere.
set -euo pipefail

REDIS_PORT="${REDIS_PORT:-6379}"
PG_PORT="${PG_PORT:-5432}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

have() { command -v "$1" >/dev/null 2>&1; }
apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

redis_up() { have redis-cli && redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }
pg_up() { have pg_isready && pg_isready -h 127.0.0.1 -p "$PG_PORT" -q; }
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

if redis_up; then
  echo "redis: already running on 127.0.0.1:$REDIS_PORT"
else
  have redis-server || { echo "redis: installing redis-server"; apt_install redis-server; }
  mkdir -p /tmp/flash-sale-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --maxmemory-policy noeviction --dir /tmp/flash-sale-redis --logfile /tmp/flash-sale-redis/redis.log
  for _ in $(seq 1 50); do redis_up && break; sleep 0.1; done
  redis_up || { echo "redis: did not start; see /tmp/flash-sale-redis/redis.log" >&2; exit 1; }
  echo "redis: started on 127.0.0.1:$REDIS_PORT"
fi

if pg_up; then
  echo "postgres: already running on 127.0.0.1:$PG_PORT"
else
  if [ -z "$(pg_bin)" ]; then
    echo "postgres: installing postgresql"
    apt_install postgresql
    # A cluster we just installed is ours to set up: trust local connections,
    # as the default DATABASE_URL (no password) expects. Never done to an existing one.
    for hba in /etc/postgresql/*/main/pg_hba.conf; do
      [ -f "$hba" ] && $SUDO sed -i -E 's/(scram-sha-256|md5|peer)$/trust/' "$hba"
    done
  fi
  if have pg_ctlcluster && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
    # Debian's cluster: start it the way the package does.
    version="$(ls /etc/postgresql | sort -V | tail -1)"
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  fi
  for _ in $(seq 1 50); do pg_up && break; sleep 0.2; done
  if ! pg_up; then
    # No cluster to start: make a throwaway one with trust auth, owned by postgres.
    data=/tmp/flash-sale-pg
    run_pg() { if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
    if [ ! -f "$data/PG_VERSION" ]; then
      mkdir -p "$data" && { [ "$(id -u)" -ne 0 ] || chown postgres "$data"; }
      run_pg "$(pg_bin)/initdb -D $data -U postgres -A trust" >/dev/null
    fi
    run_pg "$(pg_bin)/pg_ctl -D $data -o '-p $PG_PORT -k /tmp -c listen_addresses=127.0.0.1' -l $data/log -w start" >/dev/null
  fi
  pg_up || { echo "postgres: did not start" >&2; exit 1; }
  echo "postgres: started on 127.0.0.1:$PG_PORT"
fi

# Trust auth as the postgres role is what the default DATABASE_URL expects.
psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qtAc "select 1" >/dev/null 2>&1 ||
  echo "postgres: note: cannot log in as role postgres without a password; set DATABASE_URL" >&2
