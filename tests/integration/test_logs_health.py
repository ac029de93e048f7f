"""Logs and /health telling the truth: BMC_LOG_FILE is used from start-up and
SIGHUP moves every process (master, both pools, the executor) to the new
file; /health says "degraded" (503) when the executor is dead and not coming
back, or when no BMC worker is alive."""
import os
import pathlib
import re
import signal

import pytest
import requests

from fixtures_service import poll_task, wait_until

BODY = {"username": "admin", "password": "password", "protocol": "redfish"}


def pids_in(text, event):
    """PIDs of the lines of TEXT whose event is EVENT."""
    return {int(m.group(1)) for m in re.finditer(
        r"pid=(\d+)(?: req=\S+)? event=%s\b" % re.escape(event), text)}


def stderr_path(pid):
    return os.readlink(f"/proc/{pid}/fd/2")


def all_pids(svc):
    return [svc.daemon.pid] + svc.child_pids()


@pytest.mark.valgrind
def test_log_file_from_start_and_sighup_moves_every_process(service_factory,
                                                            redfish_sim,
                                                            tmp_path):
    sim = redfish_sim()
    log = tmp_path / "bmc.log"
    svc = service_factory({"BMC_LOG_FILE": log, "BMC_MAX_WORKERS": 2})
    # Opened at start-up, not on the first SIGHUP: the start lines are there.
    text = log.read_text()
    assert svc.daemon.pid in pids_in(text, "started"), text
    assert "event=started" not in svc.log()
    executor = svc.child_pids("executor")
    assert len(executor) == 1
    assert executor[0] in pids_in(text, "executor_start")

    rotated = tmp_path / "bmc.log.1"
    log.rename(rotated)
    os.kill(svc.daemon.pid, signal.SIGHUP)
    # Every process's stderr is the new file (the renamed one keeps its
    # inode, so a process that did not reopen still points at bmc.log.1).
    wait_until(lambda: log.exists() and all(
        stderr_path(p) == str(log) for p in all_pids(svc)),
        what="every process on the new log file")
    old_size = rotated.stat().st_size

    target = dict(BODY, ip=sim.host, port=sim.port)
    assert svc.get("/health").status_code == 200
    assert svc.post("/validate", target).json()["success"] is True
    r = svc.post("/execute/async", dict(target, method="get_power_state"))
    assert r.status_code == 202, r.text
    assert poll_task(svc, r.json()["task_id"])["status"] == "success"

    new = log.read_text()
    wait_until(lambda: executor[0] in pids_in(log.read_text(), "task_done"),
               what="the executor's task line in the new file")
    new = log.read_text()
    assert svc.daemon.pid in pids_in(new, "logs_reopened")
    requests_by = pids_in(new, "request")
    assert requests_by & set(svc.child_pids("light")), new
    assert requests_by & set(svc.child_pids("bmc")), new
    assert rotated.stat().st_size == old_size, "a line went to the old file"
    assert "task_done" not in rotated.read_text()
    assert "password=" not in new


def degraded(svc):
    """The /health response if it is 503, else None (a 503 Response is
    falsy, hence the tuple)."""
    r = svc.get("/health")
    return (r,) if r.status_code == 503 else None


def stop_master(svc):
    """SIGSTOP the master (so nothing it supervises comes back); the test
    SIGCONTs it before teardown."""
    os.kill(svc.daemon.pid, signal.SIGSTOP)


@pytest.mark.valgrind
def test_health_degraded_when_executor_dead_and_master_stopped(service):
    assert service.get("/health").json()["data"]["status"] == "healthy"
    executor = service.child_pids("executor")[0]
    stop_master(service)
    try:
        os.kill(executor, signal.SIGKILL)
        wait_until(lambda: degraded(service), what="/health degraded")
        (r,) = degraded(service)
        env = r.json()
        assert env["success"] is False
        assert env["message"] == "Service degraded"
        assert env["status"] == env["data"]["status"] == "degraded"
        assert r.headers["Retry-After"]
        reasons = env["data"]["degraded"]
        assert [x["component"] for x in reasons] == ["executor"], reasons
        assert "executor" in reasons[0]["reason"]
        assert env["data"]["processes"]["executor_alive"] is False
        assert env["data"]["processes"]["master_running"] is False
        assert env["data"]["processes"]["bmc_workers_alive"] == 4
    finally:
        os.kill(service.daemon.pid, signal.SIGCONT)
    # The master reaps and respawns it: healthy again.
    wait_until(lambda: service.get("/health").status_code == 200,
               what="healthy after the master resumes")
    assert service.get("/health").json()["data"]["degraded"] == []


def test_health_degraded_when_no_bmc_worker_alive(service_factory):
    svc = service_factory({"BMC_MAX_WORKERS": 2})
    stop_master(svc)
    try:
        for pid in svc.child_pids("bmc"):
            os.kill(pid, signal.SIGKILL)
        wait_until(lambda: degraded(svc), what="/health degraded")
        env = degraded(svc)[0].json()
        assert env["data"]["status"] == "degraded"
        reasons = {x["component"]: x["reason"]
                   for x in env["data"]["degraded"]}
        assert set(reasons) == {"bmc_workers"}, reasons
        assert "no BMC worker" in reasons["bmc_workers"]
        assert env["data"]["processes"]["bmc_workers_alive"] == 0
        assert env["data"]["processes"]["executor_alive"] is True
    finally:
        os.kill(svc.daemon.pid, signal.SIGCONT)
    wait_until(lambda: svc.get("/health").status_code == 200,
               what="healthy after the master resumes")


def test_health_stays_healthy_while_the_master_replaces_a_worker(service):
    """A running master brings a killed executor back: not "degraded"
    (it is coming back), and then alive again."""
    executor = service.child_pids("executor")[0]
    os.kill(executor, signal.SIGKILL)
    assert service.get("/health").status_code == 200
    wait_until(lambda: service.child_pids("executor")
               and service.child_pids("executor")[0] != executor,
               what="a new executor")
    wait_until(lambda: service.get("/health").json()["data"]["processes"]
               ["executor_alive"], what="the new executor in the table")
    data = service.get("/health").json()["data"]
    assert data["degraded"] == [] and data["processes"]["master_running"]


def test_health_stays_healthy_while_workers_recycle(service_factory):
    """Both BMC workers recycled every few requests: for a moment none is
    alive, but the running master is bringing them back, so /health never
    says degraded."""
    svc = service_factory({"BMC_MAX_WORKERS": 1, "BMC_LIGHT_WORKERS": 1,
                           "BMC_WORKER_MAX_REQUESTS": 3})
    with requests.Session() as s:
        for i in range(150):
            r = s.post(svc.url + "/validate", json={}, timeout=30)
            assert r.status_code == 400, r.text
            h = s.get(svc.url + "/health", timeout=30)
            assert h.status_code == 200, (i, h.text)
