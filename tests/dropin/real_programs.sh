#!/bin/sh
# tests/dropin/real_programs.sh LIBKMEM_SO [WORKDIR]
#
# Real programs run unchanged on kmem: each is run once on the C library's
# malloc (glibc) and once with LD_PRELOAD=LIBKMEM_SO, and the results must be
# the same.
#
#   python   Debian's interpreter binary /usr/bin/python3.11 (not a wrapper,
#            not a pyenv shim) runs modules of its own regression suite
#            (package libpython3.11-testsuite) with PYTHONMALLOC=malloc, so
#            that every object allocation goes to malloc; pass/fail per module
#            must be the same on glibc and on kmem. Debian 12's package has
#            no test_sqlite3: a script of the interpreter's sqlite3 module
#            (callbacks, blobs, backup, threads) stands in for it.
#   sqlite3  the CLI builds a 100,000-row table, indexes it and queries it.
#   git      a repository of ~3,000 files: add, commit, branch, merge,
#            repack, gc, fsck --full, log --stat, count-objects.
#
# Every run on kmem must also not print a "kmem:" line, and its statistics
# (KMEM_STATS_JSON) must show that its mallocs really went to kmem.
#
# Prints one line per check ("ok", "skip" for a result that is the same on
# glibc but is not a pass, e.g. a test module that fails on glibc too, and
# "FAIL" with the detail), then "N passed, N failed, N skipped", and exits 1
# if any check failed (2 on a usage or set-up error).
#
# WORKDIR (default build/dropin-work) is made anew; everything the programs
# write stays in it. Missing Debian packages are installed with apt-get when
# run as root (CI); otherwise the script names them and stops. Nothing is
# fetched when everything is present.
#
# Environment: DROPIN_ONLY="python sqlite git" (a subset to run).
set -u

