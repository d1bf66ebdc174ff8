# Makefile — kmem. The two commands (README.md):
#
#   make bench   build, then run the workloads on kmem and on every peer
#                allocator installed, and print the comparison (QUICK=1: under
#                a minute; bench-deps installs the peers; bench-readme also
#                puts the results into README.md)
#   make test    build every variant and run every test (test-deps first
#                installs, with apt, what the real-program tests need when
#                it is missing)
#   make baremetal   boot kmem on an emulated RISC-V machine with no OS
#                (baremetal/): a workload, the tables, the freestanding
#                suite; baremetal-deps installs the cross compiler and qemu
#   make bench-bounds  instructions per call, worst and mean, counted by
#                qemu (-icount) on that machine
#
# Variants are built by mk/build.mk into build/<variant>:
#   release       the library as installed, its tests and benchmarks
#   asan          tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   tsan          the threaded tests under ThreadSanitizer
#   freestanding  the core compiled -ffreestanding over the hook platform
#   freestanding32  the same for a 32-bit machine (-m32), with its tests
#   pow2          the tests again with the 1988 power-of-two buckets
#   rv64          the freestanding core cross-compiled for RISC-V (baremetal/)

PREFIX   ?= /usr/local
# Four size classes per doubling: chosen by make bench over the 1988 powers
# of two (same speed, less memory; see README.md). GEOMETRY=pow2 builds those.
GEOMETRY ?= quarter
JOBS     ?= 2
VERSION  := $(shell cat VERSION)
BUILD    := $(MAKE) --no-print-directory -f mk/build.mk -j$(JOBS) GEOMETRY=$(GEOMETRY)
REL      := build/release

# Tests that use threads: run again under ThreadSanitizer.
THREADED_TESTS := test_smoke test_threads test_limits_threads test_prodcons

.PHONY: all lib test test-layers test-release test-freestanding test-asan test-tsan test-install \
        test-deps test-dropin test-pow2 test-bench bench bench-deps bench-readme install uninstall clean \
        test-freestanding32 baremetal baremetal-deps baremetal-build bench-bounds

all: lib

lib:
	$(BUILD) O=$(REL) lib
	$(BUILD) O=build/freestanding FREESTANDING=1 lib

# ---- tests --------------------------------------------------------------------

test: test-layers test-release test-pow2 test-freestanding test-freestanding32 baremetal test-install test-deps test-dropin test-bench test-asan test-tsan
	@echo "make test: all passed"

# No source includes a header of a layer above its own, and no modules
# depend on each other in a circle (the layers: tools/check-layers).
test-layers:
	tools/check-layers

# Also under valgrind, which grants a smaller reservation than kmem asks
# for (kmem halves its request until it is granted).
test-release:
	$(BUILD) O=$(REL) all
	tests/run.sh $(REL)
	@if command -v valgrind >/dev/null; then \
	    valgrind -q --error-exitcode=99 $(REL)/tests/api/test_smoke >/dev/null && \
	    KMEM_TEST_OPS=20000 valgrind -q --error-exitcode=99 \
	        $(REL)/tests/api/test_random >/dev/null && \
	    echo "  ok    under valgrind (memcheck): test_smoke, test_random (20000 operations)"; \
	else echo "  skip  valgrind is not installed: no run under it"; fi

# What the real-program tests (tests/dropin/real/) need, from Debian's
# packages: python3.11 and its regression suite, sqlite3, git (and timeout).
# tests/dropin/real/deps.sh names what is missing; as root it is installed,
# otherwise one line says what to run. Nothing when all is present, or with
# KMEM_SKIP_REAL_PROGRAMS=1.
test-deps:
	@if [ "$${KMEM_SKIP_REAL_PROGRAMS:-0}" = 1 ]; then \
	    echo "test-deps: skipped (KMEM_SKIP_REAL_PROGRAMS=1)"; exit 0; fi; \
	missing=$$(tests/dropin/real/deps.sh) || exit 1; \
	if [ -z "$$missing" ]; then \
	    echo "test-deps: what the real-program tests need is installed"; \
	elif [ "$$(id -u)" -ne 0 ]; then \
	    echo "test-deps: missing $$missing: run 'make test-deps' as root (or apt-get install --no-install-recommends $$missing)"; \
	else \
	    echo "test-deps: installing $$missing"; \
	    apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing || exit 1; \
	    missing=$$(tests/dropin/real/deps.sh); \
	    if [ -n "$$missing" ]; then echo "test-deps: still missing after apt-get install: $$missing"; exit 1; fi; \
	fi

