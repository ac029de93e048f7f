#!/usr/bin/python3
"""Benchmark the IPMI backend's get_power_state against ipmi_sim, next to a
bare `ipmitool ... chassis power status` run in the same loop.

    /usr/bin/python3 tests/bench/ipmi/bench_ipmi.py [-n 50] [-j 1]
        [--build DIR] [--address 127.0.4.1]

Rows (each one process per call, -j loops in parallel, one BMC each):
  spawn /bin/true         fork+exec floor
  ipmitool -V             process start of ipmitool (linking, no protocol)
  bare ipmitool           -I lanplus -C 3 -E chassis power status
  bare ipmitool -v        the same with -v (what the backend runs)
  bmc_call list_actions   bmc_call's own start (config, libcurl, JSON): no BMC
  bmc_call                tests/tools/bmc_call ipmitool ... get_power_state
                          (backend + its own process start and JSON)
The protocol share is (bare ipmitool - ipmitool -V); the backend's
overhead is (bmc_call - bmc_call list_actions - bare ipmitool -v).
"""
import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "integration"))
from fixtures_ipmi import start_ipmi_sim  # noqa: E402


def timed_loop(argv_for, n, env, check):
    times = []
    for i in range(n):
        argv = argv_for(i)
        t0 = time.perf_counter()
        p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if check and (p.returncode != 0 or check not in p.stdout):
            raise SystemExit("failed: %s\n%s%s" % (argv, p.stdout, p.stderr))
    return times


def row(name, argv_for_sim, sims, n, env, check):
    results = [None] * len(sims)

    def worker(k):
        results[k] = timed_loop(lambda i: argv_for_sim(sims[k]), n, env, check)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(len(sims))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    all_t = sorted(x for r in results for x in r)
    p95 = all_t[min(len(all_t) - 1, int(len(all_t) * 0.95))]
    print("%-18s %8.1f %8.1f %8.1f %9.1f" % (
        name, statistics.mean(all_t) * 1000, statistics.median(all_t) * 1000,
        p95 * 1000, len(all_t) / wall))
    return statistics.median(all_t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=50, help="calls per loop")
    ap.add_argument("-j", type=int, default=1, help="parallel loops (one BMC each)")
    ap.add_argument("--build", default=os.environ.get("BMC_BUILD_DIR", str(REPO / "build")))
    ap.add_argument("--address", default="127.0.4.1",
                    help="first loopback address; loop k uses .k+1")
    a = ap.parse_args()
    bmc_call = pathlib.Path(a.build) / "tests" / "tools" / "bmc_call"
    if not bmc_call.exists():
        raise SystemExit("no %s: build first (make check)" % bmc_call)
    base = a.address.rsplit(".", 1)[0]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C",
           "IPMI_PASSWORD": "password", "BMC_PASSWORD": "password"}
    sims = []
    with tempfile.TemporaryDirectory(prefix="bench-ipmi-") as tmp:
        try:
            for k in range(a.j):
                sims.append(start_ipmi_sim("%s.%d" % (base, k + 1),
                                           pathlib.Path(tmp) / str(k), power=1))

            def bare(extra):
                return lambda s: (["ipmitool", "-I", "lanplus", "-H", s.host, "-p",
                                   str(s.port), "-U", "admin", "-E", "-C", "3"]
                                  + extra + ["chassis", "power", "status"])

            print("n=%d per loop, %d loop(s) in parallel, ipmi_sim on %s.1..%d"
                  % (a.n, a.j, base, a.j))
            print("%-18s %8s %8s %8s %9s" % ("", "mean ms", "p50 ms", "p95 ms", "calls/s"))
            row("spawn /bin/true", lambda s: ["/bin/true"], sims, a.n, env, None)
            start = row("ipmitool -V", lambda s: ["ipmitool", "-V"], sims, a.n, env, None)
            plain = row("bare ipmitool", bare([]), sims, a.n, env, "Chassis Power is on")
            verbose = row("bare ipmitool -v", bare(["-v"]), sims, a.n, env,
                          "Chassis Power is on")
            tool_start = row("bmc_call list_act.",
                             lambda s: [str(bmc_call), "ipmitool", s.host, str(s.port),
                                        "admin", "list_actions"],
                             sims, a.n, env, '"actions"')
            ours = row("bmc_call", lambda s: [str(bmc_call), "ipmitool", s.host, str(s.port),
                                              "admin", "get_power_state",
                                              "--cipher-suite", "3"],
                       sims, a.n, env, '"power_state":"on"')
            print("process start %.1f ms, protocol %.1f ms, -v costs %+.1f ms, "
                  "bmc_call start %.1f ms, backend overhead over bare ipmitool -v "
                  "%+.1f ms (p50)"
                  % (start * 1000, (plain - start) * 1000, (verbose - plain) * 1000,
                     tool_start * 1000, (ours - tool_start - verbose) * 1000))
        finally:
            for s in sims:
                s.stop()


if __name__ == "__main__":
    main()
