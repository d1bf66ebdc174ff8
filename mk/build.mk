# SPDX-License-Identifier: BSD-2-Clause
# mk/build.mk — builds one variant of kmem into $(O): the libraries, the
# tests and the benchmark programs. The top-level Makefile calls it once per
# variant (release, sanitizers, geometry, freestanding).
#
#   O         output folder                     (build/release)
#   GEOMETRY  quarter (four classes per doubling, the default) | pow2 (the
#             1988 power-of-two buckets)
#   SAN       "" | address | thread            sanitizer for the tests
#   CACHE     1 | 0                             per-thread caches
#   FREESTANDING  1: the core over the freestanding platform, compiled with
#             -ffreestanding, as libkmem-freestanding.a, with its own tests
#   CROSS     prefix of a cross toolchain (riscv64-unknown-elf-): CC, AR and
#             NM become $(CROSS)gcc, ar, nm; only the library is built (its
#             tests run on the host). With FREESTANDING=1 only.
#   ARCHFLAGS flags for the target machine, given to every compile and link
#             (-m32; -march=rv64gc -mabi=lp64d -mcmodel=medany)
#   UNDEFINED_OK  more symbols check-undefined lets the core need, as an
#             extended regex (rv32: the __atomic_*_8 functions the kernel gives)

include mk/version.mk

O        ?= build/release
GEOMETRY ?= quarter
SAN      ?=
CACHE    ?= 1
CC       ?= cc
AR       := ar
NM       := nm
CROSS    ?=
ARCHFLAGS ?=
ifneq ($(CROSS),)
  ifneq ($(FREESTANDING),1)
    $(error CROSS=$(CROSS) builds the freestanding core only: add FREESTANDING=1)
  endif
  CC := $(CROSS)gcc
  AR := $(CROSS)ar
  NM := $(CROSS)nm
endif

CLASSES := $(if $(filter quarter,$(GEOMETRY)),4,$(if $(filter pow2,$(GEOMETRY)),1,$(error GEOMETRY must be pow2 or quarter)))

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wpointer-arith -Wvla -Wundef -Wcast-qual -Wformat=2
OPT  := -O2 -g
ifeq ($(SAN),address)
  SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
else ifeq ($(SAN),thread)
  SANFLAGS := -fsanitize=thread
else
  SANFLAGS :=
endif

INC      := -Iinclude -I$(O)/include
# The library's own sources include each other by their path under src/.
SRCINC   := -Isrc
# EXPORT=0 builds kmem with publishing statistics off by default;
# EXPORT_DELAY_MS changes when a program starts publishing (for make
# bench's on/off comparison). A cross-built core is linked into one
# static image: no -fPIC.
EXPORT          ?= 1
EXPORT_DELAY_MS ?= 1000
# DEBUG=N builds kmem with KMEM_DEBUG's checks N (core/alloc/debug.h: 1
# junk, 2 redzone, 4 guard, 8 quarantine) on by default, for measuring
# what each costs in make bench (--also).
DEBUG           ?= 0
PICFLAG  := $(if $(CROSS),,-fPIC)
LIBFLAGS := -std=c11 $(OPT) $(WARN) $(PICFLAG) -fvisibility=hidden -DKMEM_BUILDING $(ARCHFLAGS) $(SANFLAGS) \
            $(INC) $(SRCINC) -DKMEM_EXPORT_DEFAULT=$(EXPORT) -DKMEM_EXPORT_DELAY_DEFAULT_MS=$(EXPORT_DELAY_MS)u \
            -DKMEM_DEBUG_DEFAULT=$(DEBUG)u
# Tests and benchmarks: the same warnings, GNU extensions allowed (threads,
# clock_gettime), and no hidden visibility.
APPFLAGS := -std=gnu11 $(OPT) $(WARN) -Wno-missing-prototypes $(ARCHFLAGS) $(SANFLAGS) $(INC) -Itests

