#!/bin/sh
# Slipway's MySQL entrypoint: MariaDB 10.11 (Debian's mariadb-server), with the
# official `mariadb` image's conventions:
#
#   MARIADB_ROOT_PASSWORD            root's password (required on first start, unless
#                                    one of the next two is set)
#   MARIADB_ALLOW_EMPTY_ROOT_PASSWORD  root without a password
#   MARIADB_RANDOM_ROOT_PASSWORD     a random root password, printed once
#   MARIADB_DATABASE                 a database made on first start
#   MARIADB_USER, MARIADB_PASSWORD   a user (any host) with every right on that database
#
# The `MYSQL_*` spellings work too, and `*_FILE` variants of the passwords,
# user and database. On first start (no `mysql` schema in /var/lib/mysql) it
# runs mariadb-install-db, starts the server without networking, sends the
# SQL on standard input (passwords never reach a command line), and stops
# it. Then it execs mariadbd as PID 1, user mysql, on 0.0.0.0:3306.
set -eu
. /usr/local/lib/slipway/common.sh

DATADIR=/var/lib/mysql
SOCKET=/run/mysqld/mysqld.sock

# `docker run <image> --character-set-server=utf8mb4` means mariadbd with that option.
if [ "${1#-}" != "$1" ]; then
    set -- mariadbd "$@"
fi
case "$1" in
    mariadbd | mysqld) ;;
    *) exec "$@" ;;
esac

STEP_DOWN_DIRS="$DATADIR /run/mysqld" step_down mysql "$0" "$@"

# setting NAME: MARIADB_NAME, else MYSQL_NAME (each also as *_FILE).
setting() {
    file_env "MARIADB_$1"
    file_env "MYSQL_$1"
    eval "setting_value=\${MARIADB_$1:-\${MYSQL_$1:-}}"
    printf '%s' "$setting_value"
}

# A string literal's content for SQL: backslashes and quotes escaped.
sql_string() {
    printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g"
}

# An identifier's content between backquotes.
sql_identifier() {
    printf '%s' "$1" | sed -e 's/`/``/g'
}

if [ ! -d "$DATADIR/mysql" ]; then
    root_password="$(setting ROOT_PASSWORD)"
    allow_empty="${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:-${MYSQL_ALLOW_EMPTY_PASSWORD:-}}"
    random_root="${MARIADB_RANDOM_ROOT_PASSWORD:-${MYSQL_RANDOM_ROOT_PASSWORD:-}}"
    database="$(setting DATABASE)"
    user="$(setting USER)"
    password="$(setting PASSWORD)"
    if [ -z "$root_password" ] && [ -z "$allow_empty" ] && [ -z "$random_root" ]; then
        echo "error: the database is not initialized and no root password is set." >&2
        echo "  Set MARIADB_ROOT_PASSWORD (or MYSQL_ROOT_PASSWORD), MARIADB_ALLOW_EMPTY_ROOT_PASSWORD or MARIADB_RANDOM_ROOT_PASSWORD." >&2
        exit 1
    fi
    if [ "$user" = root ]; then
        echo "error: MARIADB_USER=root: root is made from MARIADB_ROOT_PASSWORD; name another user" >&2
        exit 1
    fi
    if [ -n "$user" ] && [ -z "$password" ]; then
        echo "error: MARIADB_USER is set without MARIADB_PASSWORD" >&2
        exit 1
    fi
    if [ -z "$root_password" ] && [ -n "$random_root" ]; then
        root_password="$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32)"
        echo "GENERATED ROOT PASSWORD: $root_password"
    fi

    echo "Initializing MariaDB in $DATADIR"
    mariadb-install-db --datadir="$DATADIR" --skip-test-db --auth-root-authentication-method=normal \
        --default-time-zone=SYSTEM --skip-log-bin --expire-logs-days=0 >/dev/null

    server="$1"
    shift
    "$server" "$@" --skip-networking --socket="$SOCKET" --default-time-zone=SYSTEM --skip-log-bin \
        --expire-logs-days=0 --wsrep-on=OFF --loose-innodb-buffer-pool-load-at-startup=0 &
    pid=$!
    tries=0
    until mariadb --protocol=socket --socket="$SOCKET" --user=root -e 'SELECT 1' >/dev/null 2>&1; do
        tries=$((tries + 1))
        if [ "$tries" -ge 60 ] || ! kill -0 "$pid" 2>/dev/null; then
            echo "error: the temporary server did not start" >&2
            exit 1
        fi
        sleep 1
    done

    # printf, not echo: dash's echo would eat the backslashes of the escapes.
    root="$(sql_string "$root_password")"
    {
        printf '%s\n' "SET @@SESSION.SQL_LOG_BIN=0;" \
            "SET @@SESSION.SQL_MODE=REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');" \
            "DROP USER IF EXISTS root@'127.0.0.1', root@'::1';" \
            "EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@''', @@hostname, '''');" \
            "SET PASSWORD FOR 'root'@'localhost' = PASSWORD('$root');" \
            "CREATE USER 'root'@'%' IDENTIFIED BY '$root';" \
            "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
        if [ -n "$database" ]; then
            printf '%s\n' "CREATE DATABASE IF NOT EXISTS \`$(sql_identifier "$database")\`;"
        fi
        if [ -n "$user" ]; then
            printf '%s\n' "CREATE USER '$(sql_string "$user")'@'%' IDENTIFIED BY '$(sql_string "$password")';"
            if [ -n "$database" ]; then
                # `_` is a wildcard in the database name of a grant.
                grant_db="$(sql_identifier "$database" | sed -e 's/_/\\_/g')"
                printf '%s\n' "GRANT ALL ON \`$grant_db\`.* TO '$(sql_string "$user")'@'%';"
            fi
        fi
        printf '%s\n' "FLUSH PRIVILEGES;"
    } | mariadb --protocol=socket --socket="$SOCKET" --user=root --database=mysql --binary-mode

    kill "$pid"
    wait "$pid"
    echo "MariaDB is initialized${database:+: database $database}${user:+, user $user}."
    set -- "$server" "$@"
fi

exec "$@"
