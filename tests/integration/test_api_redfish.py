"""The guide's API end to end over Redfish: real nginx + bmc-managerd
against the HTTPS Redfish simulator. Sync and async, tasks, retries,
deadline, wait_for_state, every 1xxx/2xxx code, queue-full, executor kill,
restart survival, and no password in the store."""
import concurrent.futures
import os
import signal
import time
import uuid

import pytest
import requests

from fixtures_service import poll_task, wait_until

PASSWORD = "s3cret-Pa55word"


def creds(sim, **kw):
    body = {"ip": sim.host, "port": sim.port, "username": "admin",
            "password": PASSWORD, "protocol": "redfish"}
    body.update(kw)
    return body


@pytest.fixture
def bmc(redfish_sim):
    return redfish_sim(profile="dmtf", users=[f"admin:{PASSWORD}:Administrator",
                                              "viewer:viewpass:ReadOnly"],
                       transition_seconds=0.3, initial_power="Off")


@pytest.fixture
def svc(service_factory):
    return service_factory({"BMC_POWER_STATE_POLL_INTERVAL": 0.2,
                            "BMC_MIN_RETRY_DELAY_SECONDS": 0.1})


def power_of(sim):
    (state,) = sim.state().values()
    (power,) = state["power"].values()
    return power


def ok_envelope(r, method):
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True, body
    assert body["message"] == "Method executed successfully"
    assert body["method"] == method
    uuid.UUID(body["task_id"])
    return body


# ---- the guide's curl examples ----------------------------------------------

@pytest.mark.valgrind
def test_guide_convenience_endpoints(svc, bmc):
    ok_envelope(svc.post("/validate", creds(bmc)), "validate_connection")
    body = ok_envelope(svc.post("/validate", creds(bmc)), "validate_connection")
    assert body["data"] == {"ok": True}
    users = ok_envelope(svc.post("/list-users", creds(bmc)), "list_users")
    names = {u["name"] for u in users["data"]["users"]}
    assert {"admin", "viewer"} <= names
    for u in users["data"]["users"]:
        assert {"id", "name", "role", "enabled"} <= set(u)
    actions = ok_envelope(svc.post("/list-actions", creds(bmc)), "list_actions")
    assert {"on", "off", "cycle"} <= set(actions["data"]["actions"])
    assert "ForceOff" in actions["data"]["actions"]
    ps = ok_envelope(svc.post("/power-state", creds(bmc)), "get_power_state")
    assert ps["data"]["power_state"] in ("On", "Off", "PoweringOn", "PoweringOff")


@pytest.mark.valgrind
def test_guide_action_examples(svc, bmc):
    r = svc.post("/action", creds(bmc, action="on", delay=5.0, retry_times=3))
    body = ok_envelope(r, "run_action")
    assert body["data"]["message"] == "Command Accepted (204)"
    wait_until(lambda: power_of(bmc) == "On", what="power on")
    r = svc.post("/action", creds(bmc, action="off"))
    ok_envelope(r, "run_action")
    r = svc.post("/action", creds(bmc, action="cycle"))
    ok_envelope(r, "run_action")
    r = svc.post("/action", creds(bmc, action="on", wait_for_state_seconds=10))
    data = ok_envelope(r, "run_action")["data"]
    assert data["power_state"] == "On" and data["power_state_stable"] is True


@pytest.mark.valgrind
def test_guide_execute_examples(svc, bmc):
    r = svc.post("/execute", creds(bmc, method="validate_connection", params={}))
    assert ok_envelope(r, "validate_connection")["data"] == {"ok": True}
    r = svc.post("/execute", creds(bmc, method="run_action",
                                   params={"action_name": "on"}))
    ok_envelope(r, "run_action")
    r = svc.post("/execute", creds(bmc, method="get_fw_version"))
    data = ok_envelope(r, "get_fw_version")["data"]
    assert data["fw_version"] and "bios_version" in data


def test_async_action_and_task_status(svc, bmc):
    r = svc.post("/action/async", creds(bmc, action="on", delay=5.0, retry_times=3))
    assert r.status_code == 202
    body = r.json()
    assert body == {"success": True, "message": "Task started in background",
                    "method": "run_action", "task_id": body["task_id"]}
    t = poll_task(svc, body["task_id"])
    assert t["success"] is True and t["method"] == "get_task_status"
    assert t["message"] == "Task status retrieved"
    assert t["status"] == "success" and t["data"]["status"] == "success"
    assert t["data"]["method"] == "run_action"
    assert t["data"]["ip"] == bmc.host
    assert t["result"]["success"] is True
    assert t["result"]["message"] == "Method executed successfully"
    assert t["result"]["data"]["message"].startswith("Command Accepted")
    assert t["completed_at"] >= t["started_at"]
    assert abs(t["duration"] - (t["completed_at"] - t["started_at"])) < 0.002