# The layers, bottom up (tools/check-layers): src/platform, then
# src/core/{base,arena,bucket,tcache,type,alloc}; the front ends in
# src/front/{api,libc,freestanding}.
CORE_SRC  := $(sort $(wildcard src/core/*/*.c))
FRONT_SRC := $(sort $(wildcard src/front/api/*.c))
LIBC_SRC  := $(sort $(wildcard src/front/libc/*.c))
HEADERS   := $(wildcard include/*.h src/*/*.h src/*/*/*.h) $(O)/include/kmem_config.h

ifeq ($(FREESTANDING),1)
  # No OS headers, no thread-local storage, no C library but memcpy,
  # memset and memmove (checked by `check-undefined`).
  CACHE     := 0
  LIBFLAGS  += -ffreestanding -fno-stack-protector
  LIB_SRC   := $(CORE_SRC) $(FRONT_SRC) $(wildcard src/front/freestanding/*.c) \
               src/platform/freestanding.c
  LIBS      := $(O)/lib/libkmem-freestanding.a
  TEST_SRC  := $(if $(CROSS),,$(sort $(wildcard tests/freestanding/*.c)))
  STATIC    := $(O)/lib/libkmem-freestanding.a
else
  # libkmem-api.a: the typed API alone, the C library's malloc untouched
  # (what the tests and benchmarks link). libkmem.a and libkmem.so: also
  # the malloc family.
  LIB_SRC   := $(CORE_SRC) $(FRONT_SRC) src/platform/posix.c src/platform/posix_export.c src/platform/export_dir.c
  LIBS      := $(O)/lib/libkmem-api.a $(O)/lib/libkmem.a $(O)/lib/libkmem.so $(O)/bin/kmem-run \
               $(O)/bin/kmemstat
  # tests/api: the public interface only; tests/internal: the layers'
  # own arithmetic, compiled against src/ (-Isrc).
  TEST_SRC  := $(sort $(wildcard tests/api/*.c tests/internal/*.c))
  STATIC    := $(O)/lib/libkmem-api.a
endif
LIB_OBJ   := $(patsubst src/%.c,$(O)/obj/%.o,$(LIB_SRC))
LIBC_OBJ  := $(patsubst src/%.c,$(O)/obj/%.o,$(LIBC_SRC))
TEST_BIN  := $(patsubst tests/%.c,$(O)/tests/%,$(TEST_SRC))
# tests/export: programs that publish their statistics and read them the
# way kmemstat does (its reader compiled in); run by tests/export/run.sh.
EXPORT_TEST_SRC := $(if $(filter 1,$(FREESTANDING)),,$(sort $(wildcard tests/export/*.c)))
EXPORT_TEST_BIN := $(patsubst tests/%.c,$(O)/tests/%,$(EXPORT_TEST_SRC))
DROPIN_SRC := $(sort $(wildcard tests/dropin/*.c))
DROPIN_BIN := $(patsubst tests/%.c,$(O)/tests/%,$(DROPIN_SRC))

# bench/*.c (api_pairs.c): linked against libkmem-api.a. bench/workloads/*.c:
# plain C, run under each allocator with LD_PRELOAD (the rule at the end).
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BIN := $(patsubst bench/%.c,$(O)/bench/%,$(BENCH_SRC))
WORKLOAD_SRC := $(sort $(wildcard bench/workloads/*.c))
WORKLOAD_BIN := $(patsubst bench/%.c,$(O)/bench/%,$(WORKLOAD_SRC))

.PHONY: all lib tests benches dropin check-undefined fuzzers
all: lib tests
lib: $(LIBS)
tests: $(TEST_BIN) $(EXPORT_TEST_BIN)
benches: $(BENCH_BIN) $(WORKLOAD_BIN) $(O)/bench/baseline/libbump.so
dropin: $(DROPIN_BIN)

# The freestanding library may need nothing from outside but these, and
# the arithmetic helpers of the compiler's own runtime (libgcc: a target
# without a count-leading-zeros instruction, rv64gc, calls __clzdi2).
LIBGCC_HELPERS := __(clz|ctz|ffs|popcount|parity|bswap)[sdt]i2|__(u?div|u?mod|mul|ashl|ashr|lshr)[sdt]i3
UNDEFINED_OK ?=
check-undefined: $(STATIC)
	@$(CC) $(ARCHFLAGS) -r -nostdlib -o $(O)/combined.o $(LIB_OBJ)
	@bad=$$($(NM) -u $(O)/combined.o | awk '{ print $$NF }' | grep -vxE 'memcpy|memmove|memset|_GLOBAL_OFFSET_TABLE_|$(LIBGCC_HELPERS)$(if $(UNDEFINED_OK),|$(UNDEFINED_OK))' || true); \
	if [ -n "$$bad" ]; then echo "$(STATIC) needs symbols a freestanding core may not:" $$bad; exit 1; fi; \
	echo "$(STATIC): needs nothing from outside but memcpy, memmove, memset (and libgcc's arithmetic$(if $(UNDEFINED_OK),; and $(UNDEFINED_OK)))"

# KMEM_THREAD_CACHE may be given as 0 by a program that links
# libkmem-freestanding.a with the installed headers (which are the release's).
$(O)/include/kmem_config.h: mk/build.mk
	@mkdir -p $(@D)
	@printf '/* kmem_config.h — how this kmem was built (generated). */\n#ifndef KMEM_CONFIG_H\n#define KMEM_CONFIG_H\n#define KMEM_CLASSES_PER_DOUBLING %s\n#ifndef KMEM_THREAD_CACHE /* -DKMEM_THREAD_CACHE=0: for libkmem-freestanding.a */\n#define KMEM_THREAD_CACHE %s\n#endif\n#endif\n' $(CLASSES) $(CACHE) > $@.tmp
	@cmp -s $@.tmp $@ 2>/dev/null && rm -f $@.tmp || mv $@.tmp $@

$(O)/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(LIBFLAGS) -c $< -o $@

$(O)/lib/libkmem-api.a $(O)/lib/libkmem-freestanding.a: $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

$(O)/lib/libkmem.a: $(LIB_OBJ) $(LIBC_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# The shared library as C libraries are installed: the file libkmem.so.X.Y.Z
# (VERSION), named by its soname libkmem.so.X, which programs record, and
# libkmem.so -> libkmem.so.X for linking -lkmem and for LD_PRELOAD. What
# it exports, and under which version: mk/libkmem.map.
$(O)/lib/libkmem.so: $(LIB_OBJ) $(LIBC_OBJ) mk/libkmem.map VERSION
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,$(SO_NAME) -Wl,--version-script=mk/libkmem.map -Wl,-z,defs \
	    $(ARCHFLAGS) $(SANFLAGS) -o $(@D)/$(SO_FILE) $(LIB_OBJ) $(LIBC_OBJ) -lpthread
	ln -sf $(SO_FILE) $(@D)/$(SO_NAME)
	ln -sf $(SO_NAME) $@

# kmemstat: an ordinary program (the C library's malloc), reading other
# processes' records with the report code the library prints with.
KMEMSTAT_SRC := $(sort $(wildcard src/front/kmemstat/*.c)) src/core/report/report.c \
                src/core/base/text.c src/platform/export_dir.c
$(O)/bin/kmemstat: $(KMEMSTAT_SRC) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(OPT) $(WARN) $(ARCHFLAGS) $(SANFLAGS) $(INC) $(SRCINC) $(KMEMSTAT_SRC) -o $@ -lm

$(O)/bin/kmem-run: tools/kmem-run
	@mkdir -p $(@D)
	cp $< $@ && chmod +x $@

$(O)/tests/export/%: tests/export/%.c src/front/kmemstat/record.c $(wildcard tests/*.h) $(STATIC) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(APPFLAGS) $(SRCINC) $< src/front/kmemstat/record.c -o $@ $(STATIC) -lpthread

$(O)/tests/%: tests/%.c $(wildcard tests/*.h tests/*/*.h) $(STATIC) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(APPFLAGS) $(if $(filter tests/internal/%,$<),$(SRCINC)) $< $(TEST_EXTRA) -o $@ $(STATIC) -lpthread

# kmemstat's reader and printers are not in the library: their tests
# (tests/internal/test_record*.c) are compiled together with them (the
# report and text code they print with come from the library).
READER_SRC   := src/front/kmemstat/record.c src/front/kmemstat/show.c
READER_TESTS := $(filter $(O)/tests/internal/test_record%,$(TEST_BIN))
$(READER_TESTS): TEST_EXTRA := $(READER_SRC)
$(READER_TESTS): $(READER_SRC)

# The fuzzers, tests/fuzz/fuzz_*.c (run by tests/fuzz/run.sh for make fuzz
# and make test): clang's libFuzzer under ASan and UBSan, each compiled
# with the kmemstat sources it exercises, nothing of the library. Also
# unsigned-integer-overflow: not undefined, but a figure printed from a
# record that wrapped is a wrong number, so here it is a bug. And
# make_corpus, which writes their seeds (make fuzz-corpus), on the library.
FUZZ_CC  ?= clang
FUZZ_SRC := $(READER_SRC) src/core/report/report.c src/core/base/text.c
FUZZ_BIN := $(patsubst tests/%.c,$(O)/%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
fuzzers: $(FUZZ_BIN)

$(O)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_SRC) $(wildcard tests/*.h tests/fuzz/*.h) $(HEADERS)
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=gnu11 -O1 -g $(WARN) -Wno-missing-prototypes -fno-omit-frame-pointer \
	    -fsanitize=fuzzer,address,undefined,unsigned-integer-overflow -fno-sanitize-recover=all \
	    $(INC) $(SRCINC) -Itests $< $(FUZZ_SRC) -o $@

# fuzz_api: the typed API, with the library compiled into it from its
# sources (by clang, for the fuzzer's coverage of the core), publishing
# off, and without unsigned-integer-overflow: the core's hashes wrap by
# design. An explicit rule, so the pattern rule above does not apply.
API_FUZZ_SRC := $(CORE_SRC) $(FRONT_SRC) src/platform/posix.c src/platform/posix_export.c \
                src/platform/export_dir.c
$(O)/fuzz/fuzz_api: tests/fuzz/fuzz_api.c $(API_FUZZ_SRC) $(HEADERS)
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=gnu11 -O1 -g $(WARN) -Wno-missing-prototypes -fno-omit-frame-pointer \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -DKMEM_BUILDING \
	    -DKMEM_EXPORT_DEFAULT=0 -DKMEM_EXPORT_DELAY_DEFAULT_MS=1000u $(INC) $(SRCINC) -Itests \
	    $< $(API_FUZZ_SRC) -o $@ -lpthread

# fuzz_settings: what kmem reads from the environment, compiled from its
# sources with the harness as the platform (its getenv, its error output).
SETTINGS_FUZZ_SRC := src/core/alloc/settings.c src/core/base/parse.c src/core/base/diag.c \
                     src/core/base/text.c
$(O)/fuzz/fuzz_settings: tests/fuzz/fuzz_settings.c $(SETTINGS_FUZZ_SRC) $(HEADERS)
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=gnu11 -O1 -g $(WARN) -Wno-missing-prototypes -fno-omit-frame-pointer \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -DKMEM_BUILDING \
	    -DKMEM_EXPORT_DEFAULT=1 -DKMEM_EXPORT_DELAY_DEFAULT_MS=1000u $(INC) $(SRCINC) -Itests \
	    $< $(SETTINGS_FUZZ_SRC) -o $@

$(O)/fuzz/make_corpus: tests/fuzz/make_corpus.c $(READER_SRC) tests/records.h $(STATIC) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(APPFLAGS) $(SRCINC) $< $(READER_SRC) -o $@ $(STATIC) -lpthread

$(O)/bench/%: bench/%.c $(wildcard bench/*.h) $(STATIC) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(APPFLAGS) -Ibench $< -o $@ $(STATIC) -lpthread

# Programs run under LD_PRELOAD=libkmem.so: plain C, no kmem headers, and
# -fno-builtin so the compiler does not reason away their mallocs and frees.
$(O)/tests/dropin/%: tests/dropin/%.c tests/harness.h mk/build.mk
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wno-alloc-size-larger-than -Wno-use-after-free -Wno-free-nonheap-object -fno-builtin -Itests $< -o $@ -lpthread -ldl

# Benchmark workloads: plain C on the C library interface, run under each
# allocator with LD_PRELOAD; -fno-builtin keeps their mallocs.
$(O)/bench/workloads/%: bench/workloads/%.c $(wildcard bench/workloads/*.h) mk/build.mk
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -fno-builtin -Ibench/workloads $< -o $@ -lpthread -lm

# The bump allocator bench/run.py counts under callgrind as the baseline of
# the fastpath workload's instructions per pair (not an allocator).
$(O)/bench/baseline/libbump.so: bench/baseline/bump.c mk/build.mk
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -fPIC -shared -fvisibility=default $< -o $@
