#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""prometheus_check.py PROM JSON PID — parse kmemstat --prometheus output
back (the text exposition format: HELP and TYPE lines, samples
name{labels} value) and check that its figures equal the same process's
KMEM_STATS_JSON object. Exits 1 naming the first difference."""
import json
import re
import sys

prom, js, pid = open(sys.argv[1]).read(), json.load(open(sys.argv[2])), sys.argv[3]
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\} (\d+)$')
label = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
declared, values = {}, {}
for n, line in enumerate(prom.splitlines(), 1):
    if line.startswith("# HELP "):
        continue
    if line.startswith("# TYPE "):
        _, _, name, kind = line.split(" ", 3)
        assert kind in ("gauge", "counter"), (n, line)
        declared[name] = kind
        continue
    m = sample.match(line)
    assert m, "line %d does not parse: %r" % (n, line)
    name, labels, value = m.group(1), dict(label.findall(m.group(2))), int(m.group(3))
    assert name in declared, "line %d: %s has no TYPE" % (n, name)
    assert labels.get("pid") == pid and labels.get("command"), (n, labels)
    key = (name, labels.get("type") or labels.get("size"))
    assert key not in values, "line %d: %s twice" % (n, key)
    values[key] = value


def expect(key, want):
    got = values.get(key)
    assert got == want, "%s: prometheus %s, JSON %s" % (key, got, want)


for t in js["types"]:
    expect(("kmem_type_memuse_bytes", t["name"]), t["memuse"])
    expect(("kmem_type_inuse", t["name"]), t["inuse"])
    expect(("kmem_type_allocations_total", t["name"]), t["calls"])
    expect(("kmem_type_frees_total", t["name"]), t["frees"])
    expect(("kmem_type_limit_bytes", t["name"]), t["limit"])
for b in js["buckets"]:
    expect(("kmem_bucket_inuse", str(b["size"])), b["inuse"])
    expect(("kmem_bucket_requests_total", str(b["size"])), b["requests"])
expect(("kmem_inuse_bytes", None), js["utilization"]["inuse"])
expect(("kmem_required_bytes", None), js["utilization"]["required"])
print("%d samples of %d metrics, all equal to the JSON" % (len(values), len(declared)))