def test_execute_async_and_sync_tasks_are_refetchable(svc, bmc):
    r = svc.post("/execute/async", creds(bmc, method="get_power_state"))
    assert r.status_code == 202
    t = poll_task(svc, r.json()["task_id"])
    assert t["status"] == "success"
    assert t["result"]["data"]["power_state"]
    sync = svc.post("/power-state", creds(bmc)).json()
    t = svc.get(f"/tasks/{sync['task_id']}").json()
    assert t["status"] == "success"
    assert t["result"]["data"] == sync["data"]


# The guide's Python and curl examples themselves run in test_guide.py.


# ---- codes ------------------------------------------------------------------

def test_auto_validation_failures(svc, redfish_sim):
    good = redfish_sim(users=[f"admin:{PASSWORD}:Administrator"])
    r = svc.post("/action", creds(good, action="on", password="nope"))
    body = r.json()
    assert r.status_code == 401 and body["error_code"] == 1004
    assert body["message"] == "HTTP Unauthorized" and body["task_id"]
    assert "nope" not in r.text
    # nothing listening on that port: 1002
    r = svc.post("/power-state", creds(good, port=1))
    assert r.status_code == 500 and r.json()["error_code"] == 1002
    tls = redfish_sim(fault="tls_fail", users=[f"admin:{PASSWORD}:Administrator"])
    r = svc.post("/power-state", creds(tls))
    assert r.json()["error_code"] == 1003, r.text
    err = redfish_sim(fault="http500", users=[f"admin:{PASSWORD}:Administrator"])
    r = svc.post("/power-state", creds(err))
    body = r.json()
    assert body["error_code"] == 1005 and "500" in body["details"]
    # the action was never attempted after a failed validation
    assert not [q for q in good.requests() if q["method"] == "POST"]


def test_read_only_role_is_authentication_failed(svc, bmc):
    r = svc.post("/action", creds(bmc, username="viewer", password="viewpass",
                                  action="on"))
    body = r.json()
    assert r.status_code == 401 and body["error_code"] == 1004
    assert body["message"] == "Authentication failed"


@pytest.mark.parametrize("method,params,code", [
    ("no_such_method", {}, 2001),
    ("run_action", {}, 2002),
    ("run_action", {"action_name": 5}, 2002),
    ("get_power_state", {"bogus": 1}, 2002),
    ("password", {}, 2003),
    ("ip", {}, 2003),
    ("_private", {}, 2004),
    ("__init__", {}, 2004),
])
def test_method_errors(svc, bmc, method, params, code):
    for path in ("/execute", "/execute/async"):
        r = svc.post(path, creds(bmc, method=method, params=params))
        body = r.json()
        assert r.status_code == 400, r.text
        assert body["error_code"] == code and "task_id" not in body
    assert not bmc.requests(), "a rejected method must not reach the BMC"


def test_unsupported_action_is_bmc_no(svc, bmc):
    r = svc.post("/action", creds(bmc, action="Dance"))
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is False
    assert body["message"] == "Action 'Dance' is not supported"
    assert "on" in body["data"]["actions"]
    t = svc.get(f"/tasks/{body['task_id']}").json()
    assert t["status"] == "failed" and t["error_code"] == 3001
    assert t["error_message"] == "Action 'Dance' is not supported"
    assert t["result"]["success"] is False


# ---- retries, delay, deadline, waiting ---------------------------------------

def test_retries_exhausted_then_3003(svc, redfish_sim):
    sim = redfish_sim(fault="http500", users=[f"admin:{PASSWORD}:Administrator"])
    started = time.monotonic()
    r = svc.post("/action", creds(sim, action="on", retry_times=3, delay=0.3))
    elapsed = time.monotonic() - started
    body = r.json()
    assert body["error_code"] == 3003, body
    assert "3 attempts" in body["details"] and "1005" in body["details"]
    assert elapsed >= 0.6  # two pauses of max(delay, floor)
    roots = [q for q in sim.requests() if q["path"].rstrip("/") == "/redfish/v1"]
    assert len(roots) == 3, sim.requests()


def test_delay_floor_applies(service_factory, redfish_sim):
    svc = service_factory({"BMC_MIN_RETRY_DELAY_SECONDS": 1})
    sim = redfish_sim(fault="http500", users=[f"admin:{PASSWORD}:Administrator"])
    started = time.monotonic()
    r = svc.post("/execute", creds(sim, method="get_power_state",
                                   retry_times=2, delay=0))
    assert r.json()["error_code"] == 3003
    assert time.monotonic() - started >= 1.0


def test_auth_failure_is_never_retried(svc, bmc):
    r = svc.post("/action", creds(bmc, action="on", password="bad", retry_times=5))
    assert r.json()["error_code"] == 1004
    assert len([q for q in bmc.requests() if q["auth_ok"] is False]) == 1


