"""Fleet operations (DESIGN.md "Fleet operations and callbacks"): one
POST /action/bulk or /execute/bulk for many BMCs, a parent task whose
progress comes from counters in the store, children that are ordinary
async tasks, cancel, and no child ever run twice or lost, even when the
executor or the whole service is killed mid-bulk. Every BMC is a real
HTTPS Redfish simulator address (tests/sim/redfish)."""
import json
import os
import signal
import time

import pytest
import requests

from fixtures_service import poll_task, wait_until

PASSWORD = "bulk-Pa55word"


def rf_target(sim, ip):
    return {"ip": ip, "port": sim.port, "username": "admin",
            "password": PASSWORD, "protocol": "redfish"}


def addresses(prefix, n, first=1):
    return [f"{prefix}.{i}" for i in range(first, first + n)]


def address_range(prefix, n, first=1):
    return f"{prefix}.{first}-{prefix}.{first + n - 1}"


def resets(sim, ip=None):
    return [q for q in sim.requests(ip)
            if q["method"] == "POST" and "Reset" in q["path"]]


def resets_by_address(sim):
    out = {}
    for q in resets(sim):
        out[q["address"]] = out.get(q["address"], 0) + 1
    return out


def wait_parent(svc, parent, timeout=120):
    return poll_task(svc, parent, timeout=timeout)


def all_children(svc, parent, full=True):
    kids, offset = [], 0
    while offset is not None:
        q = f"?children_offset={offset}&children_limit=1000" + \
            ("&children=full" if full else "")
        d = svc.get(f"/tasks/{parent}{q}").json()["data"]
        kids += d["children"]
        offset = d["children_next"]
    return kids


def counts_of(kids):
    c = {"queued": 0, "running": 0, "success": 0, "failed": 0}
    for k in kids:
        c[k["status"]] += 1
    c["total"] = len(kids)
    return c


def assert_counters_match(svc, parent):
    d = svc.get(f"/tasks/{parent}").json()["data"]
    kids = all_children(svc, parent)
    assert d["progress"] == counts_of(kids), (d["progress"], counts_of(kids))
    return d, kids


@pytest.fixture
def bulk_svc(service_factory):
    return service_factory({"BMC_MIN_RETRY_DELAY_SECONDS": 0.1})


# ---- submission ---------------------------------------------------------


def test_bulk_of_200_with_one_invalid_target(bulk_svc, redfish_sim):
    """199 real BMCs and one bad ip: 202 with the parent and 200 child ids in
    order; the bad one is a failed 4001 child, the others run once each;
    the parent ends failed "1 of 200 children failed"."""
    sim = redfish_sim(profile="dmtf", addresses=address_range("127.0.3", 199),
                      users=[f"admin:{PASSWORD}:Administrator"],
                      initial_power="On")
    ips = addresses("127.0.3", 199)
    targets = [rf_target(sim, ip) for ip in ips]
    targets.insert(57, dict(rf_target(sim, "x"), ip="not-an-ip"))
    r = bulk_svc.post("/action/bulk", {"targets": targets, "action": "off"})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["success"] is True and body["method"] == "run_action"
    parent, kids = body["task_id"], body["children"]
    assert len(kids) == 200 and len(set(kids)) == 200 and parent not in kids
    bad = bulk_svc.get(f"/tasks/{kids[57]}").json()["data"]
    assert bad["status"] == "failed" and bad["error_code"] == 4001, bad
    assert bad["parent"] == parent and bad["ip"] == "not-an-ip"
    t = wait_parent(bulk_svc, parent)
    assert t["status"] == "failed" and t["error_code"] == 3001, t
    assert t["details"] == "1 of 200 children failed", t
    d, full = assert_counters_match(bulk_svc, parent)
    assert d["progress"] == {"total": 200, "queued": 0, "running": 0,
                             "success": 199, "failed": 1}
    assert [k["task_id"] for k in full] == kids
    assert [k["ip"] for k in full[:57] + full[58:]] == ips
    assert all(k["parent"] == parent for k in full)
    assert resets_by_address(sim) == {ip: 1 for ip in ips}
    assert PASSWORD not in json.dumps(full) + bulk_svc.log()


