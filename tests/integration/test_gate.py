"""The per-BMC gate end to end: real nginx + bmc-managerd against the HTTPS
Redfish simulator. The simulator logs each request's arrival time before
it sleeps its latency, so a request is in flight at the BMC at least over
[time, time + latency): overlaps of those intervals count what the BMC saw
at once. Limit per BMC, power actions alone, different BMCs in parallel,
a killed worker's slot reclaimed, deadline while waiting -> 3002, and the
gate in /health and /metrics."""
import concurrent.futures
import os
import signal
import threading
import time

import pytest

from fixtures_service import poll_task, wait_until

PASSWORD = "s3cret-Pa55word"
JSON = {"Accept": "application/json"}  # /metrics as the envelope
EPS = 0.005  # the simulator's times are rounded to the millisecond


def creds(sim, host=None, **kw):
    body = {"ip": host or sim.host, "port": sim.port, "username": "admin",
            "password": PASSWORD, "protocol": "redfish"}
    body.update(kw)
    return body


def max_overlap(entries, latency):
    """Most requests in flight at once, each over [time, time + latency)."""
    events = []
    for e in entries:
        events.append((e["time"], 1))
        events.append((e["time"] + latency - EPS, -1))
    events.sort(key=lambda ev: (ev[0], ev[1]))
    most = now = 0
    for _, d in events:
        now += d
        most = max(most, now)
    return most


def exclusive_violations(entries, latency):
    """Pairs where another request overlapped a reset POST at the BMC."""
    posts = [e for e in entries if e["method"] == "POST" and "Reset" in e["path"]]
    bad = []
    for p in posts:
        for o in entries:
            if o is not p and abs(o["time"] - p["time"]) < latency - EPS:
                bad.append((p["path"], p["time"], o["method"], o["path"], o["time"]))
    return bad


def gate_health(svc):
    return svc.get("/health").json()["data"]["bmc_gate"]


@pytest.fixture
def fleet(redfish_sim):
    """Ten simulated BMCs, 127.0.1.1-127.0.1.10, 300 ms per request."""
    return redfish_sim(profile="dmtf", addresses="127.0.1.1-127.0.1.10",
                       users=[f"admin:{PASSWORD}:Administrator"],
                       latency_ms=300, transition_seconds=0)


@pytest.fixture
def svc(service_factory):
    return service_factory({"BMC_MAX_WORKERS": 10, "BMC_MAX_PER_BMC": 2,
                            "BMC_TIMEOUT": 60, "BMC_LOG_LEVEL": "INFO"})


def run_parallel(fn, args):
    with concurrent.futures.ThreadPoolExecutor(len(args)) as pool:
        return list(pool.map(fn, args))


@pytest.mark.valgrind
def test_health_and_metrics_show_the_gate(svc):
    g = gate_health(svc)
    assert g == {"max_per_bmc": 2, "slots_in_use": 0, "waiting": 0, "bmcs_busy": 0}
    body = svc.get("/health").json()
    keys = list(body["data"])
    assert keys.index("bmc_gate") > keys.index("config")  # after the guide's keys
    m = svc.get("/metrics", headers=JSON).json()["data"]
    for k in ("gate_max_per_bmc", "gate_slots_in_use", "gate_waiting",
              "gate_waits_total", "gate_timeouts_total", "gate_reclaimed_total"):
        assert k in m, k
    assert m["gate_max_per_bmc"] == 2


