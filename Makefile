# SPDX-License-Identifier: BSD-2-Clause
# Makefile — kmem. The two commands (README.md):
#
#   make bench   install what it measures with when missing (the peer
#                allocators, python3.11, sqlite3, valgrind, gnuplot; as root,
#                with apt), build, then run the workloads on kmem and on every
#                peer and print the comparison (QUICK=1: under a minute;
#                bench-readme also puts the results into README.md)
#   make test    build every variant and run every test (test-deps first
#                installs, with apt, what the real-program tests need when
#                it is missing)
#   make baremetal   boot kmem on an emulated RISC-V machine with no OS
#                (baremetal/): a workload, the tables, the freestanding
#                suite; baremetal-deps installs the cross compiler and qemu
#   make bench-bounds  instructions per call, worst and mean, counted by
#                qemu (-icount) on that machine
#   make bench-python-suite  peak RSS and time of Python's regression suite
#                in one process, on kmem and every peer (longer than bench)
#   make fuzz    run each fuzzer (tests/fuzz/) for FUZZ_SECONDS (600)
#
# Variants are built by mk/build.mk into build/<variant>:
#   release       the library as installed, its tests and benchmarks
#   asan          tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   tsan          the threaded tests under ThreadSanitizer
#   freestanding  the core compiled -ffreestanding over the hook platform
#   freestanding32  the same for a 32-bit machine (-m32), with its tests
#   pow2          the tests again with the 1988 power-of-two buckets
#   rv64          the freestanding core cross-compiled for RISC-V (baremetal/)
#
# Installing: make install [PREFIX=/usr/local] [DESTDIR=...], make
# uninstall, and make deb (a Debian package of the same files).

PREFIX   ?= /usr/local
# Four size classes per doubling: chosen by make bench over the 1988 powers
# of two (same speed, less memory; see README.md). GEOMETRY=pow2 builds those.
GEOMETRY ?= quarter
JOBS     ?= 2
include mk/version.mk
BUILD    := $(MAKE) --no-print-directory -f mk/build.mk -j$(JOBS) GEOMETRY=$(GEOMETRY)
REL      := build/release

# Tests that use threads: run again under ThreadSanitizer.
THREADED_TESTS := test_smoke test_threads test_limits_threads test_prodcons test_record_swap

.PHONY: all lib test test-layers test-release test-freestanding test-asan test-tsan test-install test-export \
        test-deps test-dropin test-pow2 test-bench test-fuzz fuzz fuzz-corpus bench bench-deps \
        bench-readme install uninstall install-list deb clean test-freestanding32 baremetal \
        baremetal-deps baremetal-build bench-bounds bench-python-suite

all: lib

lib:
	$(BUILD) O=$(REL) lib
	$(BUILD) O=build/freestanding FREESTANDING=1 lib

# ---- tests --------------------------------------------------------------------

test: test-layers test-release test-pow2 test-freestanding test-freestanding32 baremetal test-install \
      test-deps test-dropin test-export test-bench test-asan test-tsan test-fuzz
	@echo "make test: all passed"

# No source includes a header of a layer above its own, and no modules
# depend on each other in a circle (the layers: tools/check-layers); every
# source file carries the licence line.
test-layers:
	tools/check-layers
	tools/add-licence-lines --check

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
	tests/install/check_library.sh build/pow2/lib pow2

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
	tr -d '\r' < $(BM32_OUT)/demo.log | grep -E '^  (ok|FAIL)|^baremetal|^kmem on|^panic|^trap|^suite\.h:'; \
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

# Statistics published for other processes, and kmemstat reading them
# (tests/export/run.sh; its interactive view is driven in tmux).
test-export:
	@mk/debian-packages.sh "make test" tmux=tmux || true
	$(BUILD) O=$(REL) lib tests dropin
	tests/export/run.sh $(REL)

test-tsan:
	$(BUILD) O=build/tsan SAN=thread all
	TSAN_OPTIONS=halt_on_error=1 tests/run.sh build/tsan $(THREADED_TESTS)
	@# Publishing from the background thread while 4 threads allocate.
	rm -rf build/tsan/export-records && mkdir -m 700 build/tsan/export-records
	KMEM_EXPORT_DIR=$(CURDIR)/build/tsan/export-records TSAN_OPTIONS=halt_on_error=1 \
	    build/tsan/tests/export/consistency threads >build/tsan/export-consistency.log 2>&1 || \
	    { tail -n 40 build/tsan/export-consistency.log; exit 1; }
	@echo "  ok    export/consistency threads under ThreadSanitizer"