@pytest.mark.valgrind
def test_every_child_succeeds_and_children_page(bulk_svc, redfish_sim):
    sim = redfish_sim(profile="dmtf", addresses=address_range("127.0.4", 30),
                      users=[f"admin:{PASSWORD}:Administrator"])
    defaults = {"port": sim.port, "username": "admin", "password": PASSWORD,
                "protocol": "redfish"}
    targets = [{"ip": ip} for ip in addresses("127.0.4", 30)]
    r = bulk_svc.post("/execute/bulk", dict(defaults, targets=targets,
                                            method="get_power_state"))
    assert r.status_code == 202, r.text
    parent, kids = r.json()["task_id"], r.json()["children"]
    t = wait_parent(bulk_svc, parent)
    assert t["status"] == "success" and t["data"]["progress"]["success"] == 30
    page = bulk_svc.get(f"/tasks/{parent}?children_offset=10&children_limit=7").json()
    assert page["data"]["children"] == kids[10:17]
    assert page["data"]["children_next"] == 17
    last = bulk_svc.get(f"/tasks/{parent}?children_offset=25&children_limit=100").json()
    assert last["data"]["children"] == kids[25:] and last["data"]["children_next"] is None
    full = bulk_svc.get(f"/tasks/{parent}?children=full&children_limit=2").json()
    assert [c["task_id"] for c in full["data"]["children"]] == kids[:2]
    assert full["data"]["children"][0]["result"]["data"]["power_state"] in ("On", "Off")
    for q in ("children_offset=-1", "children_limit=10001", "children=some",
              "children_limit=x"):
        bad = bulk_svc.get(f"/tasks/{parent}?{q}")
        assert bad.status_code == 400 and bad.json()["error_code"] == 2002, q


def test_duplicate_bmc_children_never_overlap(service_factory, redfish_sim):
    """One BMC listed three times is three children run one after the other
    (BMC_MAX_PER_BMC would let two meet): their run times never overlap."""
    svc = service_factory({"BMC_MAX_PER_BMC": 4})
    sim = redfish_sim(profile="dmtf", addresses="127.0.5.1-127.0.5.2",
                      users=[f"admin:{PASSWORD}:Administrator"],
                      latency_ms=300)
    t1, t2 = rf_target(sim, "127.0.5.1"), rf_target(sim, "127.0.5.2")
    r = svc.post("/action/bulk", {"targets": [t1, t2, t1, dict(t1), t2],
                                  "action": "reset"})
    assert r.status_code == 202, r.text
    kids = r.json()["children"]
    wait_parent(svc, r.json()["task_id"])
    tasks = [svc.get(f"/tasks/{k}").json()["data"] for k in kids]
    assert all(t["status"] == "success" for t in tasks), tasks
    for group in ([0, 2, 3], [1, 4]):
        spans = sorted((tasks[i]["started_at"], tasks[i]["completed_at"])
                       for i in group)
        for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
            assert e1 <= s2, spans
    assert len(resets(sim, "127.0.5.1")) == 3 and len(resets(sim, "127.0.5.2")) == 2


