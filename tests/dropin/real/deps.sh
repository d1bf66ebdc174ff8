#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# tests/dropin/real/deps.sh [PROGRAM...] — which Debian packages the
# real-program tests of PROGRAM (python, sqlite, git; by default all three)
# need and this machine lacks: their names on one line, an empty line when
# everything is present. It only looks: `make test-deps` installs what it
# names, and each test script stops with the names when one is missing.
set -u
[ $# -gt 0 ] || set -- python sqlite git
missing=
add() {
    case " $missing " in *" $1 "*) ;; *) missing="$missing $1" ;; esac
}
command -v timeout >/dev/null 2>&1 || add coreutils
for prog in "$@"; do
    case $prog in
    python)
        # Debian's interpreter, and its regression suite: `import
        # test.support` is not enough to tell, because Debian ships
        # test/support, test/libregrtest and test/regrtest.py in
        # libpython3.11-stdlib; the test modules themselves (test_list.py,
        # ...) are in libpython3.11-testsuite. So look for a test module.
        py=/usr/bin/python3.11
        [ -x "$py" ] || add python3.11
        "$py" -s -c 'import test.support, test.libregrtest, test.test_list' >/dev/null 2>&1 ||
            add libpython3.11-testsuite
        ;;
    sqlite) command -v sqlite3 >/dev/null 2>&1 || add sqlite3 ;;
    git) command -v git >/dev/null 2>&1 || add git ;;
    *)
        echo "deps.sh: no such real-program test: $prog (python, sqlite, git)" >&2
        exit 2
        ;;
    esac
done
echo "${missing# }"
