"""Callbacks (DESIGN.md "Fleet operations and callbacks"): when an async
task or a bulk parent ends, the executor POSTs its GET /tasks/{id}
document to the callback_url, signed with BMC_WEBHOOK_SECRET, retried with
backoff from the store (across executor restarts) until delivered or the
budget is spent; never to a host outside BMC_WEBHOOK_ALLOWED. Real
receivers (fixtures_webhook), real BMCs (the Redfish simulator)."""
import hashlib
import hmac
import json
import os
import signal
import time

import pytest

from fixtures_service import poll_task, wait_until
from fixtures_webhook import HOST

PASSWORD = "cb-Pa55word"
SECRET = "cb-Secret-0d9e8f7a-never-shown"


def hooks_env(**kw):
    env = {"BMC_WEBHOOK_ALLOWED": f"{HOST}/32,127.0.0.62",
           "BMC_WEBHOOK_SECRET": SECRET,
           "BMC_WEBHOOK_BACKOFF_SECONDS": "0.2",
           "BMC_WEBHOOK_TIMEOUT": "2"}
    env.update({k: str(v) for k, v in kw.items()})
    return env


def rf(sim, ip="127.0.0.1", **kw):
    body = {"ip": ip, "port": sim.port, "username": "admin",
            "password": PASSWORD, "protocol": "redfish"}
    body.update(kw)
    return body


def callback_of(svc, task_id):
    return svc.get(f"/tasks/{task_id}").json()["data"].get("callback")


def wait_callback(svc, task_id, state, timeout=30):
    wait_until(lambda: (callback_of(svc, task_id) or {}).get("state") == state,
               timeout=timeout, what=f"callback {state}")
    return callback_of(svc, task_id)


def signature_ok(req):
    want = "sha256=" + hmac.new(SECRET.encode(), req["body"],
                                hashlib.sha256).hexdigest()
    return hmac.compare_digest(req["headers"].get("X-BMC-Signature", ""), want)


@pytest.fixture
def sim(redfish_sim):
    return redfish_sim(profile="dmtf", users=[f"admin:{PASSWORD}:Administrator"],
                       addresses="127.0.9.1-127.0.9.5", initial_power="Off")


@pytest.mark.valgrind
def test_receiver_that_recovers_gets_exactly_one_signed_delivery(
        service_factory, sim, receiver):
    svc = service_factory(hooks_env())
    hook = receiver(statuses=[500, 503, 200, 200])
    r = svc.post("/action/async", rf(sim, "127.0.9.1", action="on",
                                     callback_url=hook.url("/done?x=1")))
    assert r.status_code == 202, r.text
    tid = r.json()["task_id"]
    pending = callback_of(svc, tid)
    assert pending["url"] == hook.url("/done?x=1")
    assert pending["state"] in ("pending", "delivered")
    cb = wait_callback(svc, tid, "delivered")
    assert cb["attempts"] == 3 and cb["last_error"] is None, cb
    time.sleep(1)
    assert len(hook.requests) == 3 and len(hook.accepted()) == 1
    deliveries = {q["headers"]["X-BMC-Delivery"] for q in hook.requests}
    assert deliveries == {cb["delivery_id"]}
    for q in hook.requests:
        assert q["path"] == "/done?x=1"
        assert signature_ok(q), q["headers"]
        assert q["headers"]["X-BMC-Task"] == tid
        assert q["headers"]["Content-Type"] == "application/json"
        assert q["headers"]["User-Agent"].startswith("bmc-manager/")
    doc = json.loads(hook.accepted()[0]["body"])
    assert doc["task_id"] == tid and doc["status"] == "success"
    assert doc["data"]["result"]["data"]["power_state"] if "power_state" in \
        json.dumps(doc["data"]["result"]) else True
    logs = svc.log()
    assert SECRET not in logs and PASSWORD not in logs
    assert SECRET not in json.dumps(svc.get("/health").json())