def test_ten_sync_calls_one_bmc_never_more_than_two(svc, fleet):
    host = fleet.addresses[0]
    fleet.reset_stats()
    start = time.monotonic()
    seen = []

    def watch(stop):  # the gate's own view while it is busy
        while not stop.is_set():
            seen.append(gate_health(svc))
            time.sleep(0.1)

    stop = threading.Event()
    watcher = threading.Thread(target=watch, args=(stop,))
    watcher.start()
    try:
        results = run_parallel(lambda _: svc.post("/power-state", creds(fleet, host)),
                               range(10))
    finally:
        stop.set()
        watcher.join()
    took = time.monotonic() - start
    for r in results:
        assert r.status_code == 200, r.text
        assert r.json()["success"] is True
    log = fleet.requests(host)
    per_call = len(log) / 10
    assert max_overlap(log, 0.3) == 2, "the BMC saw more (or less) than 2 at once"
    # serialised two at a time: the whole took at least half the work
    assert took >= len(log) * 0.3 / 2 - 0.1
    assert max(s["slots_in_use"] for s in seen) <= 2
    assert max(s["waiting"] for s in seen) >= 1
    assert "event=gate_waited" in svc.log()
    # first come, first served per call: calls end spread out, not all at once
    assert per_call >= 2
    after = gate_health(svc)
    assert after["slots_in_use"] == 0 and after["waiting"] == 0


@pytest.mark.slow  # behaviour/timing; not run in the sanitizer pass
def test_thirty_callers_one_bmc_and_a_second_bmc_at_normal_speed(svc, fleet):
    """30 calls at once (20 async, 10 sync) on one BMC: never more than 2
    requests in flight there, all succeed; meanwhile a call to another BMC
    takes its unloaded time."""
    busy, other = fleet.addresses[0], fleet.addresses[1]
    fleet.control({"latency_ms": 100})
    t0 = time.monotonic()
    assert svc.post("/power-state", creds(fleet, other)).status_code == 200
    baseline = time.monotonic() - t0
    fleet.reset_stats()

    task_ids = []
    for _ in range(20):
        r = svc.post("/execute/async", creds(fleet, busy, method="get_power_state"))
        assert r.status_code == 202, r.text
        task_ids.append(r.json()["task_id"])
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        syncs = [pool.submit(svc.post, "/power-state", creds(fleet, busy))
                 for _ in range(9)]
        wait_until(lambda: gate_health(svc)["waiting"] >= 5, timeout=10,
                   what="callers queued on the busy BMC")
        t0 = time.monotonic()
        probe = svc.post("/power-state", creds(fleet, other))
        probe_took = time.monotonic() - t0
        assert probe.status_code == 200 and probe.json()["success"] is True
        assert gate_health(svc)["waiting"] >= 1  # still saturated meanwhile
        syncs.append(pool.submit(svc.post, "/power-state", creds(fleet, busy)))
        for f in syncs:
            r = f.result()
            assert r.status_code == 200 and r.json()["success"] is True, r.text
    for tid in task_ids:
        t = poll_task(svc, tid, timeout=120)
        assert t["status"] == "success", t
    assert probe_took < baseline + 0.5, (probe_took, baseline)
    log = fleet.requests(busy)
    assert max_overlap(log, 0.1) <= 2
    assert max_overlap(log, 0.1) == 2
    assert max_overlap(fleet.requests(other), 0.1) == 1


def test_ten_bmcs_run_in_parallel(svc, fleet):
    fleet.reset_stats()
    waits_before = svc.get("/metrics", headers=JSON).json()["data"]["gate_waits_total"]
    t0 = time.monotonic()
    results = run_parallel(lambda h: svc.post("/power-state", creds(fleet, h)),
                           fleet.addresses)
    took = time.monotonic() - t0
    for r in results:
        assert r.status_code == 200 and r.json()["success"] is True, r.text
    log = fleet.requests()
    per_call = len(log) / 10
    assert max_overlap(log, 0.3) >= 8  # all (or nearly all: 2 cores) at once
    assert took < per_call * 0.3 * 3, took  # far from 10 calls in series
    assert svc.get("/metrics", headers=JSON).json()["data"]["gate_waits_total"] == waits_before


