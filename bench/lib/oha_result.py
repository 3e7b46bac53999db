#!/usr/bin/env python3
"""Turns oha's JSON result into the BENCH_RESULT line wrk/graphql.lua prints, so bench/run reads
both load generators the same way. Usage: oha_result.py RESULT.json"""
import json
import sys

d = json.load(open(sys.argv[1]))
s, p = d["summary"], d["latencyPercentiles"]
codes = {int(k): v for k, v in (d.get("statusCodeDistribution") or {}).items()}
ok = sum(v for k, v in codes.items() if 200 <= k < 300)
bad = sum(v for k, v in codes.items() if not 200 <= k < 300)
# Requests still in flight when the run's time is up are aborted by oha, not failed.
errors = sum(v for k, v in (d.get("errorDistribution") or {}).items() if k != "aborted due to deadline")
us = lambda v: 0 if v is None else round(v * 1e6)
print(
    f"BENCH_RESULT requests={ok + bad} seconds={s['total']:.3f} rps={(ok + bad) / s['total']:.1f}"
    f" p50_us={us(p['p50'])} p90_us={us(p['p90'])} p99_us={us(p['p99'])} p999_us={us(p['p99.9'])}"
    f" max_us={us(s['slowest'])} mean_us={us(s['average'])} err_connect={errors} err_read=0"
    f" err_write=0 err_status={bad} err_timeout=0 gql_errors=0 checked=0"
)
