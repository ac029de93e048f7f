"""Fixture `service_factory`: start bmc-managerd and a private nginx on a
free loopback port, with environment overrides, and stop them by PID.

The build under test is $BMC_BUILD_DIR (default: <repo>/build).
"""
import os
import pathlib
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import requests

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("BMC_BUILD_DIR", REPO / "build")).resolve()
DAEMON = BUILD / "src" / "bmc-managerd"
# nginx serves /docs, /redoc, /openapi.json from here (fixtures_openapi fills it)
DOCS_DIR = BUILD / "docs"
# A command the daemon runs under, e.g. "valgrind --log-file=... -q"
# (scripts/test's valgrind pass); empty: the daemon itself.
WRAPPER = shlex.split(os.environ.get("BMC_TEST_WRAPPER", ""))


def free_port(host="127.0.0.1", kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out waiting for {what}")


def poll_task(svc, task_id, timeout=30):
    """GET /tasks/TASK_ID until it ends (success or failed); the body."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        t = svc.get(f"/tasks/{task_id}").json()
        if t.get("status") in ("success", "failed"):
            return t
        time.sleep(0.1)
    raise TimeoutError(task_id)


def children_of(pid):
    """PIDs whose parent is PID (from /proc)."""
    kids = []
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def comm(pid):
    try:
        return pathlib.Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


class Service:
    def __init__(self, env=None, state_dir=None):
        # Short paths: unix socket names are limited to 108 bytes.
        self.root = pathlib.Path(tempfile.mkdtemp(prefix="bmc-it-", dir="/tmp"))
        self.state = pathlib.Path(state_dir) if state_dir else self.root / "state"
        self.state.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ)
        self.env.update({
            "BMC_STATE_DIR": str(self.state),
            "BMC_SOCKET": str(self.root / "bmc.sock"),
            "BMC_LIGHT_SOCKET": str(self.root / "light.sock"),
            "BMC_MAX_WORKERS": "4",
            "BMC_DOCS_DIR": str(DOCS_DIR),
        })
        self.env.update({k: str(v) for k, v in (env or {}).items()})
        self.log_path = self.root / "bmc-managerd.log"
        self.daemon = None
        self.nginx = None

    # -- lifecycle ---------------------------------------------------------
    def start(self):
        self.start_daemon()
        subprocess.run(
            [str(REPO / "scripts" / "render-nginx"), str(DAEMON),
             str(self.root / "nginx"), f"127.0.0.1:{self.port}"],
            env=self.env, check=True)
        self.nginx = subprocess.Popen(
            ["nginx", "-p", str(self.root / "nginx"), "-c",
             str(self.root / "nginx" / "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._answers, what="nginx + daemon")
        return self

    def start_daemon(self):
        log = open(self.log_path, "ab")
        self.daemon = subprocess.Popen(WRAPPER + [str(DAEMON)], env=self.env,
                                       stdout=log, stderr=log)
        log.close()
        wait_until(lambda: (self.root / "light.sock").exists()
                   or self.daemon.poll() is not None, what="daemon sockets")
        if self.daemon.poll() is not None:
            raise RuntimeError("daemon exited: " + self.log())

    def _answers(self):
        try:
            # 401: BMC_AUTH_HEALTH=true, the daemon answered
            return requests.get(self.url + "/health", timeout=1).status_code in (200, 401)
        except requests.RequestException:
            return False

    def stop_daemon(self, sig=signal.SIGTERM, timeout=60):
        if self.daemon and self.daemon.poll() is None:
            self.daemon.send_signal(sig)
            self.daemon.wait(timeout)

    def stop(self):
        self.stop_daemon()
        if self.nginx and self.nginx.poll() is None:
            self.nginx.terminate()
            self.nginx.wait(10)

    # -- helpers -----------------------------------------------------------
    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def child_pids(self, kind=None):
        """Children of the master; KIND: "bmc", "light" or "executor"."""
        pids = children_of(self.daemon.pid)
        if kind is None:
            return pids
        return [p for p in pids if comm(p) == f"bmc-{kind}"]

    def worker_pids(self):
        return self.child_pids("bmc") + self.child_pids("light")

    def post(self, path, body, **kw):
        kw.setdefault("timeout", 60)
        return requests.post(self.url + path, json=body, **kw)

    def get(self, path, **kw):
        kw.setdefault("timeout", 60)
        return requests.get(self.url + path, **kw)


@pytest.fixture
def service_factory():
    started = []

    def make(env=None, state_dir=None, start=True):
        svc = Service(env, state_dir)
        started.append(svc)
        return svc.start() if start else svc

    yield make
    for svc in started:
        svc.stop()
        shutil.rmtree(svc.root, ignore_errors=True)


@pytest.fixture
def service(service_factory):
    return service_factory()