# The drop-in malloc under LD_PRELOAD: edge cases against glibc, stress,
# fork, threads, limits, kmem-run, and real programs (python3, sqlite3, git;
# tests/dropin/real/, after test-deps).
test-dropin: test-deps
	$(BUILD) O=$(REL) lib dropin
	tests/dropin/run.sh $(REL)

# The other bucket geometry (the 1988 powers of two): the same tests.
test-pow2:
	$(MAKE) --no-print-directory -f mk/build.mk -j$(JOBS) O=build/pow2 GEOMETRY=pow2 all
	tests/run.sh build/pow2

test-freestanding:
	$(BUILD) O=build/freestanding FREESTANDING=1 all check-undefined
	tests/run.sh build/freestanding

# Firmware is often 32-bit: the freestanding core and its tests, -m32
# (Debian's gcc-multilib, installed when missing and root).
test-freestanding32:
	@echo 'int main(void){return 0;}' > build/m32-probe.c 2>/dev/null || { mkdir -p build && echo 'int main(void){return 0;}' > build/m32-probe.c; }; \
	if ! $(CC) -m32 build/m32-probe.c -o build/m32-probe 2>/dev/null; then \
	    if [ "$$(id -u)" -ne 0 ]; then \
	        echo "test-freestanding32: $(CC) -m32 cannot link: run 'make test-freestanding32' as root (or apt-get install --no-install-recommends gcc-multilib)"; exit 1; fi; \
	    echo "test-freestanding32: installing gcc-multilib"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc-multilib >/dev/null || exit 1; \
	fi
	$(BUILD) O=build/freestanding32 FREESTANDING=1 ARCHFLAGS=-m32 all check-undefined
	tests/run.sh build/freestanding32

# ---- bare metal ----------------------------------------------------------------

# The freestanding core for RISC-V, from the same sources (mk/build.mk's
# FREESTANDING=1 variant with a cross compiler), under a tiny kernel for
# qemu's virt machine (baremetal/). Debian's bare-metal cross compiler and
# qemu: installed with apt when missing and root, otherwise one line says
# what to run.
BM_CROSS := riscv64-unknown-elf-
BM_ARCH  := -march=rv64gc -mabi=lp64d -mcmodel=medany
BM_CORE  := build/rv64
BM_OUT   := build/baremetal
BM_QEMU  := qemu-system-riscv64 -machine virt -bios none -nographic -m 256M -monitor none -serial stdio
# The same for a 32-bit hart (rv32imac, the same cross compiler's
# multilib; ISA spec 2.2, where the CSR instructions are part of the base
# and the multilib still matches): rv32 has no 64-bit atomic
# instructions, so the core calls __atomic_*_8, which the kernel gives
# (baremetal/atomic64.c).
BM32_ARCH := -march=rv32imac -misa-spec=2.2 -mabi=ilp32 -mcmodel=medany
BM32_CORE := build/rv32
BM32_OUT  := build/baremetal32
BM32_QEMU := qemu-system-riscv32 -machine virt -bios none -nographic -m 256M -monitor none -serial stdio
BM32_ATOMICS := __atomic_(load|store|fetch_add|fetch_sub|compare_exchange)_8

baremetal-deps:
	@missing=""; \
	command -v $(BM_CROSS)gcc >/dev/null || missing="$$missing gcc-riscv64-unknown-elf"; \
	command -v qemu-system-riscv64 >/dev/null || missing="$$missing qemu-system-misc"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" -ne 0 ]; then \
	    echo "baremetal-deps: missing$$missing: run 'make baremetal-deps' as root (or apt-get install --no-install-recommends$$missing)"; exit 1; fi; \
	echo "baremetal-deps: installing$$missing"; \
	apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1

baremetal-build: baremetal-deps
	$(MAKE) --no-print-directory -f mk/build.mk -j$(JOBS) GEOMETRY=$(GEOMETRY) O=$(BM_CORE) \
	    FREESTANDING=1 CROSS=$(BM_CROSS) ARCHFLAGS="$(BM_ARCH)" lib check-undefined
	$(MAKE) --no-print-directory -f baremetal/baremetal.mk -j$(JOBS) CROSS=$(BM_CROSS) \
	    CORE=$(BM_CORE) O=$(BM_OUT) ARCHFLAGS="$(BM_ARCH)"
	$(MAKE) --no-print-directory -f mk/build.mk -j$(JOBS) GEOMETRY=$(GEOMETRY) O=$(BM32_CORE) \
	    FREESTANDING=1 CROSS=$(BM_CROSS) ARCHFLAGS="$(BM32_ARCH)" UNDEFINED_OK='$(BM32_ATOMICS)' \
	    lib check-undefined
	$(MAKE) --no-print-directory -f baremetal/baremetal.mk -j$(JOBS) CROSS=$(BM_CROSS) \
	    CORE=$(BM32_CORE) O=$(BM32_OUT) ARCHFLAGS="$(BM32_ARCH)"