def test_whole_call_refusals_create_nothing(bulk_svc, redfish_sim):
    sim = redfish_sim(profile="dmtf", users=[f"admin:{PASSWORD}:Administrator"])
    one = [rf_target(sim, "127.0.0.1")]
    cases = [
        ({"action": "on"}, 400, 2002),
        ({"action": "on", "targets": []}, 400, 2002),
        ({"action": "on", "targets": {"ip": "127.0.0.1"}}, 400, 2002),
        ({"action": "on", "targets": ["127.0.0.1"]}, 400, 2002),
        ({"action": "on", "targets": one * 10001}, 400, 2002),
        ({"targets": one}, 400, 2002),
        ({"action": "on", "targets": one, "retry_times": 0}, 400, 2002),
    ]
    before = bulk_svc.get("/health").json()["data"]
    for body, status, code in cases:
        r = bulk_svc.post("/action/bulk", body)
        assert (r.status_code, r.json()["error_code"]) == (status, code), (body, r.text)
        assert "targets" in r.json()["details"] or "targets" in body, r.text
    r = bulk_svc.post("/execute/bulk", {"targets": one, "method": "no_such"})
    assert r.json()["error_code"] == 2001, r.text
    r = requests.post(bulk_svc.url + "/action/bulk", data="{not json",
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error_code"] == 4006
    assert resets(sim) == []
    assert bulk_svc.get("/health").json()["data"].get("active_tasks") == \
        before.get("active_tasks")


def test_bulk_bodies_up_to_4_mib(bulk_svc, redfish_sim):
    """A bulk takes a body far beyond the 64 KiB of other routes (nginx and
    the worker agree); beyond 4 MiB: 413 4130 before anything runs."""
    sim = redfish_sim(profile="dmtf", addresses=address_range("127.0.6", 250),
                      users=[f"admin:{PASSWORD}:Administrator"])
    pad = "x" * 300
    targets = [dict(rf_target(sim, ip), note=pad) for ip in addresses("127.0.6", 250)]
    body = {"targets": targets, "method": "get_power_state"}
    assert len(json.dumps(body)) > 65536
    r = bulk_svc.post("/execute/bulk", body)
    assert r.status_code == 202, r.text
    assert wait_parent(bulk_svc, r.json()["task_id"])["status"] == "success"
    big = {"targets": [dict(rf_target(sim, "127.0.6.1"), note="y" * 5000)] * 900,
           "method": "get_power_state"}
    assert len(json.dumps(big)) > 4 * 1024 * 1024
    r = bulk_svc.post("/execute/bulk", big)
    assert r.status_code == 413 and r.json()["error_code"] == 4130, r.text
    small = bulk_svc.post("/action/async", dict(rf_target(sim, "127.0.6.1"),
                                                action="on", note="z" * 70000))
    assert small.status_code == 413


@pytest.mark.slow  # behaviour/timing; not run in the sanitizer pass
def test_thousand_targets_each_run_exactly_once(service_factory, redfish_sim):
    """1,000 BMCs in one call: each gets its power-off exactly once. (A
    connection that times out before anything was sent is retried: one
    simulator process on 2 shared cores is slower to accept 64 new TLS
    connections at once than a rack of BMCs.)"""
    svc = service_factory({"BMC_MAX_ASYNC_TASKS": 64,
                           "BMC_MIN_RETRY_DELAY_SECONDS": 0.1})
    sim = redfish_sim(profile="dmtf", addresses=address_range("127.1.0", 250)
                      + "," + address_range("127.1.1", 250) + ","
                      + address_range("127.1.2", 250) + ","
                      + address_range("127.1.3", 250),
                      users=[f"admin:{PASSWORD}:Administrator"],
                      initial_power="On")
    ips = [ip for p in ("127.1.0", "127.1.1", "127.1.2", "127.1.3")
           for ip in addresses(p, 250)]
    r = svc.post("/action/bulk", {"targets": [rf_target(sim, ip) for ip in ips],
                                  "action": "off", "retry_times": 3, "delay": 0.2})
    assert r.status_code == 202, r.text
    assert len(r.json()["children"]) == 1000
    t = wait_parent(svc, r.json()["task_id"], timeout=300)
    if t["status"] != "success":
        bad = [k for k in all_children(svc, t["task_id"]) if k["status"] != "success"]
        pytest.fail(f"{t['details']}: {[(k['error_code'], k['details']) for k in bad[:5]]}")
    assert resets_by_address(sim) == {ip: 1 for ip in ips}


# ---- cancel -------------------------------------------------------------


def test_cancel_mid_way(service_factory, redfish_sim):
    """Two at a time, 20 slow BMCs: cancel moves every queued child to
    failed 3004 "cancelled before it started"; the running ones finish;
    no cancelled child reaches its BMC."""
    svc = service_factory({"BMC_MAX_ASYNC_TASKS": 2})
    sim = redfish_sim(profile="dmtf", addresses=address_range("127.0.7", 20),
                      users=[f"admin:{PASSWORD}:Administrator"],
                      latency_ms=400, initial_power="On")
    r = svc.post("/action/bulk", {"action": "off", "targets": [
        rf_target(sim, ip) for ip in addresses("127.0.7", 20)]})
    assert r.status_code == 202, r.text
    parent, kids = r.json()["task_id"], r.json()["children"]
    wait_until(lambda: svc.get(f"/tasks/{parent}").json()["data"]["progress"]
               ["running"] > 0, timeout=30, what="a running child")
    c = requests.post(f"{svc.url}/tasks/{parent}/cancel", timeout=30)
    assert c.status_code == 200, c.text
    cancelled = c.json()["cancelled"]
    assert 10 <= cancelled <= 18, c.text
    assert c.json()["data"]["progress"]["queued"] == 0
    t = wait_parent(svc, parent)
    assert t["status"] == "failed"
    assert t["details"] == f"{cancelled} of 20 children failed"
    d, full = assert_counters_match(svc, parent)
    gone = [k for k in full if k.get("error_code") == 3004]
    assert len(gone) == cancelled
    assert all(k["details"] == "cancelled before it started" and
               k["started_at"] is None for k in gone), gone
    ran = {k["ip"] for k in full if k["status"] == "success"}
    assert len(ran) == 20 - cancelled
    assert set(resets_by_address(sim)) == ran
    again = requests.post(f"{svc.url}/tasks/{parent}/cancel", json={}, timeout=30)
    assert again.status_code == 200 and again.json()["cancelled"] == 0


def test_cancel_single_task_and_unknown(service_factory, redfish_sim):
    svc = service_factory({"BMC_MAX_ASYNC_TASKS": 1})
    sim = redfish_sim(profile="dmtf", users=[f"admin:{PASSWORD}:Administrator"],
                      latency_ms=1000, initial_power="Off")
    first = svc.post("/action/async", dict(rf_target(sim, "127.0.0.1"), action="on"))
    second = svc.post("/action/async", dict(rf_target(sim, "127.0.0.1"), action="off"))
    sid = second.json()["task_id"]
    c = requests.post(f"{svc.url}/tasks/{sid}/cancel", timeout=30)
    assert c.status_code == 200 and c.json()["cancelled"] == 1, c.text
    assert c.json()["data"]["status"] == "failed"
    assert c.json()["data"]["error_code"] == 3004
    assert poll_task(svc, first.json()["task_id"])["status"] == "success"
    time.sleep(0.5)
    assert len(resets(sim)) == 1  # the cancelled "off" never reached the BMC
    unknown = requests.post(f"{svc.url}/tasks/0190c3a2-1b2c-7d3e-8f07-0123456789ab/cancel",
                            timeout=30)
    assert unknown.status_code == 404 and unknown.json()["error_code"] == 3005
    get = requests.get(f"{svc.url}/tasks/{sid}/cancel", timeout=30)
    assert get.status_code == 405


# ---- kills ----------------------------------------------------------------


def kill_mid_bulk(svc, sim, n, kill):
    ips = addresses("127.0.8", n)
    r = svc.post("/action/bulk", {"action": "off", "targets": [
        rf_target(sim, ip) for ip in ips]})
    assert r.status_code == 202, r.text
    parent = r.json()["task_id"]
    wait_until(lambda: svc.get(f"/tasks/{parent}").json()["data"]["progress"]
               ["success"] >= 3, timeout=60, what="children done")
    kill()
    t = wait_parent(svc, parent, timeout=120)
    assert t["status"] == "failed", t
    d, full = assert_counters_match(svc, parent)
    assert d["progress"]["queued"] == d["progress"]["running"] == 0
    done = {k["ip"] for k in full if k["status"] == "success"}
    assert d["progress"]["success"] == len(done) < n
    assert all(v == 1 for v in resets_by_address(sim).values())
    assert done <= set(resets_by_address(sim))
    return full


def test_executor_sigkill_mid_bulk(service_factory, redfish_sim):
    svc = service_factory({"BMC_MAX_ASYNC_TASKS": 4})
    sim = redfish_sim(profile="dmtf", addresses=address_range("127.0.8", 60),
                      users=[f"admin:{PASSWORD}:Administrator"],
                      latency_ms=200, initial_power="On")
    ex = svc.child_pids("executor")
    assert len(ex) == 1
    full = kill_mid_bulk(svc, sim, 60, lambda: os.kill(ex[0], signal.SIGKILL))
    failed = [k for k in full if k["status"] == "failed"]
    assert failed and all(k["error_code"] == 3001 for k in failed), failed
    # the replacement executor takes new work
    wait_until(lambda: svc.child_pids("executor") not in ([], ex), timeout=30,
               what="a new executor")
    r = svc.post("/action/async", dict(rf_target(sim, "127.0.8.1"), action="on"))
    assert poll_task(svc, r.json()["task_id"])["status"] == "success"


def test_whole_service_sigkill_mid_bulk(service_factory, redfish_sim, tmp_path):
    state = tmp_path / "state"
    svc = service_factory({"BMC_MAX_ASYNC_TASKS": 4}, state_dir=state)
    sim = redfish_sim(profile="dmtf", addresses=address_range("127.0.8", 60),
                      users=[f"admin:{PASSWORD}:Administrator"],
                      latency_ms=200, initial_power="On")
    ips = addresses("127.0.8", 60)
    r = svc.post("/action/bulk", {"action": "off", "targets": [
        rf_target(sim, ip) for ip in ips]})
    parent = r.json()["task_id"]
    wait_until(lambda: svc.get(f"/tasks/{parent}").json()["data"]["progress"]
               ["success"] >= 3, timeout=60, what="children done")
    pids = [svc.daemon.pid] + svc.child_pids()
    for p in pids:
        os.kill(p, signal.SIGKILL)
    svc.daemon.wait(10)
    wait_until(lambda: not any(os.path.exists(f"/proc/{p}") for p in pids),
               timeout=10, what="every process gone")
    svc.start_daemon()
    t = wait_parent(svc, parent)
    assert t["status"] == "failed"
    d, full = assert_counters_match(svc, parent)
    assert d["progress"]["queued"] == d["progress"]["running"] == 0
    assert 3 <= d["progress"]["success"] < 60
    assert all(v == 1 for v in resets_by_address(sim).values())
    restarted = [k for k in full if k["status"] == "failed"]
    assert all(k["error_code"] == 3001 for k in restarted), restarted
