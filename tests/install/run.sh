#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# tests/install/run.sh SCRATCH — kmem installed as C libraries are, checked
# from the outside (make test-install runs it, the libraries built):
#
#   the manual pages (check_man.sh);
#   make install PREFIX=SCRATCH/prefix puts there exactly the files of
#   `make install-list`, the manual links resolve, man finds kmem_free;
#   examples/example.c builds against it with pkg-config (shared and
#   static) and with CMake (tests/install/cmake: kmem::kmem, kmem::api,
#   kmem::freestanding), and runs; the installed kmem-run works;
#   make uninstall leaves the prefix empty;
#   make deb gives a package holding the same files under /usr, whose links
#   resolve, and that lintian finds no error in.
#
# Prints a line per check and a summary; exits 1 if any failed. A tool that
# is missing (mandoc, man, cmake, lintian) makes its checks "skip" lines.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 2
scratch=$1
make=${MAKE:-make}
version=$(cat VERSION)
major=${version%%.*}
rm -rf "$scratch" && mkdir -p "$scratch"
scratch=$(cd "$scratch" && pwd)
prefix=$scratch/prefix
pass=0 fail=0 skip=0
ok() { pass=$((pass + 1)); printf '  ok    %s\n' "$1"; }
bad() {
    fail=$((fail + 1))
    printf '  FAIL  %s\n' "$1"
    if [ -n "${2:-}" ]; then
        if [ -f "$2" ]; then tail -n 30 "$2"; else printf '%s\n' "$2"; fi | sed 's/^/        /'
    fi
}
skipped() { skip=$((skip + 1)); printf '  skip  %s\n' "$1"; }
have() { command -v "$1" >/dev/null 2>&1; }
# The files under a folder, as relative paths, sorted.
files_under() { (cd "$1" && find . ! -type d | sed 's|^\./||' | LC_ALL=C sort); }

# ---- the manual pages ---------------------------------------------------------
if tests/install/check_man.sh >"$scratch/man.log" 2>&1; then
    ok "manual pages: $(tail -n 1 "$scratch/man.log" | sed 's/^manual pages: //')"
    grep '^  skip' "$scratch/man.log"
    skip=$((skip + $(grep -c '^  skip' "$scratch/man.log")))
else
    bad "manual pages (tests/install/check_man.sh):" "$(grep -v '^  ok' "$scratch/man.log")"
fi

# ---- make install ---------------------------------------------------------------
"$make" --no-print-directory -s install-list | LC_ALL=C sort >"$scratch/install-list"
if "$make" --no-print-directory install PREFIX="$prefix" >"$scratch/install.log" 2>&1; then
    files_under "$prefix" >"$scratch/installed"
    if diff -u --label "make install-list" --label "installed in $prefix" \
            "$scratch/install-list" "$scratch/installed" >"$scratch/install.diff"; then
        ok "make install: exactly the $(wc -l <"$scratch/installed") files of make install-list"
    else
        bad "make install put other files than make install-list names (uninstall would miss them)" \
            "$scratch/install.diff"
    fi
else
    bad "make install PREFIX=$prefix" "$scratch/install.log"
fi

dangling=$(cd "$prefix" && find . -type l ! -exec test -e {} \; -print)
if [ -z "$dangling" ]; then ok "every installed link resolves"; else bad "dangling links:" "$dangling"; fi

# Every name of kmem(3) opens it, and no link names something else.
names=$(sed -n '/^\.Sh NAME/,/^\.Nd/s/^\.Nm \([A-Za-z_]*\).*/\1/p' man/kmem.3 | grep -vx kmem | LC_ALL=C sort)
links=$(sed -n 's|^share/man/man3/\(.*\)\.3$|\1|p' "$scratch/install-list" | grep -vx kmem | LC_ALL=C sort)
if [ "$names" = "$links" ]; then
    ok "a link share/man/man3/NAME.3 -> kmem.3 for each of the $(echo $names | wc -w) names of kmem(3)"
else
    bad "the names of kmem(3) and the Makefile's MAN3_LINKS differ" \
        "$(printf '%s\n' $names >"$scratch/names"; printf '%s\n' $links | diff "$scratch/names" - | grep '^[<>]')"
