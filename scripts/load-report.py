#!/usr/bin/env python3
"""`make bench`, the load test's report (scripts/load.sh): medians of alternating rounds of
GET /health, GET /hello, GET /health, and the dev server's CPU per request.

Usage: load-report.py NON2XX REQUESTS CONCURRENCY ROUNDS "RPS:CPU_US ..." x3 (open, guard, again)
"""
import os, statistics, sys
bad, n, c, rounds = sys.argv[1:5]
def parse(arg):
    runs = [x.split(":") for x in arg.split()]
    return [float(r) for r, _ in runs], [float(u) for _, u in runs]
opens, open_cpu = parse(sys.argv[5])
guards, guard_cpu = parse(sys.argv[6])
agains, again_cpu = parse(sys.argv[7])
med = statistics.median
o, g, a = med(opens), med(guards), med(agains)
health = med(opens + agains)
oc, gc = med(open_cpu + again_cpu), med(guard_cpu)
# Per round: the guard against the mean of the /health runs either side of it.
per_round = [100 * (1 - gr / ((x + y) / 2)) for x, gr, y in zip(opens, guards, agains)]
q1, _, q3 = statistics.quantiles(per_round, n=4)
ttl = os.environ.get("AUTHORIZER_CACHE_TTL", "300")
cache = f"authorizer answers cached {ttl} s as deployed" if ttl != "0" else "no authorizer cache: every request verified"
print(f"load (ab, {n} requests per run, {rounds} rounds of /health, /hello, /health, {c} connections, keep-alive, loopback; medians; {cache})")
print(f"  GET /health (no authorizer)   {health:9.0f} req/s   (first runs {o:.0f}, second runs {a:.0f})")
print(f"  GET /hello  (authorizer)      {g:9.0f} req/s")
print(f"  guard cost: {100 * (1 - g / health):.1f}% of throughput (goal <= 10%); per round, median {med(per_round):.1f}%, "
      f"middle half {q1:.1f}% to {q3:.1f}%; non-2xx on /hello: {bad}")
print(f"  same route twice (/health, second runs vs first): {100 * (1 - a / o):+.1f}%: the noise between identical measurements")
print(f"  dev server CPU per request: /health {oc:.0f} us, /hello {gc:.0f} us: the guard adds {gc - oc:.0f} us = {100 * (gc / oc - 1):.1f}%")