usage() {
    sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
die() {
    printf 'FAIL setup: %s\n' "$*"
    exit 2
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
case $1 in -h | --help) usage ;; esac

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

lib=$1
case $lib in /*) ;; *) lib=$(pwd)/$lib ;; esac
if [ ! -f "$lib" ] || [ ! -r "$lib" ]; then die "no such library: $lib"; fi

work=${2:-$root/build/dropin-work}
case $work in /*) ;; *) work=$(pwd)/$work ;; esac
# Only ever remove a directory this script made (it leaves a marker in it).
if [ -e "$work" ]; then
    if [ -f "$work/.dropin-work" ]; then
        rm -rf "$work" || die "cannot remove the old $work"
    elif [ -n "$(ls -A "$work" 2>/dev/null)" ]; then
        die "$work exists, is not empty and was not made by this script"
    fi
fi
if ! mkdir -p "$work" || ! : >"$work/.dropin-work"; then die "cannot create $work"; fi

only=${DROPIN_ONLY:-python sqlite git}
wanted() {
    case " $only " in *" $1 "*) return 0 ;; esac
    return 1
}

# A clean, fixed environment for every program, glibc and kmem alike.
unset LD_PRELOAD KMEM_STATS KMEM_STATS_JSON KMEM_STATS_PID KMEM_LIMIT \
    PYTHONPATH PYTHONHOME PYTHONSTARTUP PYTHONUSERBASE PYTHONMALLOC \
    PYTHONDEVMODE PYTHONWARNINGS PYTHONHASHSEED \
    GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY \
    GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_CEILING_DIRECTORIES GIT_NAMESPACE \
    GIT_CONFIG GIT_CONFIG_GLOBAL GIT_CONFIG_SYSTEM GIT_CONFIG_COUNT \
    GIT_CONFIG_PARAMETERS XDG_CONFIG_HOME
LC_ALL=C.UTF-8
TZ=UTC
export LC_ALL TZ

PY=/usr/bin/python3.11
# test_sqlite3 is not in Debian 12's libpython3.11-testsuite (it became a
# package in 3.11 and was left out): it is reported as skipped, and
# test_collections and test_bytes keep the count of compared modules above 15.
PY_MODULES="test_list test_dict test_set test_unicode test_json test_pickle
test_re test_gc test_weakref test_threading test_fork1 test_mmap test_zlib
test_sqlite3 test_os test_collections test_bytes"

npass=0
nfail=0
nskip=0
ok() {
    npass=$((npass + 1))
    printf 'ok   %s\n' "$*"
}
fail() {
    nfail=$((nfail + 1))
    printf 'FAIL %s\n' "$*"
}
skip() {
    nskip=$((nskip + 1))
    printf 'skip %s\n' "$*"
}
now() { date +%s; }
t_start=$(now)

# ---- what must be installed --------------------------------------------------

# The regression suite: `import test.support` is not enough to tell, because
# Debian ships test/support, test/libregrtest and test/regrtest.py in
# libpython3.11-stdlib; the test modules themselves (test_list.py, ...) are in
# libpython3.11-testsuite. So look for a test module.
have_testsuite() {
    [ -x "$PY" ] && "$PY" -s -c 'import test.support, test.libregrtest, test.test_list' \
        >/dev/null 2>&1
}
missing=
wanted python && [ ! -x "$PY" ] && missing="$missing python3.11"
wanted python && ! have_testsuite && missing="$missing libpython3.11-testsuite"
wanted sqlite && ! command -v sqlite3 >/dev/null 2>&1 && missing="$missing sqlite3"
wanted git && ! command -v git >/dev/null 2>&1 && missing="$missing git"
command -v timeout >/dev/null 2>&1 || missing="$missing coreutils"
if [ -n "$missing" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        die "missing Debian package(s):$missing — install them with" \
            "'apt-get install --no-install-recommends$missing' (as root), or run this as root"
    fi
    echo "installing:$missing"
    # shellcheck disable=SC2086 # $missing is a list of package names
    { apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends $missing; } >"$work/apt.log" 2>&1 ||
        die "apt-get install$missing failed (see $work/apt.log)"
    if wanted python && ! have_testsuite; then
        die "libpython3.11-testsuite installed but '$PY -c \"import test.test_list\"' fails"
    fi
fi
# /usr/bin/python3.11 must be the ELF interpreter (a script would put a shell
# or a shim between LD_PRELOAD and the program we mean to test).
if wanted python; then
    case $(od -An -c -N4 "$PY" 2>/dev/null | tr -d ' ') in
    177ELF) ;;
    *) die "$PY is not an ELF binary" ;;
    esac
fi

# ---- running a program on glibc or on kmem -------------------------------------

# run SIDE JSON LIMIT CMD ARGS... — run CMD on glibc (SIDE glibc) or on kmem
# (SIDE kmem), killed after LIMIT seconds. On kmem, CMD's own statistics are
# written as JSON into JSON at its exit (KMEM_STATS_PID keeps the programs it
# starts, which run on kmem too, from writing over them). This is what
# bin/kmem-run does; it is done here so that any libkmem.so can be tested.
run() {
    _side=$1 _json=$2 _limit=$3
    shift 3
    if [ "$_side" = kmem ]; then
        timeout -k 10 "$_limit" env LD_PRELOAD="$lib" KMEM_STATS_JSON="$_json" \
            sh -c 'KMEM_STATS_PID=$$; export KMEM_STATS_PID; exec "$@"' sh "$@"
    else
        timeout -k 10 "$_limit" "$@"
    fi
}

# malloc_calls JSON — the "calls" of kmem's type "malloc" (the C library's
# malloc family) in a statistics file, or nothing.
malloc_calls() {
    [ -s "$1" ] || return 0
    tr -d '\n' <"$1" | grep -o '"name":"malloc"[^}]*' |
        sed -n 's/.*"calls":\([0-9][0-9]*\).*/\1/p' | head -n 1
}

# kmem_lines FILE... — the lines in which kmem (or the dynamic loader, about
# the preload) complains.
kmem_lines() {
    cat "$@" 2>/dev/null | grep -a -e 'kmem:' -e 'cannot be preloaded' | head -n 3
}