def test_on_and_off_at_once_never_overlap(svc, fleet):
    host = fleet.addresses[2]
    fleet.reset_stats()
    # resets always POST; on/off may find the state already reached
    bodies = [creds(fleet, host, action=a) for a in ("reset", "off", "reset", "on")]
    bodies += [creds(fleet, host)] * 4  # readers around the resets
    paths = ["/action"] * 4 + ["/power-state"] * 4
    results = run_parallel(lambda pb: svc.post(pb[0], pb[1]), list(zip(paths, bodies)))
    for r in results:
        assert r.status_code == 200, r.text
        assert r.json()["success"] is True, r.text
    log = fleet.requests(host)
    posts = [e for e in log if e["method"] == "POST"]
    assert len(posts) >= 2
    assert exclusive_violations(log, 0.3) == []
    assert max_overlap(log, 0.3) <= 2


def test_killed_worker_slot_is_reclaimed(service_factory, fleet):
    svc = service_factory({"BMC_MAX_WORKERS": 2, "BMC_MAX_PER_BMC": 1,
                           "BMC_TIMEOUT": 30})
    host = fleet.addresses[3]
    fleet.control({"address": host, "fault": "hang"})
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        stuck = pool.submit(svc.post, "/power-state", creds(fleet, host))
        wait_until(lambda: gate_health(svc)["slots_in_use"] == 1, timeout=10,
                   what="a worker holding the slot")
        for pid in svc.child_pids("bmc"):
            os.kill(pid, signal.SIGKILL)
        t0 = time.monotonic()
        wait_until(lambda: gate_health(svc)["slots_in_use"] == 0, timeout=5,
                   what="the dead worker's slot reclaimed")
        reclaimed_after = time.monotonic() - t0
        stuck.result()  # nginx answers for the killed worker; not ours to judge
    assert reclaimed_after < 3
    assert svc.get("/metrics", headers=JSON).json()["data"]["gate_reclaimed_total"] >= 1
    assert "event=gate_reclaimed" in svc.log()
    fleet.control({"address": host, "fault": None})
    wait_until(lambda: len(svc.child_pids("bmc")) == 2, what="workers respawned")
    t0 = time.monotonic()
    r = svc.post("/power-state", creds(fleet, host))
    assert r.status_code == 200 and r.json()["success"] is True, r.text
    assert time.monotonic() - t0 < 10


@pytest.mark.slow  # behaviour/timing; not run in the sanitizer pass
def test_deadline_while_waiting_answers_3002(service_factory, fleet):
    """A call whose retry comes while a later call holds the only slot:
    its deadline passes in the queue (the later call's deadline is later,
    so with FIFO this is the one way a queued caller runs out of time)."""
    svc = service_factory({"BMC_MAX_WORKERS": 3, "BMC_MAX_PER_BMC": 1,
                           "BMC_TIMEOUT": 3, "BMC_MIN_RETRY_DELAY_SECONDS": 0.1})
    host = fleet.addresses[4]
    fleet.control({"address": host, "fault": "http500", "latency_ms": 0})
    fleet.reset_stats()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        # attempt 1 fails at once (500 -> 1005, transient), attempt 2 at +2 s
        waiter = pool.submit(svc.post, "/execute",
                             creds(fleet, host, method="get_power_state",
                                   params={}, retry_times=2, delay=2.0))
        wait_until(lambda: len(fleet.requests(host)) >= 1, timeout=5,
                   what="the first attempt")
        fleet.control({"address": host, "fault": "hang"})
        holder = pool.submit(svc.post, "/power-state", creds(fleet, host))
        wait_until(lambda: gate_health(svc)["slots_in_use"] == 1, timeout=2,
                   what="the later call holding the slot")
        r = waiter.result()
        holder.result()
    assert r.status_code == 500, r.text
    body = r.json()
    assert body["success"] is False
    assert body["error_code"] == 3002, body
    assert body["message"] == "Method execution timed out"
    assert body["details"].startswith("waited "), body["details"]
    assert "s for a slot on %s:%d (redfish): 1 in flight" % (host, fleet.port) \
        in body["details"], body["details"]
    assert svc.get("/metrics", headers=JSON).json()["data"]["gate_timeouts_total"] >= 1
    assert "outcome=timeout" in svc.log()
