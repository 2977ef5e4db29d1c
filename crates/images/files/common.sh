# Shared by Slipway's database image entrypoints; sourced, not run.
# POSIX sh: the images are Debian minbase, whose /bin/sh is dash.

# file_env VAR [DEFAULT]: sets VAR from $VAR, or from the file named by
# $VAR_FILE (the official images' convention for secrets), or to DEFAULT.
file_env() {
    eval "file_env_value=\${$1:-}"
    eval "file_env_file=\${$1_FILE:-}"
    if [ -n "$file_env_value" ] && [ -n "$file_env_file" ]; then
        echo "error: both $1 and $1_FILE are set; use one" >&2
        exit 1
    fi
    if [ -n "$file_env_file" ]; then
        file_env_value="$(cat "$file_env_file")"
    fi
    eval "$1=\${file_env_value:-\${2:-}}"
    unset "$1_FILE" file_env_value file_env_file
}

# step_down USER SCRIPT ARGS...: when root, makes DIRS... (in $STEP_DOWN_DIRS)
# belong to USER, then runs SCRIPT ARGS... again as USER; otherwise returns.
# The server ends up as PID 1 because every step execs the next.
step_down() {
    step_down_user="$1"
    shift
    [ "$(id -u)" = 0 ] || return 0
    for dir in ${STEP_DOWN_DIRS:-}; do
        mkdir -p "$dir"
        find "$dir" \! -user "$step_down_user" -exec chown "$step_down_user:$step_down_user" '{}' +
    done
    HOME="$(getent passwd "$step_down_user" | cut -d: -f6)"
    export HOME
    exec setpriv --reuid="$step_down_user" --regid="$step_down_user" --init-groups "$@"
}