# status_of RC — a word for an exit status.
status_of() {
    case $1 in
    0) echo "exit 0" ;;
    124 | 137) echo "timed out" ;;
    12[89] | 1[3-9][0-9] | 2[0-9][0-9]) echo "killed by signal $(($1 - 128))" ;;
    *) echo "exit $1" ;;
    esac
}

# ---- 1. python: the interpreter's own regression suite --------------------------
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
    _d=$work/python/$1
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
        "$PY" -s "$work/python/sqlite3_module.py" "$_d/sqlite3-module.db" \
        </dev/null >"$_d/sqlite3-module.out" 2>"$_d/sqlite3-module.err"
    echo $? >"$_d/sqlite3-module.rc"
}

# py_result SIDE MODULE — passed, failed, skipped, no tests, env changed, ...
py_result() {
    _d=$work/python/$1
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
        "$work/python/$1/$2.out" "$work/python/$1/$2.err" 2>/dev/null |
        head -n 1 | sed 's/^[0-9:]* *load avg: [0-9.]* *//; s/^\[[^]]*\] *//'
}

# py_cases SIDE MODULE — "outcome test-id" for every test case, sorted.
py_cases() {
    [ -s "$work/python/$1/$2.xml" ] || return 0
    "$PY" -s -c '
import sys, xml.etree.ElementTree as ET
for c in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    kids = {k.tag for k in c}
    o = ("error" if "error" in kids else "failure" if "failure" in kids
         else "skipped" if "skipped" in kids else "ok")
    print(o, c.get("name"))
' "$work/python/$1/$2.xml" 2>/dev/null | sort
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
    mkdir -p "$work/python"
    py_sqlite3_module >"$work/python/sqlite3_module.py"
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
    py_run_side glibc >"$work/python-glibc.log" 2>&1 &
    p_glibc=$!
    py_run_side kmem >"$work/python-kmem.log" 2>&1 &
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
        py_cases glibc "$m" >"$work/python/glibc/$m.cases"
        py_cases kmem "$m" >"$work/python/kmem/$m.cases"
        n=$(wc -l <"$work/python/kmem/$m.cases")
        nskipped=$(py_count "$work/python/kmem/$m.cases" skipped)
        calls=$(malloc_calls "$work/python/kmem/$m.json")
        complaint=$(kmem_lines "$work/python/kmem/$m.err" "$work/python/kmem/$m.out")
        cases_diff=$(diff "$work/python/glibc/$m.cases" "$work/python/kmem/$m.cases" |
            grep '^[<>] \(error\|failure\)' | sed 's/^</glibc:/; s/^>/kmem:/' |
            head -n 6 | tr '\n' ';')
        # The interpreter ran its tests on kmem: then its mallocs went to kmem.
        ran=1
        case $k in passed | failed | "environment changed") ;; *) ran= ;; esac
        if [ -n "$complaint" ]; then
            fail "python $m: kmem printed: $complaint (see $work/python/kmem/$m.err)"
        elif [ "$g" != "$k" ]; then
            fail "python $m: $k on kmem but $g on glibc: $(py_why kmem "$m") ${cases_diff:+cases: $cases_diff}(see $work/python/kmem/$m.out and .err)"
        elif [ -n "$ran" ] && [ -z "$calls" ]; then
            fail "python $m: $k, but no kmem statistics from the interpreter ($work/python/kmem/$m.json): did it run on kmem?"
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

    dg=$work/python/glibc
    dk=$work/python/kmem
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

# ---- 2. sqlite3: the command-line shell ------------------------------------------

sqlite_script() {
    cat <<'EOF'
.bail on
PRAGMA page_size = 4096;
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER NOT NULL, grp TEXT NOT NULL,
               name TEXT NOT NULL, pad TEXT NOT NULL, x REAL NOT NULL);
BEGIN;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 100000)
INSERT INTO t(id, k, grp, name, pad, x)
SELECT i, (i * 7919) % 100003, 'g' || (i % 37), printf('name-%07d', (i * 31337) % 1000003),
       substr(replace(hex(zeroblob(i % 160 + 1)), '00', char(97 + i % 26)), 1, i % 300 + 1),
       (i % 1000) / 8.0
