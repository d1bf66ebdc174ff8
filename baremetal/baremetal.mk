# SPDX-License-Identifier: BSD-2-Clause
# baremetal/baremetal.mk — the bare-metal programs for qemu's RISC-V virt
# machine, linked against the freestanding core built for rv64 by
# mk/build.mk (FREESTANDING=1 CROSS=riscv64-unknown-elf-). The top-level
# Makefile's `baremetal` and `bench-bounds` targets call it; run from the
# repository's root.
#
#   CORE   the core's build folder   (build/rv64)
#   O      where the images go       (build/baremetal)

CROSS ?= riscv64-unknown-elf-
CORE  ?= build/rv64
O     ?= build/baremetal
ARCHFLAGS ?= -march=rv64gc -mabi=lp64d -mcmodel=medany
CC    := $(CROSS)gcc

WARN   := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
          -Wpointer-arith -Wvla -Wundef -Wcast-qual
CFLAGS := -std=c11 -O2 -g $(WARN) $(ARCHFLAGS) -ffreestanding -fno-stack-protector \
          -fno-asynchronous-unwind-tables -Iinclude -I$(CORE)/include -Itests -Ibaremetal
# libc.c must not have its loops turned back into calls of memcpy/memset.
LIBCFLAGS := $(CFLAGS) -fno-builtin -fno-tree-loop-distribute-patterns
LDFLAGS := $(ARCHFLAGS) -nostdlib -static -Wl,--gc-sections -Wl,--no-warn-rwx-segments -T baremetal/kernel.ld
CORELIB := $(CORE)/lib/libkmem-freestanding.a
COMMON  := $(O)/start.o $(O)/machine.o $(O)/libc.o $(O)/atomic64.o
HEADERS := $(wildcard baremetal/*.h include/*.h tests/*.h tests/freestanding/*.h)

.PHONY: all
.SECONDARY:
all: $(O)/demo.elf $(O)/bounds.elf

$(O)/%.o: baremetal/%.S
	@mkdir -p $(@D)
	$(CC) $(ARCHFLAGS) -c $< -o $@

$(O)/libc.o: baremetal/libc.c
	@mkdir -p $(@D)
	$(CC) $(LIBCFLAGS) -c $< -o $@

$(O)/%.o: baremetal/%.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(O)/%.elf: $(O)/%.o $(COMMON) $(CORELIB) baremetal/kernel.ld
	$(CC) $(LDFLAGS) -o $@ $(COMMON) $< $(CORELIB) -lgcc