fi
if have man; then
    if MANWIDTH=80 man -M "$prefix/share/man" 3 kmem_free 2>&1 | grep -q '^KMEM(3)' &&
       man -l "$prefix/share/man/man3/kmem.3" 2>&1 | grep -q 'kmem_malloc'; then
        ok "man -M PREFIX/share/man 3 kmem_free opens kmem(3); man -l PREFIX/share/man/man3/kmem.3"
    else
        bad "man does not find kmem_free(3) under $prefix/share/man"
    fi
else
    skipped "man is not installed (Debian package man-db)"
fi

# ---- building against the installed kmem -------------------------------------------
cc=${CC:-cc}
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
if $cc -std=c11 -Wall -Werror examples/example.c -o "$scratch/example-shared" \
        $(pkg-config --cflags --libs kmem) >"$scratch/pc.log" 2>&1 &&
   $cc -std=c11 -Wall -Werror examples/example.c -o "$scratch/example-static" \
        $(pkg-config --cflags kmem) "$prefix/lib/libkmem.a" \
        $(pkg-config --static --libs-only-l kmem | sed 's/-lkmem//') >>"$scratch/pc.log" 2>&1 &&
   LD_LIBRARY_PATH="$prefix/lib" "$scratch/example-shared" | grep -q 'first: 64 usable bytes' &&
   "$scratch/example-static" | grep -q 'Memory statistics by type'; then
    ok "pkg-config: examples/example.c built shared and static, and run"
else
    bad "pkg-config: examples/example.c" "$scratch/pc.log"
fi

# A position-independent program on libkmem.so that inlines the macros:
# its copy of the fast-path data (a copy relocation) and the library's own
# must agree, or a double free across KMEM_FREE and kmem_free is missed.
if $cc -std=c11 -Wall -Werror -fPIE -pie tests/install/pie_macros.c -o "$scratch/pie" \
        $(pkg-config --cflags --libs kmem) >"$scratch/pie.log" 2>&1 &&
   LD_LIBRARY_PATH="$prefix/lib" "$scratch/pie" ok >>"$scratch/pie.log" 2>&1; then
    LD_LIBRARY_PATH="$prefix/lib" "$scratch/pie" double >>"$scratch/pie.log" 2>&1
    rc=$?
    if [ $rc -ge 128 ] && grep -q "block is already free (double free)" "$scratch/pie.log"; then
        ok "a PIE program's macros and libkmem.so agree (a double free across them is caught)"
    else
        bad "PIE program with the macros on libkmem.so (exit $rc)" "$scratch/pie.log"
    fi
else
    bad "PIE program with the macros on libkmem.so" "$scratch/pie.log"
fi

needed() { readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' '; }
if have cmake; then
    b=$scratch/cmake
    if cmake -S tests/install/cmake -B "$b" -DCMAKE_PREFIX_PATH="$prefix" \
            -DCMAKE_C_FLAGS="-Wall -Werror" >"$scratch/cmake.log" 2>&1 &&
       cmake --build "$b" >>"$scratch/cmake.log" 2>&1; then
        if "$b/example-kmem" | grep -q 'first: 64 usable bytes' &&
           "$b/example-api" | grep -q 'first: 64 usable bytes' &&
           "$b/freestanding" | grep -q '^freestanding: [0-9]* and [0-9]* usable bytes$'; then
            ok "CMake: find_package(kmem 0.1 CONFIG); kmem::kmem, kmem::api, kmem::freestanding build and run"
        else
            bad "CMake: the programs built with kmem::kmem, kmem::api, kmem::freestanding fail"
        fi
        case " $(needed "$b/example-kmem")" in
        *" libkmem.so.$major "*) ok "kmem::kmem links the soname ($(needed "$b/example-kmem"))" ;;
        *) bad "kmem::kmem: example-kmem needs $(needed "$b/example-kmem"), not libkmem.so.N" ;;
        esac
        case " $(needed "$b/example-api")" in
        *libkmem*) bad "kmem::api: example-api needs a shared libkmem: $(needed "$b/example-api")" ;;
        *) ok "kmem::api links statically (needs $(needed "$b/example-api"))" ;;
        esac
    else
        bad "CMake: tests/install/cmake against $prefix" "$scratch/cmake.log"
    fi
    # The version file refuses what it should.
    sed 's/find_package(kmem 0.1 /find_package(kmem 1.0 /' tests/install/cmake/CMakeLists.txt \
        >"$scratch/CMakeLists.txt" && cp tests/install/cmake/freestanding.c "$scratch/"
    if cmake -S "$scratch" -B "$scratch/cmake-1.0" -DCMAKE_PREFIX_PATH="$prefix" \
            >"$scratch/cmake-1.0.log" 2>&1; then
        bad "CMake: find_package(kmem 1.0) accepted kmem $version"
    elif grep -q 'compatible' "$scratch/cmake-1.0.log" && grep -q 'version: 0' "$scratch/cmake-1.0.log"; then
        ok "CMake: find_package(kmem 1.0) refuses kmem $version"
    else
        bad "CMake: find_package(kmem 1.0) failed, but not on the version" "$scratch/cmake-1.0.log"
    fi