def test_receiver_that_never_accepts_ends_failed(service_factory, sim, receiver):
    svc = service_factory(hooks_env(BMC_WEBHOOK_RETRY_SECONDS=2))
    hook = receiver(statuses=[500])
    r = svc.post("/action/async", rf(sim, "127.0.9.2", action="on",
                                     callback_url=hook.url()))
    tid = r.json()["task_id"]
    cb = wait_callback(svc, tid, "failed", timeout=30)
    assert cb["attempts"] >= 2 and "500" in cb["last_error"], cb
    n = len(hook.requests)
    time.sleep(1.5)
    assert len(hook.requests) == n == cb["attempts"]


def test_never_to_a_host_outside_the_allow_list(service_factory, sim, receiver):
    svc = service_factory(hooks_env())
    outside = receiver(host="127.0.0.63")
    for url in (outside.url(), "http://evil.example/x", "ftp://127.0.0.61/x",
                "http://user:pw@127.0.0.61/x", "http://127.0.0.61:1/" + "a" * 2100,
                17):
        r = svc.post("/action/async", rf(sim, action="on", callback_url=url))
        assert r.status_code == 400 and r.json()["error_code"] == 2002, (url, r.text)
        assert "callback_url" in r.json()["details"]
        b = svc.post("/action/bulk", {"targets": [rf(sim)], "action": "on",
                                      "callback_url": url})
        assert b.status_code == 400 and b.json()["error_code"] == 2002, b.text
    sync = svc.post("/action", rf(sim, action="on", callback_url=outside.url()))
    assert sync.status_code == 400 and sync.json()["error_code"] == 2002
    time.sleep(0.5)
    assert outside.requests == []


def test_callbacks_refused_until_configured(service, sim, receiver):
    hook = receiver()
    r = service.post("/action/async", rf(sim, action="on", callback_url=hook.url()))
    assert r.status_code == 400 and r.json()["error_code"] == 2002
    assert "BMC_WEBHOOK_ALLOWED" in r.json()["details"]


def test_bulk_parent_calls_back_once_when_the_last_child_ends(
        service_factory, sim, receiver):
    svc = service_factory(hooks_env())
    hook = receiver()
    targets = [rf(sim, f"127.0.9.{i}") for i in range(1, 6)]
    targets[2]["callback_url"] = hook.url("/child")  # a child has none
    r = svc.post("/action/bulk", {"targets": targets, "action": "on",
                                  "callback_url": hook.url("/bulk")})
    assert r.status_code == 202, r.text
    parent, kids = r.json()["task_id"], r.json()["children"]
    cb = wait_callback(svc, parent, "delivered")
    assert cb["attempts"] == 1
    time.sleep(0.5)
    assert [q["path"] for q in hook.requests] == ["/bulk"]
    doc = json.loads(hook.requests[0]["body"])
    assert doc["task_id"] == parent and doc["data"]["progress"]["total"] == 5
    assert doc["data"]["progress"]["failed"] == 1  # the child with its own url
    bad = svc.get(f"/tasks/{kids[2]}").json()["data"]
    assert bad["error_code"] == 2002 and "callback" not in bad
    assert all(callback_of(svc, k) is None for k in kids)


def test_pending_delivery_survives_an_executor_kill(service_factory, sim, receiver):
    """The receiver is down; the executor is SIGKILLed; the new executor
    finds the pending callback in the store and delivers it, once."""
    svc = service_factory(hooks_env(BMC_WEBHOOK_BACKOFF_SECONDS=0.5))
    hook = receiver(statuses=[502])
    r = svc.post("/action/async", rf(sim, "127.0.9.3", action="on",
                                     callback_url=hook.url()))
    tid = r.json()["task_id"]
    wait_until(lambda: (callback_of(svc, tid) or {}).get("attempts", 0) >= 1,
               timeout=30, what="a failed attempt")
    ex = svc.child_pids("executor")
    os.kill(ex[0], signal.SIGKILL)
    hook.statuses = [200]
    cb = wait_callback(svc, tid, "delivered", timeout=60)
    assert len(hook.accepted()) == 1
    assert {q["headers"]["X-BMC-Delivery"] for q in hook.requests} == {cb["delivery_id"]}
    assert poll_task(svc, tid)["status"] == "success"
