#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# tests/fuzz/run.sh — the fuzzers, tests/fuzz/fuzz_NAME.c (libFuzzer), each
# with its seed corpus tests/fuzz/corpus/NAME/. The top Makefile calls it:
#
#   run.sh ready WHO    can clang link libFuzzer? If not, as root, install
#                       clang and its runtime with apt (mk/debian-packages.sh)
#                       and ask again. Exit 0 when it can; else one line
#                       saying why not, exit 1.
#   run.sh short BUILD  (make test) each fuzzer BUILD/fuzz/fuzz_NAME over its
#                       seeds, then up to FUZZ_RUNS inputs in all (default
#                       20000; 1000 for fuzz_api, whose inputs are whole
#                       programs of requests, about 50 a second), from the
#                       fixed seed KMEM_TEST_SEED (default 1, printed). What it finds goes to a scratch folder,
#                       emptied each time: make test writes nothing into the
#                       repository.
#   run.sh long BUILD   (make fuzz) each fuzzer for FUZZ_SECONDS (default
#                       600), from a random seed (printed), starting from the
#                       seeds and from build/fuzz/corpus/NAME/, where it
#                       keeps what it finds.
#
# Why the inputs a run finds stay under build/: a long run adds hundreds
# of files, most of them near-copies; the repository's seeds are a few
# chosen files (tests/fuzz/make_corpus.c writes them: make fuzz-corpus).
# An input that found a bug is added there by hand, as regress-WHAT.rec,
# with a check of the same case in tests/internal/test_record.c.
#
# A crash, a sanitizer's report, a leak, or malformed output (the fuzzer
# checks what it prints): the input is saved as build/fuzz/artifacts/
# NAME-crash-*, the end of the log shown, exit 1. Logs: build/fuzz/NAME-MODE.log.
set -u
cd "$(dirname "$0")/../.." || exit 2
mode=$1
out=build/fuzz
cc=${FUZZ_CC:-clang}

case $mode in
ready)
    who=${2:-fuzz}
    works() {
        t=$(mktemp -d "${TMPDIR:-/tmp}/kmem-fuzz-probe.XXXXXX") || return 1
        printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\n%s\n' \
            'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }' \
            >"$t/probe.c"
        "$cc" -fsanitize=fuzzer,address,undefined "$t/probe.c" -o "$t/probe" >/dev/null 2>&1
        rc=$?
        rm -rf "$t"
        return $rc
    }
    works && exit 0
    # clang, and the package of its libFuzzer runtime (Debian: libclang-rt-dev,
    # probed by the file clang says it links).
    rt=/nonexistent
    if command -v "$cc" >/dev/null 2>&1; then
        rt=$("$cc" -print-file-name="libclang_rt.fuzzer-$(uname -m).a")
        case $rt in /*) ;; *) rt=/nonexistent ;; esac
    fi
    mk/debian-packages.sh "$who" clang="$cc" libclang-rt-dev="$rt"
    works && exit 0
    echo "  skip  fuzzers: $cc cannot link libFuzzer (-fsanitize=fuzzer); as root, apt-get install clang libclang-rt-dev"
    exit 1
    ;;
short | long) build=$2 ;;
*)
    echo "usage: tests/fuzz/run.sh ready WHO | short BUILD | long BUILD" >&2
    exit 2
    ;;
esac

mkdir -p "$out/artifacts"
status=0
for src in tests/fuzz/fuzz_*.c; do
    name=${src#tests/fuzz/fuzz_}
    name=${name%.c}
    bin=$build/fuzz/fuzz_$name
    seeds=tests/fuzz/corpus/$name
    log=$out/$name-$mode.log
    nseeds=$(find "$seeds" -type f | wc -l)
    common="-max_len=16384 -timeout=10 -print_final_stats=1 -artifact_prefix=$out/artifacts/$name-"
    start=$(date +%s)
    if [ "$mode" = short ]; then
        seed=${KMEM_TEST_SEED:-1}
        case $name in api) runs=1000 ;; *) runs=20000 ;; esac
        runs=${FUZZ_RUNS:-$runs}
        scratch=$out/scratch/$name
        rm -rf "$scratch" && mkdir -p "$scratch"
        # shellcheck disable=SC2086 # $common is a list of options
        "$bin" $common -seed="$seed" -runs="$runs" "$scratch" "$seeds" >"$log" 2>&1
        rc=$?
        rm -rf "$scratch"
        what="$runs inputs from $nseeds seeds, seed $seed (KMEM_TEST_SEED)"
    else
        seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
        keep=$out/corpus/$name
        mkdir -p "$keep"
        echo "  fuzz  fuzz_$name for ${FUZZ_SECONDS:-600} s (seed $seed; log $log; corpus $keep)"
        # shellcheck disable=SC2086
        "$bin" $common -seed="$seed" -max_total_time="${FUZZ_SECONDS:-600}" "$keep" "$seeds" \
            >"$log" 2>&1
        rc=$?
        what="$(find "$keep" -type f | wc -l) inputs kept in $keep, seed $seed"
    fi
    took=$(($(date +%s) - start))
    # The last status line: "#N DONE cov: C ft: F corp: ..." (or the last
    # one printed before a crash).
    last=$(grep -aE '^#[0-9]+' "$log" | tail -n 1)
    execs=$(grep -aE '^stat::number_of_executed_units:' "$log" | awk '{ print $2 }')
    cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    if [ "$rc" -eq 0 ]; then
        printf '  ok    fuzz_%s: %s executions in %s s, cov %s ft %s (%s)\n' \
            "$name" "${execs:-?}" "$took" "${cov:-?}" "${ft:-?}" "$what"
    else
        status=1
        printf '  FAIL  fuzz_%s (exit %s after %s s; the input: %s; end of %s below)\n' \
            "$name" "$rc" "$took" "$(ls -t "$out/artifacts/$name-"* 2>/dev/null | head -n 1)" "$log"
        grep -av '^#[0-9]' "$log" | tail -n 30 | sed 's/^/        /'
    fi
done
exit $status
