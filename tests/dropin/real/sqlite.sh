#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# tests/dropin/real/sqlite.sh LIBKMEM_SO [WORKDIR]
#
# The sqlite3 command-line shell on kmem: it builds a 100,000-row table,
# indexes it, queries, updates, vacuums and checks it; the output must be
# the same on glibc and on kmem. The shared part (running on glibc or kmem,
# the checks' lines, WORKDIR, default build/dropin-work/sqlite): prelude.sh.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/dropin/real/prelude.sh
. "$here/prelude.sh"
need

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
    d=$work
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

sqlite_checks
finish
