"""At most once (DESIGN.md): a power command that may have reached the BMC
is never sent twice by one request, whatever retry_times says, and no
refusal (503, 4xxx, a failure before sending) is ever followed by the
command reaching the BMC. Every fault is injected for real: the Redfish
simulator carries a reset out and answers late or never; ipmi_sim carries
a set out and answers after ipmitool gave up."""
import concurrent.futures
import json
import os
import signal
import socket
import threading
import time

import pytest
import requests

from fixtures_service import poll_task, wait_until

PASSWORD = "s3cret-Pa55word"
NOT_REPEATED = "it was not repeated"


def rf_creds(sim, **kw):
    body = {"ip": sim.host, "port": sim.port, "username": "admin",
            "password": PASSWORD, "protocol": "redfish"}
    body.update(kw)
    return body


def ipmi_creds(bmc, **kw):
    body = {"ip": bmc.host, "port": bmc.port, "username": "admin",
            "password": "password", "protocol": "ipmitool", "cipher_suite": 3}
    body.update(kw)
    return body


def resets(sim):
    return [q for q in sim.requests()
            if q["method"] == "POST" and "Reset" in q["path"]]


def answer_of(svc, path, body):
    """The sync answer, or the async task's end (as the envelope's code and
    details), so one test covers both."""
    if not path.endswith("/async"):
        b = svc.post(path, body).json()
        return b.get("error_code"), b.get("details", ""), b
    r = svc.post(path, body)
    assert r.status_code == 202, r.text
    t = poll_task(svc, r.json()["task_id"], timeout=60)
    return t.get("error_code"), t.get("details") or "", t


@pytest.fixture
def rf_svc(service_factory):
    # 1 s per request: the simulator's late answer (2.5 s) comes after it.
    return service_factory({"BMC_REDFISH_REQUEST_TIMEOUT": 1,
                            "BMC_MIN_RETRY_DELAY_SECONDS": 0.1,
                            "BMC_TIMEOUT": 20})


@pytest.mark.valgrind
@pytest.mark.parametrize("path", ["/action", "/action/async"])
@pytest.mark.parametrize("fault", ["late_answer", "drop_reply"])
def test_redfish_reset_delivered_once(rf_svc, redfish_sim, path, fault):
    """The BMC carries the reset out and answers after the request timeout
    (or resets the connection): one reset, the class code, never 3003."""
    sim = redfish_sim(users=[f"admin:{PASSWORD}:Administrator"],
                      initial_power="On", slow_ms=2500)
    sim.control({"fault": fault})
    code, details, body = answer_of(
        rf_svc, path, rf_creds(sim, action="reset", retry_times=3, delay=0))
    assert code in (1002, 1005), body
    assert NOT_REPEATED in details and "sent to the BMC" in details, body
    time.sleep(0.3)
    assert len(resets(sim)) == 1, sim.requests()


def test_redfish_failure_before_sending_is_retried(rf_svc, redfish_sim):
    """A refused connection never delivered anything: retry_times applies
    (three attempts, 3003), and the BMC saw no reset."""
    sim = redfish_sim(users=[f"admin:{PASSWORD}:Administrator"],
                      fault="tls_fail")
    b = rf_svc.post("/action", rf_creds(sim, action="reset", retry_times=3,
                                        delay=0)).json()
    assert b["error_code"] == 3003 and "3 attempts" in b["details"], b
    assert NOT_REPEATED not in b["details"]
    assert resets(sim) == []


@pytest.fixture
def ipmi_svc(service_factory):
    # BMC_TIMEOUT 5: ipmitool gets -N 1 and gives up after ~2 s, leaving
    # time for a second attempt (which the rule must prevent).
    return service_factory({"BMC_TIMEOUT": 5,
                            "BMC_MIN_RETRY_DELAY_SECONDS": 0.1})


@pytest.mark.slow  # behaviour/timing; not run in the sanitizer pass
@pytest.mark.parametrize("path", ["/action", "/action/async"])
def test_ipmi_power_command_reply_lost(ipmi_svc, ipmi_sim, path):
    """ipmi_sim carries the cycle out and answers after ipmitool gave up
    ("Unable to set Chassis Power Control"): sent once, 1002."""
    bmc = ipmi_sim(power=1)
    bmc.set_fault(late_set=4)
    code, details, body = answer_of(
        ipmi_svc, path, ipmi_creds(bmc, action="reset", retry_times=3,
                                   delay=0))
    assert code == 1002, body
    assert NOT_REPEATED in details, body
    wait_until(lambda: len(bmc.power_log()) >= 1, timeout=10)
    time.sleep(4.5)  # a second command would be logged by now
    assert bmc.power_log() == [("reset", "1")], bmc.power_log()


