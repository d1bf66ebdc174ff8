#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# tests/install/check_library.sh LIBDIR GEOMETRY — libkmem.so as it ships:
# libkmem.so -> libkmem.so.MAJOR -> libkmem.so.MAJOR.MINOR.PATCH (from
# VERSION), the soname libkmem.so.MAJOR, and exactly the exported symbols
# of tests/expected/exports_GEOMETRY.txt (nm -D --defined-only; what
# mk/libkmem.map and the visibility attributes let out). Prints a line per
# check; exits 1 if one failed.
set -u
libdir=$1
geometry=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
version=$(cat "$root/VERSION")
major=${version%%.*}
expected=$root/tests/expected/exports_$geometry.txt
status=0
fail() { printf '  FAIL  %s\n' "$1"; status=1; }

links="$(readlink "$libdir/libkmem.so") $(readlink "$libdir/libkmem.so.$major")"
if [ "$links" = "libkmem.so.$major libkmem.so.$version" ] && [ -f "$libdir/libkmem.so.$version" ]; then
    printf '  ok    %s/libkmem.so -> libkmem.so.%s -> libkmem.so.%s\n' "$libdir" "$major" "$version"
else
    fail "$libdir: libkmem.so and libkmem.so.$major must link to libkmem.so.$version (links: $links)"
fi

soname=$(readelf -d "$libdir/libkmem.so.$version" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$soname" = "libkmem.so.$major" ]; then
    printf '  ok    soname %s\n' "$soname"
else
    fail "soname of libkmem.so.$version is '$soname', not libkmem.so.$major"
fi

got=$libdir/exports.txt
nm -D --defined-only "$libdir/libkmem.so.$version" | awk '{ print $2, $3 }' | LC_ALL=C sort >"$got"
if diff=$(grep -v '^#' "$expected" | diff -u --label "${expected#"$root"/}" --label "$got" - "$got"); then
    printf '  ok    exports exactly the %s symbols of %s\n' "$(wc -l <"$got")" "${expected#"$root"/}"
else
    fail "exported symbols differ from ${expected#"$root"/} (- expected, + exported); change mk/libkmem.map or the list, knowingly:"
    printf '%s\n' "$diff" | sed 's/^/        /'
fi
exit $status
