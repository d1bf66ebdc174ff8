#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# tests/export/run.sh BUILD_DIR — the statistics a program publishes and
# kmemstat, which reads them from outside: consistency under threads, the
# figures against the program's own, kmemstat's listing, tables, JSON,
# Prometheus output and interactive view (in tmux), the record's
# permissions, what becomes of records of killed, exec'ing and reused
# processes, KMEM_EXPORT=0, short-lived programs, and clear messages for
# processes that are not on kmem, not the user's, or gone. Every check runs
# against a private export directory. Prints a line per check; exits 1 if
# any failed.
set -u
dir=$1
bin=$(cd "$dir" && pwd)
lib=$bin/lib/libkmem.so
kmemstat=$bin/bin/kmemstat
tests=$bin/tests/export
work=$bin/export-work
rm -rf "$work" && mkdir -p "$work/records" && chmod 700 "$work/records"
KMEM_EXPORT_DIR=$work/records
export KMEM_EXPORT_DIR
pass=0
fail=0
failed=""

ok() { pass=$((pass + 1)); printf '  ok    %s\n' "$1"; }
bad() {
    fail=$((fail + 1))
    failed="$failed [$1]"
    printf '  FAIL  %s\n' "$1"
    [ -n "${2:-}" ] && [ -f "$2" ] && tail -n 30 "$2" | sed 's/^/        /'
}
check() { # check NAME LOG COMMAND...: ok when the command succeeds
    name=$1
    log=$2
    shift 2
    if "$@" >"$log" 2>&1; then ok "$name"; else bad "$name" "$log"; fi
}
records() { ls "$KMEM_EXPORT_DIR" 2>/dev/null | grep -c '\.kmem$'; }
# Wait (up to 10 s) for process $1's record.
wait_record() {
    i=0
    while [ ! -f "$KMEM_EXPORT_DIR/$1.kmem" ] && [ $i -lt 200 ]; do
        sleep 0.05
        i=$((i + 1))
    done
    [ -f "$KMEM_EXPORT_DIR/$1.kmem" ]
}

# 1. Consistency while 4 threads run, then exact figures; 64 threads; 1100 types.
for mode in threads many-threads many-types; do
    check "published figures, $mode: every snapshot whole and adding up, exact when quiet" \
        "$work/consistency-$mode.log" timeout 300 "$tests/consistency" "$mode"
done
grep -h 'reader:' "$work/consistency-threads.log" | sed 's/^/        /'

# 2. A scripted program, read with kmemstat while it waits.
mkfifo "$work/hold"
KMEM_BACKGROUND=off KMEM_EXPORT_DELAY_MS=0 KMEM_EXPORT_HZ=50 \
    "$tests/scripted" "$work/own.txt" "$work/own.json" <"$work/hold" >"$work/scripted.out" 2>&1 &
spid=$!
exec 9>"$work/hold" # keeps its standard input open until closed below
i=0
while ! grep -q '^ready' "$work/scripted.out" 2>/dev/null && [ $i -lt 200 ]; do
    sleep 0.05
    i=$((i + 1))
done
if grep -q "^ready $spid" "$work/scripted.out"; then
    "$kmemstat" "$spid" >"$work/kmemstat.txt" 2>&1
    if cmp -s "$work/own.txt" "$work/kmemstat.txt"; then
        ok "kmemstat PID: the tables the program prints itself ($(wc -l <"$work/own.txt") lines)"
    else
        diff "$work/own.txt" "$work/kmemstat.txt" >"$work/tables.diff"
        bad "kmemstat PID differs from the program's kmem_stats_print (< own, > kmemstat)" \
            "$work/tables.diff"
    fi
    "$kmemstat" --json "$spid" >"$work/kmemstat.json" 2>&1
    if cmp -s "$work/own.json" "$work/kmemstat.json" &&
        python3 -m json.tool "$work/kmemstat.json" >/dev/null 2>&1; then
        ok "kmemstat --json PID: the program's own KMEM_STATS_JSON object, valid JSON"
    else
        diff "$work/own.json" "$work/kmemstat.json" >"$work/json.diff"
        bad "kmemstat --json PID differs from the program's own" "$work/json.diff"
    fi
    "$kmemstat" >"$work/list.txt" 2>&1
    if grep -Eq "^ +$spid +scripted .* +4 +[0-9.]+s ago$" "$work/list.txt" &&
        head -n 1 "$work/list.txt" | grep -q 'PID  COMMAND.*IN USE.*HELD.*TYPES'; then
        ok "kmemstat: lists the process (pid, command, in use, held, types)"
    else
        bad "kmemstat listing" "$work/list.txt"
    fi
    "$kmemstat" --json >"$work/list.json" 2>&1
    check "kmemstat --json: the listing as JSON" "$work/list-json.log" python3 -c "
