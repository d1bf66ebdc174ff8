#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# mk/deb.sh ROOT VERSION OUTDIR — turn a staged `make install PREFIX=/usr
# DESTDIR=ROOT` into the Debian package OUTDIR/kmem_VERSION_ARCH.deb (what
# `make deb` runs): manual pages compressed as Debian wants them, binaries
# stripped, the copyright and changelog, and the control files (control
# with the C library it needs, shlibs, md5sums, an ldconfig trigger).
# Built with dpkg-deb alone; files are owned by root in the package.
#
# DEB_MAINTAINER overrides the Maintainer field.
set -eu
root=$1
version=$2
out=$3
major=${version%%.*}
here=$(cd "$(dirname "$0")/.." && pwd)
arch=$(dpkg --print-architecture)
maintainer=${DEB_MAINTAINER:-"Seed 28405494 maintainers <maintainers@users.noreply.r-seed-28405494.example>"}
so=$root/usr/lib/libkmem.so.$version
[ -f "$so" ] || { echo "mk/deb.sh: $so is missing: stage make install PREFIX=/usr DESTDIR=$root first" >&2; exit 2; }

# Manual pages: gzip -9n (no name or time inside, so the package is the
# same from the same files); a link to kmem.3 becomes one to kmem.3.gz.
for page in "$root"/usr/share/man/man*/*; do
    if [ -L "$page" ]; then
        target=$(readlink "$page")
        rm "$page"
        ln -s "$target.gz" "$page.gz"
    else
        gzip -9n "$page"
    fi
done

# As dh_strip does: the debugging information stays in the build.
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$so"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/kmemstat"
for a in "$root"/usr/lib/*.a; do
    strip --strip-debug --enable-deterministic-archives "$a"
done

doc=$root/usr/share/doc/kmem
install -d "$doc"
year=$(git -C "$here" log --reverse --format=%ad --date=format:%Y 2>/dev/null | head -n 1)
[ -n "$year" ] || year=$(date +%Y)
cat >"$doc/copyright" <<EOF
kmem $version: the McKusick-Karels general-purpose memory allocator
(USENIX 1988) for present-day machines: a typed allocation API, a drop-in
malloc, and a freestanding core.

Copyright $year the kmem authors.

License: BSD-2-Clause
EOF
sed 's/^$/./; s/^/ /' "$here/LICENSE" >>"$doc/copyright"
date=$(git -C "$here" log -1 --format=%cD -- VERSION 2>/dev/null || true)
[ -n "$date" ] || date=$(date -R)
gzip -9n >"$doc/changelog.gz" <<EOF
kmem ($version) unstable; urgency=medium

  * kmem $version (see the commit history for what it holds).

 -- $maintainer  $date
EOF

# The newest C library symbol version the library uses is the libc6 it needs.
glibc=$(objdump -T "$so" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)
mkdir -p "$root/DEBIAN"
cat >"$root/DEBIAN/control" <<EOF
Package: kmem
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(du -sk "$root/usr" | cut -f1)
Depends: libc6 (>= $glibc)
Section: libs
Priority: optional
Description: general-purpose memory allocator after McKusick and Karels
 kmem is the allocator McKusick and Karels designed for the 4.3BSD kernel,
 carried to present-day machines: per-size free lists for small requests,
 whole pages for large ones, and a type with statistics and an optional
 limit on every allocation.
 .
 This package holds the typed API (<kmem.h>, libkmem.so.$major, libkmem.a,
 libkmem-api.a), the drop-in malloc (LD_PRELOAD=libkmem.so, or kmem-run),
 the freestanding core (libkmem-freestanding.a), pkg-config and CMake files,
 and the manual pages kmem(3), kmem(7) and kmem-run(1).
EOF
echo "libkmem $major kmem (>= $version)" >"$root/DEBIAN/shlibs"
echo "activate-noawait ldconfig" >"$root/DEBIAN/triggers"
(cd "$root" && find usr -type f | LC_ALL=C sort | xargs md5sum) >"$root/DEBIAN/md5sums"

mkdir -p "$out"
dpkg-deb --root-owner-group -Zxz --build "$root" "$out/kmem_${version}_$arch.deb"