def test_deadline_over_whole_call(service_factory, redfish_sim):
    svc = service_factory({"BMC_TIMEOUT": 2})
    sim = redfish_sim(fault="hang", users=[f"admin:{PASSWORD}:Administrator"])
    started = time.monotonic()
    r = svc.post("/action", creds(sim, action="on", retry_times=5))
    elapsed = time.monotonic() - started
    assert r.json()["error_code"] in (1002, 3002, 3003), r.text
    assert elapsed < 4.5


def test_wait_for_state_times_out_unstable(redfish_sim, svc):
    sim = redfish_sim(users=[f"admin:{PASSWORD}:Administrator"],
                      transition_seconds=5, initial_power="Off")
    r = svc.post("/action", creds(sim, action="on", wait_for_state_seconds=1))
    data = r.json()["data"]
    assert r.json()["success"] is True
    assert data["power_state"] == "PoweringOn"
    assert data["power_state_stable"] is False


def test_wait_for_state_async(svc, bmc):
    bmc.control({"power_state": "Off"})
    r = svc.post("/action/async", creds(bmc, action="on", wait_for_state_seconds=10))
    t = poll_task(svc, r.json()["task_id"])
    assert t["result"]["data"]["power_state"] == "On"
    assert t["result"]["data"]["power_state_stable"] is True


# ---- async executor -----------------------------------------------------------

def test_async_failure_is_recorded(svc, bmc):
    r = svc.post("/action/async", creds(bmc, action="on", password="wrong"))
    t = poll_task(svc, r.json()["task_id"])
    assert t["status"] == "failed" and t["error_code"] == 1004
    assert t["error_message"] == "HTTP Unauthorized"


@pytest.mark.slow  # behaviour/timing; not run in the sanitizer pass
def test_queue_full_answers_503_without_task(service_factory, redfish_sim):
    svc = service_factory({"BMC_MAX_ASYNC_TASKS": 1, "BMC_ASYNC_QUEUE_MAX": 1})
    sim = redfish_sim(users=[f"admin:{PASSWORD}:Administrator"], latency_ms=1500)
    first = svc.post("/power-state/../action/async".replace("/power-state/..", ""),
                     creds(sim, action="on"))
    assert first.status_code == 202
    second = svc.post("/action/async", creds(sim, action="on"))
    assert second.status_code == 202
    third = svc.post("/action/async", creds(sim, action="on"))
    assert third.status_code == 503, third.text
    body = third.json()
    assert body["error_code"] == 3004 and "task_id" not in body
    assert third.headers.get("Retry-After")
    t = svc.get(f"/tasks/{second.json()['task_id']}").json()
    assert t["status"] in ("queued", "running", "success")
    assert poll_task(svc, second.json()["task_id"])["status"] == "success"


def test_executor_killed_mid_task(svc, redfish_sim):
    sim = redfish_sim(users=[f"admin:{PASSWORD}:Administrator"], latency_ms=3000)
    r = svc.post("/action/async", creds(sim, action="on"))
    task_id = r.json()["task_id"]
    wait_until(lambda: svc.get(f"/tasks/{task_id}").json()["status"] == "running")
    (executor,) = svc.child_pids("executor")
    os.kill(executor, signal.SIGKILL)
    t = poll_task(svc, task_id, timeout=10)
    assert t["status"] == "failed"
    assert "executor stopped" in t["details"]
    wait_until(lambda: svc.child_pids("executor"), what="executor restarted")
    fast = redfish_sim(users=[f"admin:{PASSWORD}:Administrator"])
    r = svc.post("/action/async", creds(fast, action="on"))
    assert poll_task(svc, r.json()["task_id"])["status"] == "success"


def test_active_tasks_counts_running(svc, redfish_sim):
    sim = redfish_sim(users=[f"admin:{PASSWORD}:Administrator"], latency_ms=1000)
    ids = [svc.post("/action/async", creds(sim, action="on")).json()["task_id"]
           for _ in range(3)]
    wait_until(lambda: svc.get("/health").json()["thread_pool"]["active_tasks"] == 3,
               what="3 running tasks")
    for i in ids:
        poll_task(svc, i)
    assert svc.get("/health").json()["thread_pool"]["active_tasks"] == 0


# ---- tasks: not found, expired, restart, secrets --------------------------------