import json, sys
procs = json.load(open(sys.argv[1]))
p = [x for x in procs if x['pid'] == int(sys.argv[2])]
assert len(p) == 1 and p[0]['types'] == 4 and p[0]['inuse'] > 0, procs
" "$work/list.json" "$spid"
    "$kmemstat" --prometheus "$spid" >"$work/prom.txt" 2>&1
    check "kmemstat --prometheus PID: every line parses, figures equal the JSON's" \
        "$work/prom.log" python3 "$(dirname "$0")/prometheus_check.py" "$work/prom.txt" \
        "$work/own.json" "$spid"
    # Permissions.
    mode_dir=$(stat -c %a "$KMEM_EXPORT_DIR")
    mode_file=$(stat -c %a "$KMEM_EXPORT_DIR/$spid.kmem")
    if [ "$mode_dir" = 700 ] && [ "$mode_file" = 600 ]; then
        ok "the record is readable by its owner only (file 600, folder 700)"
    else
        echo "folder $mode_dir, file $mode_file" >"$work/modes.log"
        bad "permissions of the record" "$work/modes.log"
    fi
    # The interactive view, in a real terminal.
    if command -v tmux >/dev/null 2>&1; then
        sock=$work/tmux.sock
        tmux -S "$sock" new-session -d -x 150 -y 45 "$kmemstat -w 0.2 $spid"
        sleep 1
        tmux -S "$sock" send-keys -t 0 n
        sleep 0.6
        tmux -S "$sock" capture-pane -p -t 0 >"$work/watch-name.txt"
        tmux -S "$sock" send-keys -t 0 m
        sleep 0.6
        tmux -S "$sock" capture-pane -p -t 0 >"$work/watch-memuse.txt"
        tmux -S "$sock" send-keys -t 0 q
        sleep 0.6
        alive=no
        tmux -S "$sock" has-session 2>/dev/null && alive=yes
        tmux -S "$sock" kill-server 2>/dev/null
        order_name=$(grep -Eo '^(kmem|namei|pcb|socket) ' "$work/watch-name.txt" | tr -d ' \n')
        order_mem=$(grep -Eo '^(kmem|namei|pcb|socket) ' "$work/watch-memuse.txt" | tr -d ' \n')
        if grep -q "^kmemstat: pid $spid" "$work/watch-name.txt" &&
            grep -q "(now n)" "$work/watch-name.txt" && grep -q "(now m)" "$work/watch-memuse.txt" &&
            [ "$order_name" = kmemnameipcbsocket ] && [ "$order_mem" = kmemnameisocketpcb ] &&
            [ "$alive" = no ]; then
            ok "kmemstat -w in tmux: header, sorted by name (n) and by memuse (m), q quits"
        else
            { echo "by name: $order_name; by memuse: $order_mem; still running after q: $alive";
              cat "$work/watch-memuse.txt"; } >"$work/watch.log"
            bad "kmemstat -w in tmux" "$work/watch.log"
        fi
    else
        echo "  skip  kmemstat -w in tmux (tmux is not installed)"
    fi
    # Another user's process: kmemstat as nobody, asking about this one.
    if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
        setpriv --reuid=65534 --regid=65534 --clear-groups env KMEM_EXPORT_DIR=/nonexistent \
            "$kmemstat" "$spid" >"$work/notyours.log" 2>&1
        rc=$?
        if [ $rc = 1 ] && grep -q "belongs to another user" "$work/notyours.log"; then
            ok "another user's process: a clear message"
        else
            bad "another user's process (exit $rc)" "$work/notyours.log"
        fi
    else
        echo "  skip  another user's process (needs root and setpriv)"
    fi
