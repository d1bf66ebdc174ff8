#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# mk/debian-packages.sh WHO PACKAGE=PROBE... — install the Debian packages
# a make target needs, when they are missing: what `make bench` and
# `make test` use to set themselves up on a fresh machine.
#
# A PROBE tells whether a PACKAGE is there: an absolute path (that file
# exists), lib:NAME (a shared library NAME in /usr/lib, /lib or
# /usr/local/lib, multiarch folders included), or a command on PATH.
#
# Nothing missing: says nothing, exit 0. Missing, as root with apt-get:
# one line naming them, `apt-get update` and `apt-get install` (its output
# in a log, shown only when it fails), exit 0 when all are there after.
# Missing otherwise (not root, no apt-get, apt failed): one line saying
# what to run, exit 1; the caller decides whether it can go on without.
set -u
who=$1
shift

present() {
    case $1 in
    /*) [ -e "$1" ] ;;
    lib:*)
        for f in /usr/lib/*/"${1#lib:}" /lib/*/"${1#lib:}" /usr/lib/"${1#lib:}" \
                 /usr/local/lib/"${1#lib:}"; do
            [ -e "$f" ] && return 0
        done
        return 1 ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
    esac
}

missing() {
    out=
    for spec in "$@"; do
        present "${spec#*=}" || out="$out ${spec%%=*}"
    done
    echo "$out"
}

need=$(missing "$@")
[ -n "$need" ] || exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "$who: installing$need (apt-get)"
    log=$(mktemp "${TMPDIR:-/tmp}/kmem-apt.XXXXXX")
    # shellcheck disable=SC2086 # $need is a list of package names
    if { apt-get update -qq &&
         DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
             -o DPkg::Lock::Timeout=300 $need; } >"$log" 2>&1; then
        rm -f "$log"
        need=$(missing "$@")
        [ -n "$need" ] || exit 0
        echo "$who: still missing after apt-get install:$need"
        exit 1
    fi
    tail -n 5 "$log" | sed "s/^/$who: apt-get: /"
    echo "$who: apt-get install$need failed (all of it: $log); going on without"
    exit 1
fi
if command -v apt-get >/dev/null 2>&1; then
    echo "$who: missing$need; to install them, run as root: apt-get update && apt-get install --no-install-recommends$need"
else
    echo "$who: missing (Debian package names):$need; install them with this system's package manager"
fi
exit 1
