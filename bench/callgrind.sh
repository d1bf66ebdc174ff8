#!/bin/sh
# bench/callgrind.sh API_PAIRS [SIZE...] — instructions per allocate/free pair
# of each way of bench/api_pairs.c, counted by callgrind.
#
# For each way (macro, func, glibc) and size (default 64; 16, 64, 256, 1024
# or "all") the api_pairs program runs under
#   valgrind --tool=callgrind --toggle-collect=bench_<way>_<size>
# so that only the measured loop and what it calls are counted (the warm-up
# goes through a twin function, warm_<way>_<size>), once with N1 and once
# with N2 pairs. The slope (Ir(N2) - Ir(N1)) / (N2 - N1) cancels the fixed
# costs: entering the loop, and the first pass through any slow path.
#
# Environment: CALLGRIND_N1, CALLGRIND_N2 (default 100000, 200000).
# Prints a table and one line per way and size:
#   csv,callgrind,<way>,<size>,<instructions_per_pair>
# Exit status: 0; 1 if a run failed or counted nothing; 2 for a usage error
# or when valgrind is missing.
set -u

prog=${0##*/}
if [ $# -lt 1 ]; then
    echo "usage: $prog API_PAIRS [16|64|256|1024|all ...]" >&2
    exit 2
fi
bin=$1
shift
if [ ! -x "$bin" ]; then
    echo "$prog: '$bin' is not an executable (build bench/api_pairs.c first)" >&2
    exit 2
fi
if ! command -v valgrind >/dev/null 2>&1; then
    echo "$prog: valgrind not found: instruction counts need valgrind's callgrind tool" >&2
    echo "$prog: (Debian/Ubuntu: apt-get install valgrind)" >&2
    exit 2
fi

[ $# -gt 0 ] || set -- 64
sizes=
for s in "$@"; do
    case $s in
    16 | 64 | 256 | 1024) sizes="$sizes $s" ;;
    all) sizes="$sizes 16 64 256 1024" ;;
    *)
        echo "$prog: size '$s' is not one of 16, 64, 256, 1024, all" >&2
        exit 2
        ;;
    esac
done

n1=${CALLGRIND_N1:-100000}
n2=${CALLGRIND_N2:-200000}
case "$n1$n2" in
*[!0-9]*)
    echo "$prog: CALLGRIND_N1 and CALLGRIND_N2 must be numbers" >&2
    exit 2
    ;;
esac
if [ "$n2" -le "$n1" ]; then
    echo "$prog: CALLGRIND_N2 ($n2) must be larger than CALLGRIND_N1 ($n1)" >&2
    exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kmem-callgrind.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# count WAY SIZE PAIRS: print the instructions callgrind collected.
count() {
    out="$tmp/cg.$1.$2.$3"
    if ! valgrind --tool=callgrind --toggle-collect="bench_$1_$2" \
        --callgrind-out-file="$out" \
        "$bin" --only "$1" --size "$2" --pairs "$3" >"$tmp/stdout" 2>"$tmp/log"; then
        echo "$prog: valgrind failed on $bin --only $1 --size $2 --pairs $3:" >&2
        tail -n 20 "$tmp/log" >&2
        return 1
    fi
    # The totals of the events, Ir first ("totals:" in current valgrind,
    # "summary:" in older ones; both are the collected events only).
    ir=$(awk '/^totals:/ { t = $2 } /^summary:/ { s = $2 }
              END { if (t != "") print t; else if (s != "") print s }' "$out")
    if [ -z "$ir" ] || [ "$ir" -eq 0 ]; then
        echo "$prog: callgrind counted nothing in bench_$1_$2 (was the function renamed or inlined?)" >&2
        return 1
    fi
    echo "$ir"
}

label() {
    case $1 in
    macro) echo "KMEM_MALLOC/KMEM_FREE" ;;
    func) echo "kmem_malloc/kmem_free" ;;
    glibc) echo "glibc" ;;
    esac
}

status=0
for size in $sizes; do
    line=
    csv=
    for way in macro func glibc; do
        a=$(count "$way" "$size" "$n1") || { status=1; continue; }
        b=$(count "$way" "$size" "$n2") || { status=1; continue; }
        per=$(awk -v a="$a" -v b="$b" -v n1="$n1" -v n2="$n2" \
            'BEGIN { printf "%.1f", (b - a) / (n2 - n1) }')
        eval "per_$way=\$per"
        line="$line${line:+, }$(label "$way") $per"
        csv="${csv}csv,callgrind,$way,$size,$per
"
    done
    echo "callgrind instructions per pair ($size bytes, pairs $n1 and $n2): $line"
    if [ -n "${per_glibc:-}" ]; then
        for way in macro func; do
            eval "p=\${per_$way:-}"
            [ -n "$p" ] && awk -v l="$(label "$way")" -v p="$p" -v g="$per_glibc" \
                'BEGIN { printf "  %-22s %7.1f  %5.2f× glibc\n", l, p, p / g }'
        done
        printf '  %-22s %7.1f\n' "glibc malloc/free" "$per_glibc"
    fi
    printf '%s' "$csv"
    unset per_macro per_func per_glibc
done
exit $status
