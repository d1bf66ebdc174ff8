# Makefile — kmem. The two commands (README.md):
#
#   make bench   build, then measure kmem against the C library's malloc
#   make test    build every variant and run every test (installs, with
#                apt, what the real-program tests need when it is missing)
#
# Variants are built by mk/build.mk into build/<variant>:
#   release       the library as installed, its tests and benchmarks
#   asan          tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   tsan          the threaded tests under ThreadSanitizer
#   freestanding  the core compiled -ffreestanding over the hook platform
#   quarter       the tests again with four size classes per doubling

PREFIX   ?= /usr/local
GEOMETRY ?= pow2
JOBS     ?= 2
VERSION  := $(shell cat VERSION)
BUILD    := $(MAKE) --no-print-directory -f mk/build.mk -j$(JOBS) GEOMETRY=$(GEOMETRY)
REL      := build/release

# Tests that use threads: run again under ThreadSanitizer.
THREADED_TESTS := test_smoke test_threads test_limits test_prodcons

.PHONY: all lib test test-release test-freestanding test-asan test-tsan test-install \
        test-dropin test-quarter bench install uninstall clean

all: lib

lib:
	$(BUILD) O=$(REL) lib
	$(BUILD) O=build/freestanding FREESTANDING=1 lib

# ---- tests --------------------------------------------------------------------

test: test-release test-quarter test-freestanding test-install test-dropin test-asan test-tsan
	@echo "make test: all passed"

test-release:
	$(BUILD) O=$(REL) all
	tests/run.sh $(REL)

# The drop-in malloc under LD_PRELOAD: edge cases against glibc, stress,
# fork, threads, limits, kmem-run, and real programs (python3, sqlite3, git).
test-dropin:
	$(BUILD) O=$(REL) lib dropin
	tests/dropin/run.sh $(REL)

# The other bucket geometry (GEOMETRY=quarter): the same tests.
test-quarter:
	$(MAKE) --no-print-directory -f mk/build.mk -j$(JOBS) O=build/quarter GEOMETRY=quarter all
	tests/run.sh build/quarter

test-freestanding:
	$(BUILD) O=build/freestanding FREESTANDING=1 all check-undefined
	tests/run.sh build/freestanding

test-asan:
	$(BUILD) O=build/asan SAN=address all
	ASAN_OPTIONS=abort_on_error=1:detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 \
	    tests/run.sh build/asan

test-tsan:
	$(BUILD) O=build/tsan SAN=thread all
	TSAN_OPTIONS=halt_on_error=1 tests/run.sh build/tsan $(THREADED_TESTS)

# Install into a scratch prefix and build the README's example against it
# with pkg-config, shared and static.
test-install:
	rm -rf build/install-test
	$(MAKE) --no-print-directory install PREFIX=$(CURDIR)/build/install-test
	PKG_CONFIG_PATH=$(CURDIR)/build/install-test/lib/pkgconfig sh -c '\
	    $(CC) -std=c11 -Wall -Werror examples/example.c -o build/install-test/example-shared $$(pkg-config --cflags --libs kmem) && \
	    $(CC) -std=c11 -Wall -Werror examples/example.c -o build/install-test/example-static $$(pkg-config --cflags kmem) \
	        build/install-test/lib/libkmem.a $$(pkg-config --static --libs-only-l kmem | sed "s/-lkmem//")'
	LD_LIBRARY_PATH=build/install-test/lib build/install-test/example-shared | grep -q 'first: 64 usable bytes'
	build/install-test/example-static | grep -q 'Memory statistics by type'
	@echo "test-install: headers, libraries and kmem.pc work"

# ---- benchmarks ------------------------------------------------------------------

bench:
	$(BUILD) O=$(REL) lib benches
	$(REL)/bench/fastpath $(BENCH_ARGS)
	@if command -v valgrind >/dev/null; then bench/callgrind.sh $(REL)/bench/fastpath; \
	 else echo "valgrind not installed: no instruction counts (apt-get install valgrind)"; fi

# ---- installing ------------------------------------------------------------------

install: lib
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 include/kmem.h include/kmem_fastpath.h include/kmem_freestanding.h \
	    $(REL)/include/kmem_config.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(REL)/lib/libkmem.a build/freestanding/lib/libkmem-freestanding.a \
	    $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(REL)/lib/libkmem.so $(DESTDIR)$(PREFIX)/lib/
	install -m 644 $(REL)/lib/libkmem-api.a $(DESTDIR)$(PREFIX)/lib/
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 tools/kmem-run $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' mk/kmem.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/kmem.pc

uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/include/,kmem.h kmem_fastpath.h kmem_freestanding.h kmem_config.h)
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/lib/,libkmem.a libkmem.so libkmem-api.a libkmem-freestanding.a pkgconfig/kmem.pc)
	rm -f $(DESTDIR)$(PREFIX)/bin/kmem-run

clean:
	rm -rf build