# Boots the demo on rv64, then on rv32; qemu's exit status is the test
# device's verdict. The output is kept in build/baremetal*/demo.log.
baremetal: baremetal-build
	@echo "booting $(BM_OUT)/demo.elf: $(BM_QEMU) -kernel $(BM_OUT)/demo.elf"
	@timeout 120 $(BM_QEMU) -kernel $(BM_OUT)/demo.elf < /dev/null > $(BM_OUT)/demo.log 2>&1; rc=$$?; \
	tr -d '\r' < $(BM_OUT)/demo.log; \
	if [ $$rc -ne 0 ]; then echo "baremetal: FAILED (qemu exit status $$rc)"; exit 1; fi
	@echo "booting $(BM32_OUT)/demo.elf: $(BM32_QEMU) -kernel $(BM32_OUT)/demo.elf"
	@timeout 120 $(BM32_QEMU) -kernel $(BM32_OUT)/demo.elf < /dev/null > $(BM32_OUT)/demo.log 2>&1; rc=$$?; \
	tr -d '\r' < $(BM32_OUT)/demo.log | grep -E '^  (ok|FAIL)|^baremetal|^kmem on|^panic|^trap'; \
	if [ $$rc -ne 0 ]; then echo "baremetal (rv32): FAILED (qemu exit status $$rc)"; exit 1; fi

# Instructions per kmem call on the same machines, counted exactly: qemu
# with -icount shift=0 advances minstret by one per guest instruction
# (baremetal/bounds.c), rv64 then rv32. A benchmark: nothing here is
# asserted by make test.
bench-bounds: baremetal-build
	@timeout 600 $(BM_QEMU) -icount shift=0 -kernel $(BM_OUT)/bounds.elf < /dev/null \
	    > $(BM_OUT)/bounds.log 2>&1; rc=$$?; tr -d '\r' < $(BM_OUT)/bounds.log; \
	if [ $$rc -ne 0 ]; then echo "bench-bounds: FAILED (qemu exit status $$rc)"; exit 1; fi
	@timeout 600 $(BM32_QEMU) -icount shift=0 -kernel $(BM32_OUT)/bounds.elf < /dev/null \
	    > $(BM32_OUT)/bounds.log 2>&1; rc=$$?; tr -d '\r' < $(BM32_OUT)/bounds.log; \
	if [ $$rc -ne 0 ]; then echo "bench-bounds (rv32): FAILED (qemu exit status $$rc)"; exit 1; fi

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

# malloc/free pairs through the macros, the functions and glibc's malloc
# (bench/api_pairs.c), timed and, in full mode, counted by callgrind
# (bench/callgrind.py); then every workload on every allocator
# (bench/run.py), with a table, a CSV (build/bench/results.csv) and a chart
# (build/bench/results.png).
bench:
	$(BUILD) O=$(REL) lib benches
	$(REL)/bench/api_pairs $(if $(QUICK),--quick)
	@if [ -z "$(QUICK)" ]; then \
	    if command -v valgrind >/dev/null; then bench/callgrind.py $(REL)/bench/api_pairs; \
	    else echo "valgrind not installed: no instruction counts (make bench-deps)"; fi; fi
	bench/run.py --build $(REL) $(if $(QUICK),--quick) $(BENCH_ARGS)

# The peers, and what the workloads and the chart need (Debian packages).
bench-deps:
	apt-get update
	apt-get install -y --no-install-recommends libjemalloc-dev libgoogle-perftools-dev \
	    libmimalloc-dev python3.11 sqlite3 valgrind gnuplot-nox

# A full run, then its tables into README.md (between the bench markers).
bench-readme: bench
	bench/update_readme.py

# Every workload once, quickly, on kmem and glibc: they run and check
# their own results (timings are not judged).
test-bench:
	$(BUILD) O=$(REL) lib benches
	bench/run.py --check --build $(REL)

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