# The fuzzers (tests/fuzz/fuzz_*.c: libFuzzer, clang, ASan and UBSan;
# tests/fuzz/run.sh says how each run goes). make test runs each over its
# seed corpus and FUZZ_RUNS inputs (each fuzzer's own number unless set:
# tests/fuzz/run.sh; nothing written into the repository); make fuzz runs each for FUZZ_SECONDS, keeping what it finds
# in build/fuzz/corpus/. Without a clang that links libFuzzer (installed
# with apt as root when missing), make test says so and skips them; make
# fuzz fails. make fuzz-corpus writes the seeds again
# (tests/fuzz/make_corpus.c; inputs added by hand are left alone).
FUZZ_SECONDS ?= 600
FUZZ_RUNS    ?=
test-fuzz:
	@if tests/fuzz/run.sh ready "make test"; then \
	    $(BUILD) O=$(REL) fuzzers && FUZZ_RUNS=$(FUZZ_RUNS) tests/fuzz/run.sh short $(REL); fi

fuzz:
	@tests/fuzz/run.sh ready "make fuzz"
	$(BUILD) O=$(REL) fuzzers
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh long $(REL)

fuzz-corpus:
	$(BUILD) O=$(REL) $(REL)/fuzz/make_corpus
	mkdir -p tests/fuzz/corpus/record && $(REL)/fuzz/make_corpus tests/fuzz/corpus/record

# What is installed, and how (tests/install/run.sh): the shared library's
# names and exports, the manual pages, an install into a scratch prefix
# holding exactly INSTALL_FILES, the example built against it with
# pkg-config and with CMake, make uninstall emptying it, and the .deb.
# What it checks with, as Debian PACKAGE=PROBE (mk/debian-packages.sh
# installs the missing ones as root): the manual pages (mandoc, man), the
# CMake package, pkg-config, and the .deb (lintian).
TEST_PACKAGES := mandoc=mandoc man-db=man cmake=cmake pkg-config=pkg-config lintian=lintian
test-install:
	@mk/debian-packages.sh "make test" $(TEST_PACKAGES) || true
	$(BUILD) O=$(REL) lib
	$(BUILD) O=build/freestanding FREESTANDING=1 lib
	tests/install/check_library.sh $(REL)/lib $(GEOMETRY)
	tests/install/run.sh build/install-test

# ---- benchmarks ------------------------------------------------------------------

# malloc/free pairs through the macros, the functions and glibc's malloc
# (bench/api_pairs.c), timed and, in full mode, counted by callgrind
# (bench/callgrind.py); then every workload on every allocator
# (bench/run.py), with a table, a CSV (build/bench/results.csv) and a chart
# (build/bench/results.png).
bench:
	@mk/debian-packages.sh "make bench" $(BENCH_PACKAGES) || true
	$(BUILD) O=$(REL) lib benches
	$(REL)/bench/api_pairs $(if $(QUICK),--quick)
	@if [ -z "$(QUICK)" ]; then \
	    if command -v valgrind >/dev/null; then bench/callgrind.py $(REL)/bench/api_pairs; \
	    else echo "valgrind not installed: no instruction counts (make bench-deps)"; fi; fi
	bench/run.py --build $(REL) $(if $(QUICK),--quick) $(BENCH_ARGS)

# What make bench measures with, as Debian PACKAGE=PROBE (the file or
# command that shows it is there; mk/debian-packages.sh): the peers, the
# real programs, valgrind (instruction counts), gnuplot (the chart).
BENCH_PACKAGES := libjemalloc-dev=lib:libjemalloc.so.2 libgoogle-perftools-dev=lib:libtcmalloc.so.4 \
                  libmimalloc-dev=lib:libmimalloc.so.2 python3.11=/usr/bin/python3.11 \
                  sqlite3=sqlite3 valgrind=valgrind gnuplot-nox=gnuplot
# Only what make bench would install (it does so itself, as root).
bench-deps:
	mk/debian-packages.sh "make bench-deps" $(BENCH_PACKAGES)

# A full run, then its tables into README.md (between the bench markers).
bench-readme: bench
	bench/update_readme.py

# Peak RSS and time of Python's regression suite in one process, on kmem
# and every peer (bench/python_suite.py; about 45 s a run, 3 runs each):
# too long for make bench. PYSUITE_ARGS: e.g. --reps 5, --modules a,b.
PYSUITE_PACKAGES := python3.11=/usr/bin/python3.11 \
                    libpython3.11-testsuite=/usr/lib/python3.11/test/test_list.py \
                    libjemalloc-dev=lib:libjemalloc.so.2 libgoogle-perftools-dev=lib:libtcmalloc.so.4 \
                    libmimalloc-dev=lib:libmimalloc.so.2
bench-python-suite:
	@mk/debian-packages.sh "make bench-python-suite" $(PYSUITE_PACKAGES) || true
	$(BUILD) O=$(REL) lib
	bench/python_suite.py --build $(REL) $(PYSUITE_ARGS)

# Every workload once, quickly, on kmem and glibc: they run and check
# their own results (timings are not judged).
test-bench:
	$(BUILD) O=$(REL) lib benches
	bench/run.py --check --build $(REL)

# ---- installing ------------------------------------------------------------------