else
    bad "the scripted program did not publish" "$work/scripted.out"
fi
exec 9>&-
wait "$spid"
if [ ! -f "$KMEM_EXPORT_DIR/$spid.kmem" ]; then
    ok "the record is removed when the program exits"
else
    bad "the record outlived its program"
fi

# 3. Processes that end without removing their record, and pids reused.
KMEM_EXPORT_DELAY_MS=0 LD_PRELOAD=$lib sleep 30 &
kpid=$!
if wait_record "$kpid"; then
    kill -9 "$kpid"
    wait "$kpid" 2>/dev/null
    "$kmemstat" >"$work/killed.log" 2>&1
    if grep -q "removed .*/$kpid.kmem: its process has ended" "$work/killed.log" &&
        [ ! -f "$KMEM_EXPORT_DIR/$kpid.kmem" ]; then
        ok "a program killed with SIGKILL: kmemstat removes its record, and says so"
    else
        bad "record of a killed program" "$work/killed.log"
    fi
else
    bad "sleep on kmem did not publish"
    kill -9 "$kpid" 2>/dev/null
fi
# A pid now used by another program: a record whose start time is not its.
sleep 30 &
opid=$!
python3 "$(dirname "$0")/forge_record.py" "$KMEM_EXPORT_DIR/$opid.kmem" "$opid" 12345
"$kmemstat" "$opid" >"$work/reused.log" 2>&1
rc=$?
if [ $rc = 1 ] && grep -q "earlier process with the same pid" "$work/reused.log" &&
    grep -q "publishes no statistics" "$work/reused.log" && [ ! -f "$KMEM_EXPORT_DIR/$opid.kmem" ]; then
    ok "a pid reused by another program: the old record is removed, not shown"
else
    bad "pid reused (exit $rc)" "$work/reused.log"
fi
kill "$opid" 2>/dev/null
# A program on kmem that then runs exec into one that is not.
KMEM_EXPORT_DELAY_MS=0 LD_PRELOAD=$lib sh -c 'sleep 0.5; unset LD_PRELOAD; exec sleep 30' &
epid=$!
if wait_record "$epid"; then
    sleep 1
    "$kmemstat" "$epid" >"$work/exec.log" 2>&1
    rc=$?
    if [ $rc = 1 ] && grep -q "no longer has it" "$work/exec.log" &&
        [ ! -f "$KMEM_EXPORT_DIR/$epid.kmem" ]; then
        ok "a program that ran exec: its old record is removed, not shown"
    else
        bad "record after exec (exit $rc)" "$work/exec.log"
    fi
else
    bad "sh on kmem did not publish"
fi
kill "$epid" 2>/dev/null

# A vfork() child's _exit (the library's) leaves the parent's record alone.
KMEM_EXPORT_DELAY_MS=0 LD_PRELOAD=$lib "$bin/tests/dropin/vforker" 2 >"$work/vforker.out" 2>&1 &
vpid=$!
i=0
while ! grep -q vforked "$work/vforker.out" 2>/dev/null && [ $i -lt 100 ]; do
    sleep 0.05
    i=$((i + 1))
