#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# tests/dropin/real/python.sh LIBKMEM_SO [WORKDIR]
#
# Python on kmem: Debian's interpreter binary /usr/bin/python3.11 (not a
# wrapper, not a pyenv shim) runs modules of its own regression suite
# (package libpython3.11-testsuite) with PYTHONMALLOC=malloc, so that every
# object allocation goes to malloc; pass/fail per module must be the same
# on glibc and on kmem. Debian 12's package has no test_sqlite3: a script of
# the interpreter's sqlite3 module (callbacks, blobs, backup, threads)
# stands in for it. The shared part (running on glibc or kmem, the checks'
# lines, WORKDIR, default build/dropin-work/python): prelude.sh.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/dropin/real/prelude.sh
. "$here/prelude.sh"

unset PYTHONPATH PYTHONHOME PYTHONSTARTUP PYTHONUSERBASE PYTHONMALLOC \
    PYTHONDEVMODE PYTHONWARNINGS PYTHONHASHSEED

PY=/usr/bin/python3.11
# test_sqlite3 is not in Debian 12's libpython3.11-testsuite (it became a
# package in 3.11 and was left out): it is reported as skipped, and
# test_collections and test_bytes keep the count of compared modules above 15.
PY_MODULES="test_list test_dict test_set test_unicode test_json test_pickle
test_re test_gc test_weakref test_threading test_fork1 test_mmap test_zlib
test_sqlite3 test_os test_collections test_bytes"

need
# /usr/bin/python3.11 must be the ELF interpreter (a script would put a shell
# or a shim between LD_PRELOAD and the program we mean to test).
case $(od -An -c -N4 "$PY" 2>/dev/null | tr -d ' ') in
177ELF) ;;
*) die "$PY is not an ELF binary" ;;
esac

# ---- the interpreter's own regression suite --------------------------------------
#
# Each module runs in its own `python3.11 -m test MODULE` process. We do not
# parse one long regrtest log (nor use -j, whose workers would be children
# that do not report kmem statistics), because one process per module gives:
#  - the module's result from regrtest's exit status, which is stable across
#    versions (0 all passed or skipped, 2 a failure or crash, 3 environment
#    changed with --fail-env-changed, 130 interrupted); "1 test skipped:" and
#    "1 test run no tests:" in the summary tell the 0s apart;
#  - isolation: a crash of the interpreter on kmem fails that module only;
#  - kmem's statistics of exactly that module's process (KMEM_STATS_JSON at
#    its exit), which must show the malloc calls that went to kmem;
#  - a JUnit file (--junit-xml) with every test case, to name the cases whose
#    outcome differs when the module's result differs.
# The glibc and the kmem series run at the same time (2 cores).
# --timeout makes a hung test dump its stack and fail instead of hanging.

py_limit=900
py_run_side() { # SIDE
    _d=$work/$1
    mkdir -p "$_d"
    for _m in $py_present; do
        mkdir -p "$_d/$_m.tmp"
        (
            cd "$_d/$_m.tmp" || exit 1
            TMPDIR=$_d/$_m.tmp HOME=$_d/$_m.tmp PYTHONMALLOC=malloc \
                run "$1" "$_d/$_m.json" "$py_limit" \
                "$PY" -s -m test --fail-env-changed --timeout 300 \
                --junit-xml "$_d/$_m.xml" "$_m" </dev/null >"$_d/$_m.out" 2>"$_d/$_m.err"
            echo $? >"$_d/$_m.rc"
        )
    done
    # and the interpreter's sqlite3 module, outside the regression suite
    PYTHONMALLOC=malloc run "$1" "$_d/sqlite3-module.json" 300 \
        "$PY" -s "$work/sqlite3_module.py" "$_d/sqlite3-module.db" \
        </dev/null >"$_d/sqlite3-module.out" 2>"$_d/sqlite3-module.err"
    echo $? >"$_d/sqlite3-module.rc"
}

# py_result SIDE MODULE — passed, failed, skipped, no tests, env changed, ...
py_result() {
    _d=$work/$1
    _rc=$(cat "$_d/$2.rc" 2>/dev/null || echo none)
    case $_rc in
    0)
        if grep -q '^1 test skipped:' "$_d/$2.out"; then
            echo skipped
        elif grep -q '^1 test run no tests:' "$_d/$2.out"; then
            echo "no tests run"
        elif grep -q '^1 test OK\.' "$_d/$2.out"; then
            echo passed
        else
            echo "exit 0 without a result"
        fi
        ;;
    2) echo failed ;; # a failed test, or an exception outside the tests
    3) echo "environment changed" ;;
    130) echo interrupted ;;
    *) status_of "$_rc" ;; # a crash of the interpreter: killed by signal N
    esac
}

