#!/bin/sh
# Slipway's PostgreSQL entrypoint, with the official `postgres` image's
# conventions, on Debian's postgresql-15:
#
#   POSTGRES_PASSWORD          the superuser's password (required on first start)
#   POSTGRES_USER              the superuser (default postgres)
#   POSTGRES_DB                the database made on first start (default: the user)
#   POSTGRES_INITDB_ARGS       more initdb arguments
#   POSTGRES_HOST_AUTH_METHOD  how TCP clients log in (default scram-sha-256)
#   PGDATA                     the data directory (default /var/lib/postgresql/data)
#
# and `*_FILE` variants of the first three. On first start (no PG_VERSION in
# PGDATA) it runs initdb with the password in a file, never on a command line,
# lets password logins in from any address, and makes the database. Then it
# execs postgres as PID 1, user postgres.
set -eu
. /usr/local/lib/slipway/common.sh

# `docker run <image> -c work_mem=64MB` means postgres with those options.
if [ "${1#-}" != "$1" ]; then
    set -- postgres "$@"
fi
if [ "$1" != postgres ]; then
    exec "$@"
fi

export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
STEP_DOWN_DIRS="$PGDATA /var/run/postgresql" step_down postgres "$0" "$@"
chmod 0700 "$PGDATA" 2>/dev/null || true

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    file_env POSTGRES_PASSWORD
    file_env POSTGRES_USER postgres
    file_env POSTGRES_DB "$POSTGRES_USER"
    auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
    if [ -z "$POSTGRES_PASSWORD" ] && [ "$auth" != trust ]; then
        echo "error: the database is not initialized and POSTGRES_PASSWORD is not set." >&2
        echo "  Set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE); POSTGRES_HOST_AUTH_METHOD=trust lets anyone in instead." >&2
        exit 1
    fi

    pwfile=""
    if [ -n "$POSTGRES_PASSWORD" ]; then
        pwfile="$(mktemp)"
        printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    fi
    # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of arguments.
    initdb --username="$POSTGRES_USER" ${pwfile:+--pwfile="$pwfile"} \
        --auth-local=trust --auth-host="$auth" --encoding=UTF8 --locale=C.UTF-8 \
        ${POSTGRES_INITDB_ARGS:-} -D "$PGDATA"
    [ -z "$pwfile" ] || rm -f "$pwfile"

    cat >>"$PGDATA/postgresql.conf" <<-'CONF'

	# Slipway: reachable from other containers; the JIT libraries are not in the image.
	listen_addresses = '*'
	unix_socket_directories = '/var/run/postgresql, /tmp'
	jit = off
	CONF
    echo "host all all all $auth" >>"$PGDATA/pg_hba.conf"

    if [ "$POSTGRES_DB" != postgres ]; then
        pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=/tmp" -w start
        echo 'CREATE DATABASE :"db";' |
            psql -v ON_ERROR_STOP=1 --no-psqlrc --host=/tmp --username="$POSTGRES_USER" --dbname=postgres \
                --set db="$POSTGRES_DB"
        pg_ctl -D "$PGDATA" -m fast -w stop
    fi
    echo "PostgreSQL is initialized: user $POSTGRES_USER, database $POSTGRES_DB."
fi

exec "$@"