FROM seq;
COMMIT;
CREATE INDEX t_k ON t(k);
CREATE INDEX t_grp_name ON t(grp, name);
SELECT 'count', count(*) FROM t;
SELECT 'sum', sum(k), sum(length(pad)), total(x), count(DISTINCT name) FROM t;
SELECT 'group', grp, count(*), sum(k), min(name), max(name) FROM t GROUP BY grp ORDER BY grp;
EXPLAIN QUERY PLAN SELECT id FROM t WHERE k BETWEEN 5000 AND 5100;
SELECT 'range', id, k, name FROM t WHERE k BETWEEN 5000 AND 5100 ORDER BY k;
SELECT 'top', id, k, name, length(pad) FROM t ORDER BY pad DESC, k DESC LIMIT 10;
SELECT 'rank', grp, name, rn FROM
  (SELECT grp, name, row_number() OVER (PARTITION BY grp ORDER BY k DESC) AS rn FROM t)
  WHERE rn <= 2 ORDER BY grp, rn;
SELECT 'join', count(*), sum(a.k + b.k) FROM t AS a JOIN t AS b ON b.k = a.id WHERE a.id % 100 = 0;
BEGIN;
UPDATE t SET pad = pad || 'z', x = x * 2 WHERE id % 10 = 0;
DELETE FROM t WHERE id % 13 = 0;
COMMIT;
VACUUM;
SELECT 'after', count(*), sum(length(pad)), total(x) FROM t;
PRAGMA integrity_check;
EOF
}

sqlite_checks() {
    t0=$(now)
    d=$work/sqlite
    mkdir -p "$d"
    sqlite_script >"$d/script.sql"
    for side in glibc kmem; do
        rm -f "$d/$side.db"
        run "$side" "$d/$side.json" 300 sqlite3 -batch "$d/$side.db" \
            <"$d/script.sql" >"$d/$side.out" 2>"$d/$side.err"
        echo $? >"$d/$side.rc"
    done
    rc_g=$(cat "$d/glibc.rc")
    rc_k=$(cat "$d/kmem.rc")
    calls=$(malloc_calls "$d/kmem.json")
    complaint=$(kmem_lines "$d/kmem.err")
    if [ "$rc_g" -ne 0 ] || ! grep -qx 'count|100000' "$d/glibc.out"; then
        fail "sqlite3 on glibc itself did not work ($(status_of "$rc_g")): $(head -c 300 "$d/glibc.err")"
    elif [ -n "$complaint" ]; then
        fail "sqlite3: kmem printed: $complaint"
    elif [ "$rc_k" -ne 0 ]; then
        fail "sqlite3 on kmem: $(status_of "$rc_k"): $(head -c 300 "$d/kmem.err")"
    elif ! cmp -s "$d/glibc.out" "$d/kmem.out"; then
        fail "sqlite3: output on kmem differs from glibc: $(diff "$d/glibc.out" "$d/kmem.out" | head -n 4 | tr '\n' ';')"
    elif [ -z "$calls" ] || [ "$calls" -lt 10000 ]; then
        fail "sqlite3: only '${calls:-no}' malloc calls reached kmem ($d/kmem.json)"
    elif ! grep -qx 'ok' "$d/kmem.out"; then
        fail "sqlite3: integrity_check did not say ok"
    else
        ok "sqlite3: 100000 rows, index, queries: output identical on glibc and kmem ($(wc -l <"$d/kmem.out") lines; $calls mallocs on kmem; $(($(now) - t0))s)"
    fi
}

# ---- 3. git --------------------------------------------------------------------------