# Every file make install puts under $(DESTDIR)$(PREFIX): make uninstall
# removes exactly these, and lib/cmake/kmem; when nothing else is left in
# PREFIX (a prefix of kmem's own), also the empty folders of INSTALL_DIRS,
# so that PREFIX is left empty (a shared one like /usr/local keeps them).
# make test checks that an install holds these files and nothing else, and
# that the .deb holds the same.
#
# kmem(3) documents every function and macro of the headers; `man
# kmem_free` opens it through a link of MAN3_LINKS. kmemstat(1) documents
# kmemstat and the record it reads (<kmem_export.h>).
MAN3_LINKS := kmem_malloc kmem_malloc_aligned kmem_free kmem_realloc kmem_usable_size \
              KMEM_MALLOC KMEM_FREE KMEM_TYPE_DEFINE KMEM_TYPE_DECLARE kmem_type_setlimit \
              kmem_type_stats kmem_type_next kmem_type_name kmem_type_description \
              kmem_nbuckets kmem_bucket_stats kmem_arena_stats kmem_stats_print kmem_init \
              kmem_set_memory_limit kmem_trim kmem_thread_flush kmem_maintain \
              kmem_set_decay_ms kmem_check kmem_freestanding_init
INSTALL_FILES := include/kmem.h include/kmem_fastpath.h include/kmem_freestanding.h \
                 include/kmem_config.h include/kmem_export.h lib/libkmem.a lib/libkmem-api.a lib/libkmem-freestanding.a \
                 lib/$(SO_FILE) lib/$(SO_NAME) lib/libkmem.so lib/pkgconfig/kmem.pc \
                 lib/cmake/kmem/kmemConfig.cmake lib/cmake/kmem/kmemConfigVersion.cmake \
                 bin/kmem-run bin/kmemstat share/man/man1/kmem-run.1 \
                 share/man/man1/kmemstat.1 share/man/man3/kmem.3 \
                 $(MAN3_LINKS:%=share/man/man3/%.3) share/man/man7/kmem.7
# Deepest first.
INSTALL_DIRS := include lib/pkgconfig lib/cmake/kmem lib/cmake lib bin share/man/man1 \
                share/man/man3 share/man/man7 share/man share

DEST := $(DESTDIR)$(PREFIX)
install: lib
	install -d $(DEST)/include $(DEST)/lib/pkgconfig $(DEST)/lib/cmake/kmem $(DEST)/bin \
	    $(DEST)/share/man/man1 $(DEST)/share/man/man3 $(DEST)/share/man/man7
	install -m 644 include/kmem.h include/kmem_fastpath.h include/kmem_freestanding.h \
	    include/kmem_export.h $(REL)/include/kmem_config.h $(DEST)/include/
	install -m 644 $(REL)/lib/libkmem.a $(REL)/lib/libkmem-api.a \
	    build/freestanding/lib/libkmem-freestanding.a $(DEST)/lib/
	install -m 644 $(REL)/lib/$(SO_FILE) $(DEST)/lib/
	ln -sf $(SO_FILE) $(DEST)/lib/$(SO_NAME)
	ln -sf $(SO_NAME) $(DEST)/lib/libkmem.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' mk/kmem.pc.in >$(DEST)/lib/pkgconfig/kmem.pc
	for f in kmemConfig kmemConfigVersion; do \
	    sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@SO_FILE@|$(SO_FILE)|g' -e 's|@SO_NAME@|$(SO_NAME)|g' \
	        -e 's|@SO_MAJOR@|$(SO_MAJOR)|g' mk/$$f.cmake.in >$(DEST)/lib/cmake/kmem/$$f.cmake || exit 1; done
	install -m 755 tools/kmem-run $(REL)/bin/kmemstat $(DEST)/bin/
	install -m 644 man/kmem-run.1 man/kmemstat.1 $(DEST)/share/man/man1/
	install -m 644 man/kmem.3 $(DEST)/share/man/man3/
	for n in $(MAN3_LINKS); do ln -sf kmem.3 $(DEST)/share/man/man3/$$n.3 || exit 1; done
	install -m 644 man/kmem.7 $(DEST)/share/man/man7/

uninstall:
	rm -f $(addprefix $(DEST)/,$(INSTALL_FILES))
	rmdir $(DEST)/lib/cmake/kmem 2>/dev/null || true
	if [ -d $(DEST) ] && [ -z "$$(find $(DEST) ! -type d | head -n 1)" ]; then \
	    for d in $(INSTALL_DIRS); do rmdir $(DEST)/$$d 2>/dev/null || true; done; fi

# The list above, one path a line (for tests/install/run.sh).
install-list:
	@printf '%s\n' $(INSTALL_FILES)

# A Debian package of what make install puts under /usr (mk/deb.sh):
# build/deb/kmem_$(VERSION)_ARCH.deb, for `apt install ./build/deb/kmem_...deb`.
deb: lib
	rm -rf build/deb
	$(MAKE) --no-print-directory install PREFIX=/usr DESTDIR=$(CURDIR)/build/deb/root
	mk/deb.sh build/deb/root $(VERSION) build/deb

clean:
	rm -rf build