else
    skipped "cmake is not installed (Debian package cmake): the CMake package is not tried"
fi

if "$prefix/bin/kmem-run" --stats -- sh -c 'exit 3' 2>"$scratch/kmem-run.log"; then
    bad "installed kmem-run: the command's exit status 3 was lost"
elif [ $? -eq 3 ] && grep -q 'Memory statistics by type' "$scratch/kmem-run.log"; then
    ok "installed kmem-run finds its libkmem.so and prints the tables"
else
    bad "installed kmem-run --stats -- sh -c 'exit 3'" "$scratch/kmem-run.log"
fi

# ---- make uninstall ------------------------------------------------------------------
if "$make" --no-print-directory uninstall PREFIX="$prefix" >"$scratch/uninstall.log" 2>&1; then
    left=$(cd "$prefix" && find . -mindepth 1)
    if [ -z "$left" ]; then
        ok "make uninstall leaves $prefix empty"
    else
        bad "make uninstall left in $prefix:" "$left"
    fi
else
    bad "make uninstall PREFIX=$prefix" "$scratch/uninstall.log"
fi

# ---- make deb --------------------------------------------------------------------------
if ! have dpkg-deb; then
    skipped "dpkg-deb is not installed: no Debian package built"
elif "$make" --no-print-directory deb >"$scratch/deb.log" 2>&1; then
    deb=$(ls build/deb/kmem_"$version"_*.deb 2>/dev/null)
    # What the package should hold: the install list under /usr, manual
    # pages compressed, and the copyright and changelog Debian asks for.
    { sed -e 's|^share/man/\(.*\)|share/man/\1.gz|' -e 's|^|usr/|' "$scratch/install-list"
      printf '%s\n' usr/share/doc/kmem/changelog.gz usr/share/doc/kmem/copyright
    } | LC_ALL=C sort >"$scratch/deb-expected"
    rm -rf "$scratch/deb-root" && mkdir "$scratch/deb-root" &&
        dpkg-deb -x "$deb" "$scratch/deb-root"
    files_under "$scratch/deb-root" >"$scratch/deb-files"
    if diff -u --label expected --label "$deb" "$scratch/deb-expected" "$scratch/deb-files" \
            >"$scratch/deb.diff"; then
        ok "make deb: $deb holds the $(wc -l <"$scratch/deb-files") files of the install list (under /usr)"
    else
        bad "make deb: $deb holds other files than the install list" "$scratch/deb.diff"
    fi
    dangling=$(cd "$scratch/deb-root" && find . -type l ! -exec test -e {} \; -print)
    if [ -z "$dangling" ]; then ok "every link in the package resolves"; else bad "dangling links in $deb:" "$dangling"; fi
    if have lintian; then
        if lintian --fail-on error "$deb" >"$scratch/lintian.log" 2>&1; then
            ok "lintian: no error ($(grep -c '^W:' "$scratch/lintian.log") warnings; $scratch/lintian.log)"
        else
            bad "lintian finds errors in $deb" "$(grep -v '^[WIPNX]:' "$scratch/lintian.log")"
        fi
    else
        skipped "lintian is not installed (Debian package lintian): the package is not linted"
    fi
else
    bad "make deb" "$scratch/deb.log"
fi

printf 'tests/install: %d passed, %d failed, %d skipped\n' "$pass" "$fail" "$skip"
[ "$fail" -eq 0 ]
