#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# tests/install/check_man.sh — the manual pages of man/: each passes
# `mandoc -Tlint` (style messages included, but for references to pages
# this machine lacks) and renders under man-db and groff (`man -l`) without
# a warning; kmem(3) names and declares every function of include/*.h and
# the four macros; kmem(7) describes every KMEM_* variable the library
# reads (src/) or kmem-run sets, and no other. Prints a line per check and
# exits 1 if one failed; a missing tool is a "skip" line.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 2
pass=0 fail=0 skip=0
ok() { pass=$((pass + 1)); printf '  ok    %s\n' "$1"; }
bad() { fail=$((fail + 1)); printf '  FAIL  %s\n' "$1"; [ -z "${2:-}" ] || printf '%s\n' "$2" | sed 's/^/        /'; }
skipped() { skip=$((skip + 1)); printf '  skip  %s\n' "$1"; }
pages=$(ls man/*.[1-9])
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Lint. "referenced manual not found" and mandoc.db notes depend on which
# other pages this machine has installed, not on ours.
if command -v mandoc >/dev/null 2>&1; then
    for page in $pages; do
        msgs=$(mandoc -Tlint -Wstyle "$page" 2>&1 | grep -v -e 'referenced manual not found' \
            -e 'mandoc.db' -e 'run makewhatis')
        if [ -z "$msgs" ]; then ok "mandoc -Tlint $page"; else bad "mandoc -Tlint $page" "$msgs"; fi
    done
else
    skipped "mandoc is not installed (Debian package mandoc): pages not linted"
fi

# Rendering as man(1) does, with groff's warnings on.
if command -v man >/dev/null 2>&1; then
    for page in $pages; do
        name=$(sed -n 's/^\.Dt \([^ ]*\) .*/\1/p' "$page")
        text=$(MANWIDTH=80 man --warnings -l "$page" 2>"$tmp/err")
        err=$(cat "$tmp/err")
        if [ -z "$err" ] && printf '%s\n' "$text" | grep -q "^$name("; then
            ok "man -l $page ($(printf '%s\n' "$text" | wc -l) lines)"
        else
            bad "man -l $page: warnings, or no $name( header" "$err"
        fi
    done
else
    skipped "man is not installed (Debian package man-db): pages not rendered"
fi

# Every function of the headers in kmem(3): in NAME (.Nm) and SYNOPSIS (.Fn).
functions=$(sed -n 's/^KMEM_API [^(]*[ *]\([a-z_][a-z0-9_]*\)(.*/\1/p' include/*.h)
macros="KMEM_MALLOC KMEM_FREE KMEM_TYPE_DEFINE KMEM_TYPE_DECLARE"
missing=
for f in $functions $macros; do
    grep -q "^\.Nm $f\( ,\)\{0,1\}$" man/kmem.3 && grep -q "^\.Fn $f " man/kmem.3 ||
        missing="$missing $f"
done
if [ -n "$functions" ] && [ -z "$missing" ]; then
    ok "kmem(3) names and declares all $(echo $functions $macros | wc -w) functions and macros"
else
    bad "kmem(3) lacks (in NAME as .Nm, in SYNOPSIS as .Fn):${missing:- (no KMEM_API found in include/)}"
fi

# Every KMEM_* variable: read by the library (a string literal in src/,
# passed to getenv or kmem_os_getenv), or set by kmem-run.
used=$( { grep -rhoE '"KMEM_[A-Z0-9_]+' src | tr -d '"'
          sed -n 's/.*\(KMEM_[A-Z0-9_]*\)=.*/\1/p' tools/kmem-run; } | LC_ALL=C sort -u)
documented=$(sed -n 's/^\.It Ev \(KMEM_[A-Z0-9_]*\).*/\1/p' man/kmem.7 | LC_ALL=C sort -u)
if [ -n "$used" ] && [ "$used" = "$documented" ]; then
    ok "kmem(7) describes the $(echo $used | wc -w) variables: $(echo $used)"
else
    bad "kmem(7)'s variables (.It Ev) differ from those of src/ and kmem-run (< used, > documented)" \
        "$(printf '%s\n' "$used" >"$tmp/used"; printf '%s\n' "$documented" |
           diff "$tmp/used" - | grep '^[<>]')"
fi

printf 'manual pages: %d passed, %d failed, %d skipped\n' "$pass" "$fail" "$skip"
[ "$fail" -eq 0 ]