def v7_id(unix_ms):
    rand = uuid.uuid4().int & ((1 << 74) - 1)
    value = (unix_ms << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


def test_task_not_found_and_expired(service_factory):
    svc = service_factory({"BMC_TASK_RETENTION_DAYS": 2})
    for tid in (v7_id(int(time.time() * 1000)), "not-a-uuid",
                str(uuid.uuid4()), v7_id(int(time.time() * 1000) + 86400000)):
        r = svc.get(f"/tasks/{tid}")
        assert r.status_code == 404
        assert r.json() == {"success": False, "message": "Task not found",
                            "method": "get_task_status", "error_code": 3005,
                            "details": "Task not found. Tasks are kept for 2 days."}
    old = v7_id(int((time.time() - 3 * 86400) * 1000))
    r = svc.get(f"/tasks/{old}")
    assert r.status_code == 404
    assert r.json()["message"] == "Task expired"
    assert r.json()["details"] == "Task expired. Tasks are kept for 2 days."


def test_task_survives_kill_and_restart(svc, bmc):
    done = svc.post("/power-state", creds(bmc)).json()["task_id"]
    kids = svc.child_pids()
    svc.stop_daemon(signal.SIGKILL)
    for pid in kids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    wait_until(lambda: not any(os.path.exists(f"/proc/{p}") and
                               open(f"/proc/{p}/stat").read().split()[2] != "Z"
                               for p in kids), what="children gone")
    svc.start_daemon()
    wait_until(svc._answers, what="restarted service")
    t = svc.get(f"/tasks/{done}").json()
    assert t["status"] == "success"
    assert t["result"]["data"]["power_state"]


def test_store_never_contains_password(svc, bmc):
    svc.post("/validate", creds(bmc))
    svc.post("/action", creds(bmc, action="on"))
    r = svc.post("/action/async", creds(bmc, action="off"))
    poll_task(svc, r.json()["task_id"])
    svc.post("/validate", creds(bmc, password="Wrong-Secret-77"))
    raw = (svc.state / "tasks.store").read_bytes()
    assert PASSWORD.encode() not in raw
    assert b"Wrong-Secret-77" not in raw
    assert PASSWORD not in svc.log()


def test_sigterm_lets_slow_request_finish(svc, redfish_sim):
    sim = redfish_sim(users=[f"admin:{PASSWORD}:Administrator"], latency_ms=700)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        fut = pool.submit(svc.post, "/power-state", creds(sim))
        wait_until(lambda: sim.requests(), what="request in flight")
        svc.daemon.send_signal(signal.SIGTERM)
        r = fut.result(timeout=30)
    assert r.status_code == 200 and r.json()["success"] is True
    assert svc.daemon.wait(30) == 0


def test_action_costs_four_requests_on_one_connection(svc, bmc):
    """Validation's discovery serves the action: root, Systems, the system
    and the POST, all on one TLS connection: the POST's body goes out
    through a read callback libcurl cannot rewind, so a reused connection
    that closes without an answer fails the POST instead of re-sending it
    (test_at_most_once.py, drop_reply)."""
    bmc.reset_stats()
    ok_envelope(svc.post("/action", creds(bmc, action="on")), "run_action")
    paths = [(q["method"], q["path"]) for q in bmc.requests()]
    assert len(paths) == 4, paths
    assert paths[-1][0] == "POST"
    assert bmc.stats(bmc.host)["tls_handshakes"] == 1
    conns = [q["connection"] for q in bmc.requests()]
    assert len(set(conns)) == 1, conns


# ---- results over the store's 1 MiB -------------------------------------------

TOO_LARGE = ("The result is larger than the task store keeps (1 MiB); it was "
             "not stored")


@pytest.mark.valgrind
def test_result_over_1mib_is_3001_for_sync_and_async_alike(svc, redfish_sim):
    """A list_users result over 1 MiB (255 accounts of 4.5 KiB names): the
    task records 3001 saying so, and the sync caller gets that same answer,
    not the result its task says was not kept."""
    bmc = redfish_sim(profile="dmtf", fault="huge_accounts",
                      users=[f"admin:{PASSWORD}:Administrator"])
    r = svc.post("/list-users", creds(bmc))
    assert r.status_code == 500, r.text[:300]
    assert len(r.content) < 4096
    body = r.json()
    assert body["success"] is False
    assert body["error_code"] == 3001
    assert body["message"] == "Method execution failed"
    assert body["details"] == TOO_LARGE
    assert body["method"] == "list_users"
    task = svc.get(f"/tasks/{body['task_id']}").json()
    assert task["status"] == "failed"
    assert task["error_code"] == body["error_code"]
    assert task["error_message"] == body["message"]
    assert task["details"] == body["details"]
    assert task.get("result") is None

    r = svc.post("/execute/async", creds(bmc, method="list_users"))
    assert r.status_code == 202, r.text
    task = poll_task(svc, r.json()["task_id"])
    assert task["status"] == "failed" and task["error_code"] == 3001
    assert task["details"] == TOO_LARGE
    # A normal-sized result is still kept.
    bmc.control({"fault": []})
    r = svc.post("/list-users", creds(bmc))
    assert r.status_code == 200 and r.json()["success"] is True
    task = svc.get(f"/tasks/{r.json()['task_id']}").json()
    assert task["status"] == "success" and task["result"]["data"]["users"]