def test_ipmi_session_failure_is_retried(ipmi_svc, ipmi_sim):
    """A session that never opened sent nothing: attempts are repeated and
    the BMC executed nothing."""
    bmc = ipmi_sim(power=1)
    b = ipmi_svc.post("/action", ipmi_creds(bmc, action="reset", retry_times=2,
                                            delay=0, cipher_suite=17)).json()
    assert b["error_code"] == 3003 and "2 attempts" in b["details"], b
    assert bmc.power_log() == []


# ---- the async hand-off: a refusal means not run ----------------------------

def fire_async(svc, sim, n, during=None):
    """N concurrent POST /action/async resets while DURING() runs in a loop
    (every 50 ms); the answers."""
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            during()
            time.sleep(0.05)

    t = threading.Thread(target=loop)
    t.start()
    try:
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            answers = list(ex.map(
                lambda i: svc.post("/action/async",
                                   rf_creds(sim, action="reset")),
                range(n)))
    finally:
        stop.set()
        t.join()
    return answers


def settle(svc, sim, answers):
    """Every refusal carries no task; every accepted task ends; the BMC saw
    exactly the resets of the tasks that succeeded, plus at most those of
    tasks whose process died while running them. The task ends."""
    ends = []
    for r in answers:
        body = r.json()
        if r.status_code == 202:
            try:
                ends.append(poll_task(svc, body["task_id"], timeout=20))
            except TimeoutError:
                tid = body["task_id"]
                lines = [ln for ln in svc.log().splitlines()
                         if "event=request" not in ln or tid in ln]
                raise AssertionError((r.text, "\n".join(lines[-60:])))
        else:
            assert r.status_code == 503 and "task_id" not in body, r.text
    ok = sum(1 for t in ends if t["status"] == "success")
    died = sum(1 for t in ends if "stopped before" in (t.get("details") or ""))
    time.sleep(0.3)
    assert ok <= len(resets(sim)) <= ok + died, (ok, died, len(resets(sim)))
    return ends


@pytest.fixture
def bmc_on(redfish_sim):
    return redfish_sim(users=[f"admin:{PASSWORD}:Administrator"],
                       initial_power="On", transition_seconds=0.05)


def test_sighup_storm_during_async_submissions(service_factory, bmc_on):
    """SIGHUP (log rotation) every 50 ms: every submission is accepted and
    every task's reset reaches the BMC once."""
    svc = service_factory({"BMC_LIGHT_WORKERS": 2})
    answers = fire_async(svc, bmc_on, 50,
                         lambda: os.kill(svc.daemon.pid, signal.SIGHUP))
    assert [r.status_code for r in answers] == [202] * 50, (
        [r.text for r in answers if r.status_code != 202],
        [ln for ln in svc.log().splitlines()
         if "event=request" not in ln or "status=202" not in ln][-40:],
        (svc.root / "nginx" / "error.log").read_text()[-3000:])
    ends = settle(svc, bmc_on, answers)
    assert all(t["status"] == "success" for t in ends), ends


def test_executor_killed_during_async_submissions(service_factory, bmc_on):
    """The executor is SIGKILLed (and respawned) while submissions arrive:
    a 503 is never followed by its reset."""
    svc = service_factory({"BMC_LIGHT_WORKERS": 2})
    kills = iter(range(3))

    def kill_executor():
        if next(kills, None) is None:
            return
        for pid in svc.child_pids("executor"):
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)

    answers = fire_async(svc, bmc_on, 40, kill_executor)
    settle(svc, bmc_on, answers)


# ---- graceful stop: the light pool serves until the end ---------------------

