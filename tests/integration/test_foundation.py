"""Foundation: routing, envelope, input validation, /health, request ids,
CORS, worker replacement and recycling, configuration errors."""
import concurrent.futures
import json
import os
import pathlib
import signal
import socket
import subprocess
import time

import pytest
import requests

from fixtures_service import DAEMON, wait_until

GOOD = {"ip": "127.0.0.1", "username": "admin", "password": "pw",
        "protocol": "redfish"}
BODY_ENDPOINTS = ["/execute", "/execute/async", "/validate", "/list-users",
                  "/list-actions", "/power-state", "/action", "/action/async"]


def with_fields(**kw):
    body = dict(GOOD)
    for k, v in kw.items():
        if v is ...:
            body.pop(k, None)
        else:
            body[k] = v
    return body


def assert_envelope(r, status, code):
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["success"] is False
    assert body["error_code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], str)
    assert "method" in body
    assert "pw" not in body["details"]
    return body


BAD_BASE = [
    # (fields, code)
    (dict(ip=...), 4001),
    (dict(ip="300.1.1.1"), 4001),
    (dict(ip="01.2.3.4"), 4001),
    (dict(ip="host.example"), 4001),
    (dict(ip=""), 4001),
    (dict(ip=17), 4001),
    (dict(ip="1.2.3.4 "), 4001),
    (dict(port=0), 4001),
    (dict(port=70000), 4001),
    (dict(port="443"), 4001),
    (dict(username=...), 4002),
    (dict(username=""), 4002),
    (dict(username="x" * 65), 4002),
    (dict(username=5), 4002),
    (dict(username="a\u0000b"), 4002),
    (dict(password=...), 4003),
    (dict(password=""), 4003),
    (dict(password="p" * 257), 4003),
    (dict(password=None), 4003),
    (dict(protocol=...), 4004),
    (dict(protocol="REDFISH"), 4004),
    (dict(protocol="ssh"), 4004),
    (dict(cipher_suite=18), 4005),
    (dict(cipher_suite=-1), 4005),
    (dict(cipher_suite="17"), 4005),
    (dict(cipher_suite=3.5), 4005),
    (dict(cipher_suite=True), 4005),
    (dict(protocol="ipmitool", username="u" * 17), 4002),
    (dict(protocol="ipmitool", password="p" * 21), 4003),
]


@pytest.mark.parametrize("fields,code", BAD_BASE)
def test_base_field_validation(service, fields, code):
    r = service.post("/validate", with_fields(**fields))
    assert_envelope(r, 400, code)


@pytest.mark.valgrind
def test_first_bad_field_is_reported(service):
    r = service.post("/validate", {"ip": "bad", "username": "",
                                   "password": "", "protocol": "x"})
    assert_envelope(r, 400, 4001)
    r = service.post("/validate", with_fields(username="", protocol="x"))
    assert_envelope(r, 400, 4002)


BAD_ENDPOINT_FIELDS = [
    ("/action", dict(action=...)),
    ("/action", dict(action="")),
    ("/action", dict(action=3)),
    ("/action", dict(action="on", delay=-1)),
    ("/action", dict(action="on", delay="5")),
    ("/action", dict(action="on", retry_times=0)),
    ("/action", dict(action="on", retry_times=1.5)),
    ("/action", dict(action="on", wait_for_state_seconds=301)),
    ("/action", dict(action="on", wait_for_state_seconds=-0.5)),
    ("/action/async", dict(action=None)),
    ("/execute", dict(method=...)),
    ("/execute", dict(method=["x"])),
    ("/execute", dict(method="get_power_state", params=[])),
    ("/execute/async", dict(method="get_power_state", params="x")),
    ("/execute/async", dict(method="get_power_state", retry_times="2")),
]


@pytest.mark.parametrize("path,fields", BAD_ENDPOINT_FIELDS)
def test_endpoint_field_validation(service, path, fields):
    body = assert_envelope(service.post(path, with_fields(**fields)), 400, 2002)
    named = [k for k in fields if k in body["details"]]
    assert named, body["details"]


@pytest.mark.parametrize("raw", [
    b"{", b"not json", b'{"ip": "1.2.3.4"} trailing', b"[]", b'"string"',
    b"null", b"42", b'{"ip": "1.2.3.4",}', b"\xff\xfe", b"{'ip': 'x'}",
    b"[" * 100 + b"]" * 100,
    b'{"a":' * 50 + b"1" + b"}" * 50,
])
@pytest.mark.parametrize("path", ["/validate", "/action/async"])
def test_malformed_bodies(service, path, raw):
    r = requests.post(service.url + path, data=raw,
                      headers={"Content-Type": "application/json"})
    assert_envelope(r, 400, 4006)


@pytest.mark.valgrind
def test_missing_content_length(service):
    # A POST without a body has no Content-Length at all.
    with socket.create_connection(("127.0.0.1", service.port)) as s:
        s.sendall(b"POST /validate HTTP/1.1\r\nHost: localhost\r\n"
                  b"Connection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    assert 400 <= status < 500
    assert json.loads(body)["error_code"] == 4006


@pytest.mark.valgrind
def test_body_over_limit(service):
    r = requests.post(service.url + "/validate", data=b" " * 70000,
                      headers={"Content-Type": "application/json"})
    body = assert_envelope(r, 413, 4130)
    assert "X-Request-ID" in r.headers


@pytest.mark.valgrind
def test_unknown_path_and_wrong_method(service):
    assert_envelope(service.get("/nope"), 404, 4040)
    assert_envelope(service.post("/nope", {}), 404, 4040)
    assert_envelope(service.get("/tasks/"), 404, 4040)
    r = service.get("/validate")
    assert_envelope(r, 405, 4050)
    assert r.headers["Allow"] == "POST"
    r = service.post("/health", {})
    assert_envelope(r, 405, 4050)
    assert "GET" in r.headers["Allow"]


@pytest.mark.valgrind
def test_health_shape_defaults(service):
    r = service.get("/health")
    assert r.status_code == 200
    env = r.json()
    assert env["success"] is True
    assert env["message"] == "Service healthy"
    assert env["method"] == "health_check"
    data = env["data"]
    assert data["status"] == "healthy"
    assert data["service"] == "bmc_service"
    assert data["version"] == "1.0.0"
    assert data["thread_pool"]["max_workers"] == 4
    assert isinstance(data["thread_pool"]["active_tasks"], int)
    cfg = data["config"]
    assert list(cfg)[:10] == [
        "max_workers", "timeout", "log_level", "enable_cors",
        "min_retry_delay_seconds", "max_tasks", "task_retention_days",
        "redfish_request_timeout", "power_state_poll_interval_seconds",
        "max_wait_for_state_seconds"]
    assert cfg["timeout"] == 30 and isinstance(cfg["timeout"], int)
    assert cfg["log_level"] == "INFO"
    assert cfg["enable_cors"] is False
    assert cfg["min_retry_delay_seconds"] == 0.2
    assert cfg["max_tasks"] == 0
    assert cfg["task_retention_days"] == 7
    assert cfg["redfish_request_timeout"] == 5
    assert cfg["power_state_poll_interval_seconds"] == 1.5
    assert cfg["max_wait_for_state_seconds"] == 300
    # The guide's "Health Check" example reads these at the root.
    for key in ("status", "service", "version", "thread_pool", "config"):
        assert env[key] == data[key]
    assert '"timeout":30,' in r.text  # shortest number form


def test_health_under_custom_env(service_factory):
    svc = service_factory({
        "BMC_MAX_WORKERS": 3, "BMC_TIMEOUT": 12.5, "BMC_LOG_LEVEL": "debug",
        "BMC_ENABLE_CORS": "true", "BMC_MIN_RETRY_DELAY_SECONDS": 1,
        "BMC_MAX_TASKS": 500, "BMC_TASK_RETENTION_DAYS": 2,
        "BMC_REDFISH_REQUEST_TIMEOUT": 7, "BMC_POWER_STATE_POLL_INTERVAL": 0.5,
        "BMC_MAX_WAIT_FOR_STATE_SECONDS": 60})
    cfg = svc.get("/health").json()["data"]["config"]
    assert cfg["max_workers"] == 3
    assert cfg["timeout"] == 12.5
    assert cfg["log_level"] == "DEBUG"
    assert cfg["enable_cors"] is True
    assert cfg["min_retry_delay_seconds"] == 1
    assert cfg["max_tasks"] == 500
    assert cfg["task_retention_days"] == 2
    assert cfg["redfish_request_timeout"] == 7
    assert cfg["power_state_poll_interval_seconds"] == 0.5
    assert cfg["max_wait_for_state_seconds"] == 60
    assert svc.get("/health").json()["thread_pool"]["max_workers"] == 3
    # wait_for_state_seconds is capped by the configured maximum
    r = svc.post("/action", with_fields(action="on", wait_for_state_seconds=61))
    assert_envelope(r, 400, 2002)


@pytest.mark.valgrind
def test_request_ids(service):
    ids = {service.get("/health").headers["X-Request-ID"] for _ in range(20)}
    assert len(ids) == 20
    r = service.get("/health", headers={"X-Request-ID": "my-id.42"})
    assert r.headers["X-Request-ID"] == "my-id.42"
    r = service.get("/health", headers={"X-Request-ID": "bad id<script>"})
    assert r.headers["X-Request-ID"] != "bad id<script>"
    assert len(r.headers["X-Request-ID"]) == 32
    # on errors too, and the daemon logs it
    r = service.post("/validate", {}, headers={"X-Request-ID": "err-id-1"})
    assert r.headers["X-Request-ID"] == "err-id-1"
    wait_until(lambda: "req=err-id-1" in service.log(), what="logged id")


def test_cors_off(service):
    r = service.get("/health", headers={"Origin": "http://ui.example"})
    assert "Access-Control-Allow-Origin" not in r.headers
    r = requests.options(service.url + "/validate",
                         headers={"Origin": "http://ui.example",
                                  "Access-Control-Request-Method": "POST"})
    assert r.status_code == 405
    assert r.json()["error_code"] == 4050


def test_cors_on(service_factory):
    svc = service_factory({"BMC_ENABLE_CORS": "true"})
    r = svc.get("/health", headers={"Origin": "http://ui.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    r = requests.options(svc.url + "/action", headers={
        "Origin": "http://ui.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-custom"})
    assert r.status_code in (200, 204)
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    assert r.headers["Access-Control-Allow-Headers"] == "content-type,x-custom"
    r = svc.post("/validate", {}, headers={"Origin": "http://ui.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "*"  # errors too


def test_cors_narrowed_origins(service_factory):
    svc = service_factory({"BMC_ENABLE_CORS": "true",
                           "BMC_CORS_ORIGINS": "https://a.example,https://b.example"})
    r = svc.get("/health", headers={"Origin": "https://b.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "https://b.example"
    r = svc.get("/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in r.headers


@pytest.mark.valgrind
def test_killed_worker_is_replaced(service):
    before = set(service.worker_pids())
    victim = sorted(before)[0]
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: victim not in service.worker_pids()
               and len(service.worker_pids()) == len(before),
               what="replacement worker")
    with requests.Session() as s:
        for _ in range(200):
            assert s.get(service.url + "/health").status_code == 200
            assert s.post(service.url + "/validate", json={}).status_code == 400
    assert service.daemon.poll() is None


@pytest.mark.valgrind
def test_recycling_under_load_loses_nothing(service_factory):
    svc = service_factory({"BMC_WORKER_MAX_REQUESTS": 50,
                           "BMC_MAX_WORKERS": 2, "BMC_LIGHT_WORKERS": 2})
    first = set(svc.worker_pids())

    def hit(i):
        with requests.Session() as s:
            ok = 0
            for j in range(100):
                if (i + j) % 2:
                    r = s.get(svc.url + "/health", timeout=30)
                    ok += r.status_code == 200 and r.json()["success"] is True
                else:
                    r = s.post(svc.url + "/validate", json={}, timeout=30)
                    ok += r.status_code == 400 and r.json()["error_code"] == 4001
            return ok

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        total = sum(pool.map(hit, range(20)))
    assert total == 2000
    assert not first & set(svc.worker_pids()), "workers were not recycled"
    assert "child_died" not in svc.log()


@pytest.mark.parametrize("var,value", [
    ("BMC_MAX_WORKERS", "abc"), ("BMC_MAX_WORKERS", "0"),
    ("BMC_TIMEOUT", "-1"), ("BMC_TIMEOUT", "nan"),
    ("BMC_LOG_LEVEL", "LOUD"), ("BMC_ENABLE_CORS", "maybe"),
    ("BMC_MIN_RETRY_DELAY_SECONDS", "x"), ("BMC_MAX_TASKS", "-5"),
    ("BMC_TASK_RETENTION_DAYS", "0"), ("BMC_REDFISH_REQUEST_TIMEOUT", "0"),
    ("BMC_POWER_STATE_POLL_INTERVAL", "fast"),
    ("BMC_MAX_WAIT_FOR_STATE_SECONDS", "1e9"),
    ("BMC_WORKER_MAX_REQUESTS", "0"), ("BMC_NODE_ID", "256"),
])
def test_bad_configuration_stops_startup(var, value, tmp_path):
    env = dict(os.environ, **{var: value,
                              "BMC_SOCKET": str(tmp_path / "b.sock"),
                              "BMC_LIGHT_SOCKET": str(tmp_path / "l.sock"),
                              "BMC_STATE_DIR": str(tmp_path / "state")})
    p = subprocess.run([str(DAEMON)], env=env, capture_output=True,
                       text=True, timeout=10)
    assert p.returncode != 0
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert var in lines[0] and "expected" in lines[0]


def test_second_daemon_on_same_socket_refuses(service):
    p = subprocess.run([str(DAEMON)], env=service.env, capture_output=True,
                       text=True, timeout=10)
    assert p.returncode != 0
    assert "in use" in p.stderr
    assert service.get("/health").status_code == 200


@pytest.mark.valgrind
def test_sighup_reopens_logs(service):
    os.kill(service.daemon.pid, signal.SIGHUP)
    wait_until(lambda: "logs_reopened" in service.log(), what="reopen event")
    assert service.get("/health").status_code == 200


def test_systemd_socket_activation(tmp_path):
    """LISTEN_FDS/LISTEN_FDNAMES sockets are used instead of binding."""
    import shutil
    import requests as rq
    activate = shutil.which("systemd-socket-activate")
    if not activate:
        pytest.skip("systemd-socket-activate is not installed")
    from fixtures_service import Service, REPO
    svc = Service()
    bmc_sock, light_sock = svc.root / "sa-bmc.sock", svc.root / "sa-light.sock"
    svc.env["BMC_SOCKET"] = str(bmc_sock)
    svc.env["BMC_LIGHT_SOCKET"] = str(light_sock)
    # systemd-socket-activate hands the daemon only LISTEN_* and what -E
    # names: without them it ran on the default /var/lib/bmc-manager.
    setenv = [f"--setenv={k}={v}" for k, v in svc.env.items() if k.startswith("BMC_")]
    proc = subprocess.Popen(
        [activate, "-l", str(bmc_sock), "-l", str(light_sock),
         "--fdname=bmc:light", *setenv, str(DAEMON)],
        env=svc.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: light_sock.exists(), what="activation sockets")
        subprocess.run([str(REPO / "scripts" / "render-nginx"), str(DAEMON),
                        str(svc.root / "nginx"), f"127.0.0.1:{svc.port}"],
                       env=svc.env, check=True)
        svc.nginx = subprocess.Popen(
            ["nginx", "-p", str(svc.root / "nginx"), "-c",
             str(svc.root / "nginx" / "nginx.conf"), "-g", "daemon off;"])
        # the first request starts the daemon: on a loaded machine that is
        # more than the default 10 s
        wait_until(svc._answers, timeout=60, what="activated daemon")
        assert rq.post(svc.url + "/validate", json={}).json()["error_code"] == 4001
        assert (svc.state / "tasks.store").exists()  # its BMC_STATE_DIR
    finally:
        proc.terminate()
        proc.wait(30)
        svc.nginx and svc.nginx.terminate()
    # The daemon did not create or remove the sockets systemd owns.
    assert bmc_sock.exists()


def test_every_integration_file_has_a_valgrind_test():
    """tests/valgrind/run takes the tests marked `valgrind` from every file
    of this directory; each file has one (conftest.py also refuses to run a
    collection where one lacks it)."""
    here = pathlib.Path(__file__).parent
    files = sorted(here.glob("test_*.py"))
    assert len(files) >= 14
    for f in files:
        assert "@pytest.mark.valgrind" in f.read_text(), f.name
    runner = (here.parents[1] / "tests" / "valgrind" / "run").read_text()
    assert '-m "$marker"' in runner and '"$top"/tests/integration' in runner
