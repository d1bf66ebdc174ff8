#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# tests/dropin/real/git.sh LIBKMEM_SO [WORKDIR]
#
# git on kmem: a repository of ~3,000 files: add, commit, branch, merge,
# repack, gc, fsck --full, log --stat, count-objects, ...; every output that
# does not depend on timing must be the same on glibc and on kmem. The
# shared part (running on glibc or kmem, the checks' lines, WORKDIR, default
# build/dropin-work/git): prelude.sh.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/dropin/real/prelude.sh
. "$here/prelude.sh"

unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY \
    GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_CEILING_DIRECTORIES GIT_NAMESPACE \
    GIT_CONFIG GIT_CONFIG_GLOBAL GIT_CONFIG_SYSTEM GIT_CONFIG_COUNT \
    GIT_CONFIG_PARAMETERS XDG_CONFIG_HOME
need

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
    d=$work/$side
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
    dg=$work/glibc
    dk=$work/kmem
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

git_checks
finish