# git_tree DIR PASS — write (PASS 0) or change (PASS 1, 2, 3) the files of
# the work tree, deterministically: 50 directories of 60 files, and a few big
# files. Changes print "rm FILE" and "mv FILE NEW" lines for the shell to do.
git_tree() {
    awk -v top="$1" -v pass="$2" '
    function body(n, seed, lines,   l, s) {
        s = ""
        for (l = 0; l < lines; l++)
            s = s sprintf("%s %d line %d: %d %d\n", (n % 3 ? "alpha" : "omega"), n, l,
                          (n * 7919 + l * 104729 + seed) % 1000003, (l * n + seed) % 977)
        return s
    }
    BEGIN {
        for (d = 0; d < 50; d++)
            for (f = 0; f < 60; f++) {
                n = d * 60 + f
                file = sprintf("%s/dir%02d/file%03d.txt", top, d, f)
                if (pass == 0) {
                    printf "%s", body(n, 0, 5 + n % 40) > file
                    close(file)
                } else if (pass == 1) {
                    if (n % 7 == 0) { printf "%s", body(n, 1, 3) >> file; close(file) }
                    if (n % 11 == 0) { printf "%s", body(n, 11, 20) > file; close(file) }
                    if (n % 97 == 0) print "rm " file
                    else if (n % 89 == 0) print "mv " file " " file ".moved"
                } else if (pass >= 2 && n % 13 == pass) {
                    if (n % 97 == 0 || n % 89 == 0) continue
                    printf "%s", body(n, pass * 1000, 2) >> file
                    close(file)
                }
            }
        for (b = 0; b < 8; b++) {
            file = sprintf("%s/big/blob%d.txt", top, b)
            if (pass == 0 || (pass == 1 && b % 2 == 0)) {
                printf "%s", body(100000 + b, pass, 4000 + 500 * b) > file
                close(file)
            }
        }
    }'
}

# git_side SIDE — the whole git scenario on one side; every git command's
# stdout is kept in $d/NN-name.out, stderr appended to $d/stderr.
git_side() {
    side=$1
    d=$work/git/$side
    repo=$d/repo
    mkdir -p "$repo" "$d/home" "$d/stats"
    : >"$d/stderr"
    printf '[user]\n\tname = kmem\n\temail = kmem@example.invalid\n[gc]\n\tauto = 0\n[init]\n\tdefaultBranch = main\n[core]\n\tautocrlf = false\n[advice]\n\tdetachedHead = false\n' \
        >"$d/home/.gitconfig"
    i=0
    # g NAME GIT-ARGS... — one git command, on SIDE; stops the scenario on failure.
    g() {
        i=$((i + 1))
        _name=$(printf '%02d-%s' "$i" "$1")
        shift
        (cd "$repo" && HOME=$d/home GIT_CONFIG_NOSYSTEM=1 \
            run "$side" "$d/stats/$_name.json" 300 git "$@") \
            </dev/null >"$d/$_name.out" 2>>"$d/stderr"
        _rc=$?
        if [ "$_rc" -ne 0 ]; then
            echo "git $* failed: $(status_of "$_rc")" >"$d/error"
            return 1
        fi
    }
    at() { # the date of the next commit
        GIT_AUTHOR_DATE="$1 +0000"
        GIT_COMMITTER_DATE="$1 +0000"
        export GIT_AUTHOR_DATE GIT_COMMITTER_DATE
    }
    GIT_AUTHOR_NAME="A. U. Thor"
    GIT_AUTHOR_EMAIL="author@example.invalid"
    GIT_COMMITTER_NAME="C. O. Mitter"
    GIT_COMMITTER_EMAIL="committer@example.invalid"
    export GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL
    change() { # PASS — change the tree
        git_tree "$repo" "$1" | while read -r op a b; do
            case $op in
            rm) rm -f "$a" ;;
            mv) mv "$a" "$b" ;;
            esac
        done
    }
    for dd in $(seq -w 0 49); do mkdir -p "$repo/dir$dd"; done
    mkdir -p "$repo/big"
    git_tree "$repo" 0
    g init init -q &&
        g add add -A &&
        at 1000000000 && g commit commit -q -m "initial: 3000 files" &&
        change 1 && g add add -A &&
        at 1000003600 && g commit commit -q -m "change, remove and rename files" &&
        g branch checkout -q -b topic &&
        change 2 && at 1000007200 && g commit commit -q -a -m "topic work" &&
        g main checkout -q main &&
        change 3 && at 1000010800 && g commit commit -q -a -m "main work" &&
        at 1000014400 && g merge merge -q --no-edit topic &&
        g repack repack -a -d -q &&
        g gc gc -q --prune=now &&
        g fsck fsck --full --strict &&
        g log log --stat --format=fuller &&
        g rev-list rev-list --all --objects &&
        g objects cat-file --batch-all-objects --batch-check &&
        g grep -c grep.threads=2 grep -c omega HEAD &&
        g diff diff --stat HEAD~2 HEAD &&
        g archive archive --format=tar HEAD &&
        g count count-objects -v &&
        g status status --porcelain
}

