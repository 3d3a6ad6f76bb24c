# What the scripts of this folder share. A script sources it as its first step:
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# and is then at the repository's root, with CARGO_TARGET_DIR exported (by default a cache outside
# the clone, so a fresh clone reuses earlier builds). Its errors name the script that failed.

script="scripts/$(basename "$0")"
script_file="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/bia-target}"
# Incremental state is several GB for this workspace and buys nothing on a fresh clone, which is
# how CI runs: off unless the caller asks for it.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# step TEXT: announces the next step of a long run.
step() {
    echo "==> $*"
}

# usage: the script's help, which is its opening comment.
usage() {
    sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$script_file"
}

# parse_flags --flag=variable ... -- "$@": sets each variable to 1 if its flag was given and to 0
# if not; `-h`/`--help` prints the usage and exits 0, and anything else exits 2 naming it.
parse_flags() {
    local -A variable_of=()
    while [ "$1" != "--" ]; do
        variable_of["${1%%=*}"]="${1#*=}"
        printf -v "${1#*=}" 0
        shift
    done
    shift
    local arg
    for arg in "$@"; do
        case "$arg" in
            -h | --help) usage; exit 0 ;;
        esac
        if [ -z "${variable_of[$arg]:-}" ]; then
            echo "$script: unknown argument '$arg'" >&2
            usage >&2
            exit 2
        fi
        printf -v "${variable_of[$arg]}" 1
    done
}
