#!/bin/sh
# Slipway's Redis entrypoint, with the official `redis` image's conventions,
# on Debian's redis-server: the arguments are redis-server's (a configuration
# file first, or options), the data directory is /data (the working
# directory), and redis-server runs as PID 1, user redis.
set -eu
. /usr/local/lib/slipway/common.sh

# `docker run <image> --requirepass x` or `... /etc/redis.conf` means redis-server with those.
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
    set -- redis-server "$@"
fi
if [ "$1" = redis-server ]; then
    STEP_DOWN_DIRS="." step_down redis "$0" "$@"
    # As the official image: files private to redis unless the umask says otherwise.
    if [ "$(umask)" = 0022 ]; then
        umask 0077
    fi
fi

exec "$@"