def test_graceful_stop_keeps_health_and_tasks_answering(service_factory,
                                                        redfish_sim):
    """SIGTERM during a long sync call: until it ends, /health answers
    (draining, 503) and GET /tasks answers, each within 500 ms; new BMC
    work is refused unstarted; the call in hand completes."""
    svc = service_factory({"BMC_POWER_STATE_POLL_INTERVAL": 0.2})
    sim = redfish_sim(users=[f"admin:{PASSWORD}:Administrator"],
                      initial_power="Off", transition_seconds=4)
    done = svc.post("/power-state", rf_creds(sim)).json()["task_id"]
    with concurrent.futures.ThreadPoolExecutor(1) as ex:
        fut = ex.submit(svc.post, "/action",
                        rf_creds(sim, action="on", wait_for_state_seconds=10))
        wait_until(lambda: svc.get("/health").json()["thread_pool"]
                   ["active_tasks"] == 1, what="the call to start")
        svc.daemon.send_signal(signal.SIGTERM)
        seen = set()
        while not fut.done():
            h = svc.get("/health", timeout=0.5)  # raises if slower
            seen.add(h.json()["status"])
            if h.json()["status"] == "draining":
                assert h.status_code == 503
                for path in ("/action", "/action/async"):
                    r = svc.post(path, rf_creds(sim, action="off"),
                                 timeout=0.5)
                    assert r.status_code == 503, r.text
                    assert "shutting down" in r.json()["details"]
                    assert "task_id" not in r.json()
            t = svc.get(f"/tasks/{done}", timeout=0.5)
            assert t.status_code == 200 and t.json()["status"] == "success"
            time.sleep(0.05)
        body = fut.result().json()
    assert body["success"] is True and body["data"]["power_state"] == "On", body
    assert "draining" in seen, seen
    assert svc.daemon.wait(30) == 0
    posts = [q for q in resets(sim)]
    assert len(posts) == 1, posts  # the refused "off"s never reached it


# ---- stale sync requests: refused, not run late -----------------------------

@pytest.mark.slow  # behaviour/timing; not run in the sanitizer pass
def test_queued_sync_actions_beyond_nginx_wait(service_factory, redfish_sim):
    """One BMC worker, more sync actions than it can finish before nginx
    stops waiting (BMC_TIMEOUT 2 + 10 s): those picked up too late are
    refused unstarted; every client told anything but success: its action
    never reached the BMC."""
    svc = service_factory({"BMC_MAX_WORKERS": 1, "BMC_TIMEOUT": 2,
                           "BMC_MAX_WAIT_FOR_STATE_SECONDS": 0})
    sim = redfish_sim(users=[f"admin:{PASSWORD}:Administrator"],
                      initial_power="On", latency_ms=350)
    with concurrent.futures.ThreadPoolExecutor(12) as ex:
        answers = list(ex.map(
            lambda i: svc.post("/action", rf_creds(sim, action="reset")),
            range(12)))
    ok = [r for r in answers if r.status_code == 200 and r.json()["success"]]
    refused = [r for r in answers if r not in ok]
    assert refused, "expected some calls to wait past nginx's timeout"
    for r in refused:
        assert r.status_code == 503, r.text
        assert "not started" in r.json()["details"], r.text
        assert "task_id" not in r.json()
    time.sleep(0.3)
    assert len(resets(sim)) == len(ok), (len(resets(sim)), len(ok))


# ---- a damaged store never stops the daemon ---------------------------------

def test_daemon_starts_on_damaged_store(service_factory, redfish_sim):
    """Torn pages (a zeroed header page and garbage in the arena): the
    daemon starts, keeps the intact task, moves the file aside, and
    --check-store said beforehand what it would keep."""
    import subprocess
    from fixtures_service import DAEMON
    sim = redfish_sim(users=[f"admin:{PASSWORD}:Administrator"])
    svc = service_factory()
    tid = svc.post("/power-state", rf_creds(sim)).json()["task_id"]
    svc.stop()
    store = svc.state / "tasks.store"
    with open(store, "r+b") as f:
        f.write(b"\0" * 4096)  # the header page
        f.seek(4096 + 8)
        f.write(b"\xa5" * 512)  # the journal
    chk = subprocess.run([str(DAEMON), "--check-store", str(store)],
                         capture_output=True, text=True)
    assert chk.returncode == 1
    assert "salvage:" in chk.stderr and "1 intact record" in chk.stderr, \
        chk.stderr
    again = service_factory(state_dir=svc.state)
    assert again.get("/health").json()["status"] == "healthy"
    t = again.get(f"/tasks/{tid}").json()
    assert t["status"] == "success" and t["data"]["method"] == "get_power_state"
    assert list(svc.state.glob("tasks.store.damaged-*"))
    assert "event=taskstore_salvaged" in again.log()