done
sleep 0.3
first=$("$kmemstat" --json 2>/dev/null | python3 -c "
import json, sys
print([p['publishes'] for p in json.load(sys.stdin) if p['pid'] == $vpid][0])" 2>/dev/null)
sleep 0.8
second=$("$kmemstat" --json 2>/dev/null | python3 -c "
import json, sys
print([p['publishes'] for p in json.load(sys.stdin) if p['pid'] == $vpid][0])" 2>/dev/null)
wait "$vpid"
if [ -n "$first" ] && [ -n "$second" ] && [ "$second" -gt "$first" ]; then
    ok "after a vfork() child's _exit, the parent goes on publishing (copy $first, then $second)"
else
    echo "copies: '${first}' then '${second}'" >"$work/vfork.log"
    bad "publishing after a vfork() child's _exit" "$work/vfork.log"
fi

# 4. Nothing published when asked not to, nor by short-lived programs.
before=$(records)
KMEM_EXPORT=0 KMEM_EXPORT_DELAY_MS=0 LD_PRELOAD=$lib sh -c 'sleep 1.2' &
npid=$!
sleep 0.8
seen=$(records)
wait "$npid"
if [ "$seen" = "$before" ]; then
    ok "KMEM_EXPORT=0: nothing published"
else
    bad "KMEM_EXPORT=0 published a record"
fi
before=$(records)
LD_PRELOAD=$lib sh -c 'i=0; while [ $i -lt 40 ]; do i=$((i+1)); ls / >/dev/null; done' &
qpid=$!
seen_any=no
while kill -0 "$qpid" 2>/dev/null; do
    [ "$(records)" != "$before" ] && seen_any=yes
    sleep 0.02
done
wait "$qpid"
if [ "$seen_any" = no ] && [ "$(records)" = "$before" ]; then
    ok "a program that ends within its first second leaves nothing behind"
else
    bad "a short-lived program published"
fi

# 4b. Programs whose thread caches serve every request after their first
# milliseconds: no slow path after the first second to start publishing.
# With threads of its own, one is started for it; alone, it stays alone
# (a thread of kmem's would cost it the C library's single-threaded
# shortcuts and unshare(2)) unless KMEM_BACKGROUND=on; kmemstat says so.
LD_PRELOAD=$lib "$tests/steady" 2 4 >"$work/steady2.log" 2>&1 &
spid=$!
if wait_record "$spid" && "$kmemstat" "$spid" >"$work/steady2.txt" 2>&1 &&
    grep -q "Memory statistics by bucket size" "$work/steady2.txt"; then
    ok "a program with threads that its caches serve alone publishes all the same"
else
    bad "a program with threads served by their caches published nothing" "$work/steady2.txt"
fi
wait "$spid" || bad "steady 2 4 failed" "$work/steady2.log"
LD_PRELOAD=$lib "$tests/steady" 1 2 >"$work/steady1.log" 2>&1 &
spid=$!
sleep 1.4
tasks=$(ls "/proc/$spid/task" 2>/dev/null | wc -l)
"$kmemstat" "$spid" >"$work/steady1.txt" 2>&1
rc=$?
wait "$spid" || bad "steady 1 2 failed" "$work/steady1.log"
if [ "$tasks" = 1 ] && [ $rc = 1 ] && grep -q "runs on libkmem.so but has published no" "$work/steady1.txt"; then
    ok "one thread served by its cache alone: still one thread, and kmemstat says why nothing is published"
else
    bad "single-threaded steady program: $tasks threads, kmemstat rc $rc" "$work/steady1.txt"
fi
KMEM_BACKGROUND=on LD_PRELOAD=$lib "$tests/steady" 1 4 >"$work/steady1on.log" 2>&1 &
spid=$!
if wait_record "$spid"; then
    ok "the same with KMEM_BACKGROUND=on publishes"
else
    bad "KMEM_BACKGROUND=on: the steady program published nothing" "$work/steady1on.log"
fi
wait "$spid" || bad "steady 1 4 failed" "$work/steady1on.log"

# 5. Clear messages.
"$kmemstat" 999999999 >"$work/nopid.log" 2>&1
rc1=$?
"$kmemstat" $$ >"$work/notkmem.log" 2>&1
rc2=$?
"$kmemstat" --bogus >"$work/usage.log" 2>&1
rc3=$?
"$kmemstat" -w 0 1 >>"$work/usage.log" 2>&1
rc4=$?
if [ $rc1 = 1 ] && grep -q "no process 999999999" "$work/nopid.log" &&
    [ $rc2 = 1 ] && grep -q "publishes no statistics" "$work/notkmem.log" &&
    [ $rc3 = 2 ] && [ $rc4 = 2 ] && grep -q "usage: kmemstat" "$work/usage.log"; then
    ok "a pid that is gone, a process not on kmem, bad arguments: clear messages"
else
    cat "$work/nopid.log" "$work/notkmem.log" "$work/usage.log" >"$work/messages.log"
    bad "messages ($rc1 $rc2 $rc3 $rc4)" "$work/messages.log"
fi

printf 'export: %d passed, %d failed\n' "$pass" "$fail"
[ "$fail" -eq 0 ] || { echo "failed:$failed"; exit 1; }
