# SPDX-License-Identifier: BSD-2-Clause
"""discovery.py — what is on this machine: the allocators (kmem from the
build, the peers from Debian's library folders, any --also NAME=PATH), the
library file each one's runs use, their versions (Debian package, kmem's
git revision and library digest), and the machine itself (kernel, CPU).
Runs nothing but dpkg-query, git and uname."""

import hashlib
import os
import platform
import shutil
import subprocess
import sysconfig

from . import DEPS_HINT, ROOT, SetupError

MULTIARCH = sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu"
LIBDIRS = ["/usr/lib/" + MULTIARCH, "/lib/" + MULTIARCH, "/usr/lib", "/usr/local/lib"]


class Allocator:
    def __init__(self, name, soname, package):
        self.name = name
        self.soname = soname    # None: glibc's malloc, nothing preloaded
        self.package = package  # the Debian package that provides it
        self.path = None        # the .so used, if any
        self.origin = None      # kmem: the build's .so that path is a copy of
        self.also = False       # given with --also: another build, not a peer

    def find(self, build):
        if self.origin is not None:  # --also NAME=PATH: a given library
            self.path = self.origin if os.path.isfile(self.origin) else None
            return self.path is not None
        if self.name == "kmem":
            p = os.path.join(build, "lib", "libkmem.so")
            self.path = p if os.path.isfile(p) else None
            return self.path is not None
        if self.soname is not None:
            self.path = next((os.path.join(d, self.soname) for d in LIBDIRS
                              if os.path.isfile(os.path.join(d, self.soname))), None)
        return self.soname is None or self.path is not None

    def env(self, base):
        env = dict(base)
        if self.path is not None:
            env["LD_PRELOAD"] = self.path
        return env


def all_allocators():
    # kmem first: the one the others are compared to. tcmalloc is the full
    # library (gperftools), not tcmalloc_minimal: what programs link.
    return [Allocator("kmem", None, None),
            Allocator("glibc", None, "libc6"),
            Allocator("jemalloc", "libjemalloc.so.2", "libjemalloc-dev"),
            Allocator("tcmalloc", "libtcmalloc.so.4", "libgoogle-perftools-dev"),
            Allocator("mimalloc", "libmimalloc.so.2", "libmimalloc-dev")]


def find_allocators(build_arg, tmp, names, also):
    """The allocators to run (kmem first, then the peers found, then the
    --also ones), and notes on the peers that are missing. names: only
    these (None: all); also: the --also NAME=PATH specs. kmem's library and
    the --also ones are copied into tmp, so that every run is of the same
    file even if the build changes meanwhile."""
    build = os.path.abspath(build_arg)
    missing = []
    allocs = []
    extra = []
    for spec in also or []:
        name, _, path = spec.partition("=")
        if not name or not path:
            raise SetupError("--also takes NAME=PATH to a malloc library, not %r" % spec)
        a = Allocator(name, None, None)
        a.origin = os.path.abspath(path)
        a.also = True
        extra.append(a)
    for a in all_allocators() + extra:
        if names and a.name not in names and a not in extra:
            continue
        if a.find(build):
            if a.name == "kmem" or a in extra:
                # A private copy: the library may be rebuilt while the
                # suite runs, and every kmem run must be of the same one.
                copy = os.path.join(tmp, "lib%s.so" % a.name)
                shutil.copy2(a.path, copy)
                a.origin, a.path = a.path, copy
            allocs.append(a)
        elif a in extra:
            raise SetupError("--also %s: %s is missing" % (a.name, a.origin))
        elif a.name == "kmem":
            raise SetupError("%s/lib/libkmem.so is missing: build kmem first "
                             "(make -f mk/build.mk O=%s lib benches)" % (build_arg, build_arg))
        else:
            missing.append("%s is missing (%s not found in %s; Debian package %s); %s"
                           % (a.name, a.soname, ", ".join(LIBDIRS[:2]), a.package, DEPS_HINT))
    return allocs, missing


# ---- versions and the machine -----------------------------------------------------

def kmem_version():
    """VERSION and the source tree's git revision."""
    try:
        with open(os.path.join(ROOT, "VERSION")) as f:
            v = f.read().strip()
    except OSError:
        v = "?"
    g = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                       capture_output=True, text=True)
    return v + (" (git %s)" % g.stdout.strip() if g.returncode == 0 else "")


def library_digest(path):
    """The first 12 hex digits of a library file's sha256."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:12]


def package_version(path):
    """The Debian package and version a library file comes from."""
    for p in (path, path.replace("/usr/lib/", "/lib/", 1)):
        q = subprocess.run(["dpkg-query", "-S", p], capture_output=True, text=True)
        if q.returncode == 0:
            pkg = q.stdout.split(":")[0].strip()
            v = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg],
                               capture_output=True, text=True).stdout.strip()
            return "%s %s" % (pkg, v)
    return None


def versions(allocs, kmem_ver):
    """One "name (package version)" per allocator, kmem's as kmem_ver."""
    vers = ["kmem %s" % kmem_ver]
    for a in allocs:
        if a.name == "kmem":
            continue
        path = a.path if a.path else "/lib/%s/libc.so.6" % MULTIARCH
        pv = package_version(path)
        vers.append("%s (%s)" % (a.name, pv) if pv else a.name)
    return vers


def machine():
    """(kernel, CPU model, number of CPUs)."""
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    uname = subprocess.run(["uname", "-srm"], capture_output=True, text=True).stdout.strip()
    return uname or platform.platform(), cpu, os.cpu_count()