# py_why SIDE MODULE — regrtest's one-line reason, if any.
py_why() {
    grep -a -h -m1 -e "$2 skipped -- " -e "$2 failed" -e "^[A-Za-z.]*Error: " \
        "$work/$1/$2.out" "$work/$1/$2.err" 2>/dev/null |
        head -n 1 | sed 's/^[0-9:]* *load avg: [0-9.]* *//; s/^\[[^]]*\] *//'
}

# py_cases SIDE MODULE — "outcome test-id" for every test case, sorted.
py_cases() {
    [ -s "$work/$1/$2.xml" ] || return 0
    "$PY" -s -c '
import sys, xml.etree.ElementTree as ET
for c in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    kids = {k.tag for k in c}
    o = ("error" if "error" in kids else "failure" if "failure" in kids
         else "skipped" if "skipped" in kids else "ok")
    print(o, c.get("name"))
' "$work/$1/$2.xml" 2>/dev/null | sort
}

# py_count FILE OUTCOME — how many lines of a py_cases list have OUTCOME.
py_count() { grep -c "^$2 " "$1"; }

# The stand-in for test_sqlite3 (see python_checks): the interpreter's
# sqlite3 module with Python callbacks (functions, aggregates, collations),
# Row objects, blob I/O, iterdump, backup, and reader threads with their own
# connections. Prints results that must be the same on glibc and kmem.
py_sqlite3_module() {
    cat <<'PYEOF'
import hashlib, sqlite3, sys, threading

path = sys.argv[1]


class Digest:
    def __init__(self):
        self.h = hashlib.sha256()

    def step(self, v):
        self.h.update(repr(v).encode())

    def finalize(self):
        return self.h.hexdigest()[:16]


def rev_cmp(a, b):
    a, b = a[::-1], b[::-1]
    return (a > b) - (a < b)


con = sqlite3.connect(path)
print("journal", con.execute("PRAGMA journal_mode = WAL").fetchone()[0])
con.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, name TEXT, data BLOB)")
rows = ((i, (i * 7919) % 100003, "name-%07d" % ((i * 31337) % 1000003),
         bytes((i * j) & 255 for j in range(i % 97))) for i in range(1, 50001))
with con:
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
con.execute("CREATE INDEX t_k ON t(k)")
con.create_function("rev", 1, lambda s: s[::-1], deterministic=True)
con.create_aggregate("digest", 1, Digest)
con.create_collation("rev", rev_cmp)
print("count", con.execute("SELECT count(*) FROM t").fetchone()[0])
print("sums", con.execute("SELECT sum(k), sum(length(data)) FROM t").fetchone())
print("digest", con.execute("SELECT digest(name) FROM (SELECT name FROM t ORDER BY id)").fetchone())
print("rev", con.execute("SELECT rev(name) FROM t WHERE k BETWEEN 100 AND 300 ORDER BY k").fetchall())
print("collate", con.execute("SELECT name FROM t ORDER BY name COLLATE rev LIMIT 5").fetchall())
con.row_factory = sqlite3.Row
r = con.execute("SELECT * FROM t WHERE id = 4242").fetchone()
print("row", dict(r)["name"], r["k"], hashlib.sha256(r["data"]).hexdigest()[:16])
con.row_factory = None
with con.blobopen("t", "data", 96) as b:
    print("blob", len(b), hashlib.sha256(b.read()).hexdigest()[:16])
print("dump", hashlib.sha256("\n".join(con.iterdump()).encode()).hexdigest()[:16])
mem = sqlite3.connect(":memory:")
con.backup(mem)
print("backup", mem.execute("SELECT count(*), sum(k) FROM t").fetchone())
mem.close()
con.commit()

results = [None] * 4


def reader(n):
    c = sqlite3.connect(path)
    c.create_aggregate("digest", 1, Digest)
    results[n] = c.execute("SELECT digest(id * ?) FROM (SELECT id FROM t WHERE id % 4 = ? ORDER BY id)",
                           (n + 1, n)).fetchone()[0]
    c.close()


threads = [threading.Thread(target=reader, args=(n,)) for n in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("threads", results)
with con:
    con.execute("DELETE FROM t WHERE id % 3 = 0")
con.execute("VACUUM")
print("after", con.execute("SELECT count(*), sum(k) FROM t").fetchone())
print("integrity", con.execute("PRAGMA integrity_check").fetchone()[0])
con.close()
PYEOF
}

