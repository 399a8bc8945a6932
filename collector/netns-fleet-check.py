#!/usr/bin/env python3
"""The fleet test's verdict: every report id an agent logged as spooled is in the registry's reports
table exactly once, under that agent's host, and nothing else is; heartbeats (stored without
`decoded`) included; every spool empty, nothing rejected. Usage: netns-fleet-check.py TMP AGENTS KILLS"""
import glob, json, os, re, sqlite3, sys

tmp, agents, kills = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
spooled = re.compile(r"INFO spooled (heartbeat|report) ([0-9a-f-]{36}) ")
failures = []

def check(ok, what):
    if not ok:
        print("FAIL " + what)
        failures.append(what)

db = sqlite3.connect(f"file:{tmp}/registry.sqlite?mode=ro", uri=True)
rows = db.execute("""SELECT r.report_id, h.hostname, r.collected_at, r.payload FROM reports r JOIN hosts h ON h.id = r.host_id""").fetchall()
stored = {}
for report_id, hostname, _, payload in rows:
    stored.setdefault(report_id, []).append((hostname, '"decoded"' in payload))
dupes = [i for i, where in stored.items() if len(where) > 1]
check(not dupes and len(rows) == len(stored), f"duplicate report ids in the registry: {dupes[:5]}")

serve = open(f"{tmp}/logs/serve.log", encoding="utf-8").read()
starts = serve.count("listening on")
check(starts == kills + 1, f"registry started {starts} times, expected {kills + 1}")

claimed = set()
for i in range(1, agents + 1):
    log = open(f"{tmp}/logs/agent-{i}.log", encoding="utf-8").read()
    conf = open(f"{tmp}/a{i}/collector.conf", encoding="utf-8").read()
    host = re.search(r"^hostname = (.+)$", conf, re.M).group(1)
    generated = {m.group(2): m.group(1) for m in spooled.finditer(log)}
    beats = [i for i, kind in generated.items() if kind == "heartbeat"]
    mine = {rid for rid, where in stored.items() if where[0][0] == host}
    claimed |= mine
    missing, extra = set(generated) - mine, mine - set(generated)
    bare = [rid for rid in beats if rid in stored and not stored[rid][0][1]]
    refused = len(re.findall(r"WARN r-\d+-", log))  # Delivery: one WARN per failed send
    last_seen, newest = db.execute("""SELECT h.last_seen, MAX(r.collected_at) FROM hosts h JOIN reports r ON r.host_id = h.id
                                      WHERE h.hostname = ?""", (host,)).fetchone()
    print(f"agent {i} {host}: generated {len(generated)} ({len(generated) - len(beats)} full, {len(beats)} heartbeats), "
          f"stored {len(mine & set(generated))}, missing {len(missing)}, unexpected {len(extra)}, "
          f"heartbeats stored without decoded {len(bare)}, failed sends {refused}")
    check(not missing, f"agent {i}: {len(missing)} reports never arrived: {sorted(missing)[:3]}")
    check(not extra, f"agent {i}: {len(extra)} stored reports it never logged: {sorted(extra)[:3]}")
    check(len(beats) > 0 and len(bare) == len(beats), f"agent {i}: heartbeats {len(beats)}, stored as heartbeats {len(bare)}")
    check(len(generated) > len(beats) > 0, f"agent {i}: expected full reports and heartbeats")
    check(refused > 0, f"agent {i}: never saw the registry down")
    check(last_seen == newest, f"agent {i}: last_seen {last_seen} is not its newest report {newest}")
    check("ERROR" not in log, f"agent {i}: logged an ERROR")
    check(not glob.glob(f"{tmp}/a{i}/spool/r-*.json"), f"agent {i}: spool not empty")
    check(not os.listdir(f"{tmp}/a{i}/spool/rejected"), f"agent {i}: reports rejected")
    if i == 1:
        full = len(generated) - len(beats)
        check(full >= 2, f"agent 1 changed while the registry was down: expected 2+ full reports, got {full}")

check(claimed == set(stored), f"{len(set(stored) - claimed)} stored reports belong to no agent")

def report_schema():
    """api/openapi.yaml's Report as JSON Schema: nullable made a type, no undocumented members, and its
    references to other component schemas (e.g. ReportLabels) inlined, since it is validated on its own."""
    import yaml
    spec = yaml.safe_load(open(os.path.join(os.path.dirname(__file__), "../api/openapi.yaml"), encoding="utf-8"))
    def conv(s):
        if isinstance(s, list): return [conv(x) for x in s]
        if not isinstance(s, dict): return s
        ref = s.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            return conv(spec["components"]["schemas"][ref.rsplit("/", 1)[1]])
        s = {k: conv(v) for k, v in s.items()}
        if s.pop("nullable", False) and "type" in s: s["type"] = [s["type"], "null"]
        if s.get("type") == "object" and "properties" in s: s.setdefault("additionalProperties", False)
        return s
    return conv(spec["components"]["schemas"]["Report"])

try:
    import jsonschema
    validator = jsonschema.Draft202012Validator(report_schema())
    bad = [(r[0], e.message[:120]) for r in rows for e in validator.iter_errors(json.loads(r[3]))]
    check(not bad, f"stored reports that do not match api/openapi.yaml's Report: {bad[:3]}")
    print(f"schema: {len(rows)} stored reports match api/openapi.yaml's Report (no undocumented members)")
except ImportError:
    print("schema: not checked (python3 jsonschema/yaml missing; schemathesis brings both)")
print(f"registry: {len(rows)} reports stored, {len(set(stored))} distinct ids, {starts} starts ({kills} SIGKILLs)")
if failures:
    sys.exit(f"netns fleet check: {len(failures)} failures")
print("netns fleet check: every report each agent generated is stored exactly once; none lost")