def test_task_ids_are_case_insensitive(service_factory, redfish_sim):
    sim = redfish_sim(users=[f"admin:{PASSWORD}:Administrator"])
    svc = service_factory()
    tid = svc.post("/power-state", rf_creds(sim)).json()["task_id"]
    r = svc.get(f"/tasks/{tid.upper()}")
    assert r.status_code == 200 and r.json()["task_id"] == tid, r.text


# ---- "Smaller" (issue 16 item 8) ----

JSON_ACCEPT = {"Accept": "application/json"}


def raw_post(svc, path, headers, body=b""):
    """A POST with no body, sent by hand through nginx: requests would add
    or drop Content-Length on its own."""
    head = (f"POST {path} HTTP/1.1\r\nHost: localhost\r\n"
            "Connection: close\r\n" + "".join(f"{k}: {v}\r\n"
                                              for k, v in headers.items())
            + "\r\n").encode()
    with socket.create_connection(("127.0.0.1", svc.port)) as s:
        s.sendall(head + body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


@pytest.mark.parametrize("path", ["/validate", "/action", "/action/async"])
def test_empty_post_is_400_missing_length_is_411(service, path):
    status, body = raw_post(service, path, {"Content-Length": "0",
                                            "Content-Type": "application/json"})
    assert (status, body["error_code"]) == (400, 4006), body
    assert body["message"] == "Invalid request body"
    assert "empty" in body["details"]
    status, body = raw_post(service, path, {"Content-Length": "0"})
    assert (status, body["error_code"]) == (400, 4006), body
    status, body = raw_post(service, path, {"Content-Type": "application/json"})
    assert (status, body["error_code"]) == (411, 4006), body
    # nginx reads a chunked body whole and passes its length: 0 here
    status, body = raw_post(service, path, {"Content-Type": "application/json",
                                            "Transfer-Encoding": "chunked"},
                            b"0\r\n\r\n")
    assert (status, body["error_code"]) == (400, 4006), body
    assert "empty" in body["details"]


def test_username_counts_characters_not_bytes(service, bmc_on):
    base = rf_creds(bmc_on)
    for name in ["é" * 64, "€" * 64, "😀" * 64]:  # 2, 3 and 4 bytes each
        b = service.post("/validate", dict(base, username=name)).json()
        assert b.get("error_code") != 4002, b
    for name in ["é" * 65, "😀" * 65]:
        b = service.post("/validate", dict(base, username=name)).json()
        assert b["error_code"] == 4002, b
    # ipmitool keeps its own 16-byte field: 9 two-byte characters are 18
    b = service.post("/validate", dict(base, protocol="ipmitool",
                                       username="é" * 9)).json()
    assert b["error_code"] == 4002 and "16 bytes" in b["details"], b


@pytest.mark.parametrize("raw", [b"\xff", b"\xc3", b"\xc0\xaf", b"\xed\xa0\x80",
                                 b"\xf4\x90\x80\x80", b"a\x80b"])
def test_username_invalid_utf8_is_4002(service, raw):
    body = (b'{"ip": "127.0.0.1", "username": "' + raw +
            b'", "password": "pw", "protocol": "redfish"}')
    r = requests.post(service.url + "/validate", data=body,
                      headers={"Content-Type": "application/json"})
    b = r.json()
    assert r.status_code == 400 and b["error_code"] in (4002, 4006), b
    if b["error_code"] == 4006:  # json-c refused it first: fine as well
        return
    assert "UTF-8" in b["details"]


@pytest.mark.parametrize("path", ["/action", "/action/async"])
def test_empty_action_creates_no_task(service, bmc_on, path):
    def stored():
        return service.get("/metrics", headers=JSON_ACCEPT).json()["data"][
            "tasks_stored"]
    before = stored()
    r = service.post(path, rf_creds(bmc_on, action=""))
    b = r.json()
    assert r.status_code == 400 and b["error_code"] == 2002, b
    assert "task_id" not in b and "action" in b["details"]
    assert stored() == before
    assert resets(bmc_on) == []