python_checks() {
    t0=$(now)
    py_sqlite3_module >"$work/sqlite3_module.py"
    # The modules the installed suite has. Debian 12's libpython3.11-testsuite
    # leaves out test/test_sqlite3/ (a package directory since 3.11), so
    # test_sqlite3 cannot run from it; the interpreter's sqlite3 module is
    # tested by sqlite3_module.py instead.
    py_present=
    py_absent=
    for m in $PY_MODULES; do
        if "$PY" -s -c 'import importlib.util, sys
sys.exit(importlib.util.find_spec("test." + sys.argv[1]) is None)' "$m" 2>/dev/null; then
            py_present="$py_present $m"
        else
            py_absent="$py_absent $m"
        fi
    done
    py_run_side glibc >"$work/glibc.log" 2>&1 &
    p_glibc=$!
    py_run_side kmem >"$work/kmem.log" 2>&1 &
    p_kmem=$!
    wait "$p_glibc"
    t_glibc=$(($(now) - t0))
    wait "$p_kmem"
    t_py=$(($(now) - t0))
    total_calls=0
    for m in $PY_MODULES; do
        case " $py_absent " in
        *" $m "*)
            if [ "$m" = test_sqlite3 ]; then
                skip "python $m: not in the installed regression suite (Debian 12's libpython3.11-testsuite does not ship test/test_sqlite3/); see 'python sqlite3 module' below"
            else
                skip "python $m: not in the installed regression suite"
            fi
            continue
            ;;
        esac
        g=$(py_result glibc "$m")
        k=$(py_result kmem "$m")
        py_cases glibc "$m" >"$work/glibc/$m.cases"
        py_cases kmem "$m" >"$work/kmem/$m.cases"
        n=$(wc -l <"$work/kmem/$m.cases")
        nskipped=$(py_count "$work/kmem/$m.cases" skipped)
        calls=$(malloc_calls "$work/kmem/$m.json")
        complaint=$(kmem_lines "$work/kmem/$m.err" "$work/kmem/$m.out")
        cases_diff=$(diff "$work/glibc/$m.cases" "$work/kmem/$m.cases" |
            grep '^[<>] \(error\|failure\)' | sed 's/^</glibc:/; s/^>/kmem:/' |
            head -n 6 | tr '\n' ';')
        # The interpreter ran its tests on kmem: then its mallocs went to kmem.
        ran=1
        case $k in passed | failed | "environment changed") ;; *) ran= ;; esac
        if [ -n "$complaint" ]; then
            fail "python $m: kmem printed: $complaint (see $work/kmem/$m.err)"
        elif [ "$g" != "$k" ]; then
            fail "python $m: $k on kmem but $g on glibc: $(py_why kmem "$m") ${cases_diff:+cases: $cases_diff}(see $work/kmem/$m.out and .err)"
        elif [ -n "$ran" ] && [ -z "$calls" ]; then
            fail "python $m: $k, but no kmem statistics from the interpreter ($work/kmem/$m.json): did it run on kmem?"
        elif [ -n "$ran" ] && [ "$calls" -lt 100000 ]; then
            fail "python $m: $k, but only $calls malloc calls reached kmem"
        elif [ "$k" = failed ] && [ -n "$cases_diff" ]; then
            fail "python $m: failed on glibc and on kmem, but not in the same cases: $cases_diff"
        elif [ "$k" = passed ]; then
            ok "python $m: passed on glibc and on kmem ($n tests, $nskipped skipped; $calls mallocs on kmem)"
            total_calls=$((total_calls + calls))
        else
            skip "python $m: $k on glibc too, not a kmem failure: $(py_why glibc "$m")"
            [ -z "$calls" ] || total_calls=$((total_calls + calls))
        fi
    done

    dg=$work/glibc
    dk=$work/kmem
    rc_g=$(cat "$dg/sqlite3-module.rc")
    rc_k=$(cat "$dk/sqlite3-module.rc")
    calls=$(malloc_calls "$dk/sqlite3-module.json")
    complaint=$(kmem_lines "$dk/sqlite3-module.err")
    if [ "$rc_g" -ne 0 ] || ! grep -qx 'count 50000' "$dg/sqlite3-module.out"; then
        fail "python sqlite3 module on glibc itself did not work ($(status_of "$rc_g")): $(tail -n 2 "$dg/sqlite3-module.err" | tr '\n' ';')"
    elif [ -n "$complaint" ]; then
        fail "python sqlite3 module: kmem printed: $complaint"
    elif [ "$rc_k" -ne 0 ]; then
        fail "python sqlite3 module on kmem: $(status_of "$rc_k"): $(tail -n 2 "$dk/sqlite3-module.err" | tr '\n' ';')"
    elif ! cmp -s "$dg/sqlite3-module.out" "$dk/sqlite3-module.out"; then
        fail "python sqlite3 module: output on kmem differs from glibc: $(diff "$dg/sqlite3-module.out" "$dk/sqlite3-module.out" | head -n 4 | tr '\n' ';')"
    elif [ -z "$calls" ] || [ "$calls" -lt 100000 ]; then
        fail "python sqlite3 module: only '${calls:-no}' malloc calls reached kmem ($dk/sqlite3-module.json)"
    else
        ok "python sqlite3 module: 50000 rows, callbacks, blobs, backup, threads: output identical on glibc and kmem ($calls mallocs on kmem)"
        total_calls=$((total_calls + calls))
    fi
    echo "     python: ${t_py}s (glibc series ${t_glibc}s, in parallel with the kmem series); $total_calls mallocs on kmem in all"
}

python_checks
finish