git_checks() {
    t0=$(now)
    git_side glibc
    t_g=$(($(now) - t0))
    git_side kmem
    t_k=$(($(now) - t0 - t_g))
    dg=$work/git/glibc
    dk=$work/git/kmem
    if [ -f "$dg/error" ]; then
        fail "git on glibc itself did not work: $(cat "$dg/error"): $(tail -n 3 "$dg/stderr" | tr '\n' ';')"
        return
    fi
    complaint=$(kmem_lines "$dk/stderr")
    # every git command ran on kmem and reported
    nostats=
    calls=0
    for f in "$dk"/stats/*.json; do
        c=$(malloc_calls "$f")
        if [ -z "$c" ]; then
            nostats="$nostats $(basename "$f" .json)"
        else
            calls=$((calls + c))
        fi
    done
    # The deterministic outputs (commit ids, log, fsck, objects, grep, diff,
    # archive checksum, status) must be equal; count-objects too, but for the
    # size of the pack, which depends on the threads' delta search.
    differ=
    for f in "$dg"/*.out; do
        n=$(basename "$f")
        case $n in
        *-archive.out)
            [ "$(cksum <"$f")" = "$(cksum <"$dk/$n" 2>/dev/null)" ] || differ="$differ $n" ;;
        *-count.out)
            grep -v '^size-pack:' "$f" >"$dg/count.cmp"
            grep -v '^size-pack:' "$dk/$n" >"$dk/count.cmp" 2>/dev/null
            cmp -s "$dg/count.cmp" "$dk/count.cmp" || differ="$differ $n" ;;
        *) cmp -s "$f" "$dk/$n" || differ="$differ $n" ;;
        esac
    done
    fsck=$(cd "$dk" && ls ./*-fsck.out 2>/dev/null)
    head_g=$(sed -n 's/^commit \([0-9a-f]*\).*/\1/p' "$dg"/*-log.out | head -n 1)
    nfiles=$(grep -c . "$dg"/*-rev-list.out)
    if [ -n "$complaint" ]; then
        fail "git: kmem printed: $complaint (see $dk/stderr)"
    elif [ -f "$dk/error" ]; then
        fail "git on kmem: $(cat "$dk/error"): $(tail -n 3 "$dk/stderr" | tr '\n' ';')"
    elif [ -n "$differ" ]; then
        fail "git: output on kmem differs from glibc in:$differ (compare $dg and $dk)"
    elif [ -n "$fsck" ] && [ -s "$dk/$fsck" ]; then
        fail "git fsck --full reported: $(head -n 3 "$dk/$fsck" | tr '\n' ';')"
    elif [ -n "$nostats" ]; then
        fail "git: no kmem statistics from:$nostats: did git run on kmem?"
    elif [ "$calls" -lt 100000 ]; then
        fail "git: only $calls malloc calls reached kmem"
    else
        ok "git: $i commands (add, commit, merge, repack, gc, fsck --full, log, ...) identical on glibc and kmem; HEAD $head_g, $nfiles objects; $calls mallocs on kmem; ${t_g}s glibc, ${t_k}s kmem"
    fi
}

# ---- main -----------------------------------------------------------------------------

echo "real programs on $lib (work in $work)"
wanted python && python_checks
wanted sqlite && sqlite_checks
wanted git && git_checks
echo "     total: $(($(now) - t_start))s"
echo "dropin: $npass passed, $nfail failed, $nskip skipped"
[ "$nfail" -eq 0 ] || exit 1
exit 0
