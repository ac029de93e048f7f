"""Fixture `redfish_sim`: start tests/sim/redfish/redfish_sim.py (the HTTPS
Redfish BMC simulator) on a free port, and stop it by PID at teardown.

    def test_x(redfish_sim):
        sim = redfish_sim(profile="dell", addresses="127.0.1.1-127.0.1.3",
                          transition_seconds=0.2, fault="task202")
        status, headers, body = sim.request("GET", "/redfish/v1/Systems")
        sim.control({"address": "127.0.1.2", "fault": "hang"})
        sim.stats("127.0.1.2")   # {"requests": N, "connections": M, ...}

Keyword arguments become command-line options (`page_size=2` ->
`--page-size 2`, `no_reset_action=True` -> `--no-reset-action`, a list
repeats the option); `users` takes "NAME:PASSWORD:ROLE" strings or
(name, password, role) tuples, `fault` a name or a list of names.
"""
import base64
import http.client
import json
import os
import pathlib
import signal
import ssl
import subprocess
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SIM = REPO / "tests" / "sim" / "redfish" / "redfish_sim.py"
PYTHON = "/usr/bin/python3"


def insecure_context():
    """A client TLS context that accepts the simulator's self-signed cert."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class RedfishSim:
    """A running simulator. Attributes: host (first address), port,
    addresses, pid, url, cert, state_dir, control_port, profile,
    system_ids, manager_id, reset_types, returncode (after stop)."""

    def __init__(self, proc, info, log_path):
        self.proc = proc
        self.pid = proc.pid
        self.info = info
        self.log_path = log_path
        self.addresses = info["addresses"]
        self.host = self.addresses[0]
        self.port = info["port"]
        self.url = "https://%s:%d" % (self.host, self.port)
        self.cert = info["cert"]
        self.state_dir = info["state_dir"]
        self.control_port = info["control_port"]
        self.profile = info["profile"]
        self.system_ids = info["system_ids"]
        self.manager_id = info["manager_id"]
        self.reset_types = info["reset_types"]
        self.returncode = None
        self._ctx = insecure_context()

    # -- control API (plain HTTP on 127.0.0.1, never through a proxy) --------

    def _control_call(self, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.control_port,
                                       timeout=30)
        try:
            data = None if body is None else json.dumps(body)
            hdrs = {"Content-Type": "application/json"} if data else {}
            c.request(method, path, body=data, headers=hdrs)
            r = c.getresponse()
            out = json.loads(r.read() or b"null")
            if r.status != 200:
                raise RuntimeError("control %s %s -> %d %s"
                                   % (method, path, r.status, out))
            return out
        finally:
            c.close()

    @staticmethod
    def _q(address):
        return "" if address is None else "?address=%s" % address

    def control(self, change):
        """POST /control: {"address"?, "fault", "latency_ms",
        "power_state", "unlock", "transition_seconds", "clear_sessions"}."""
        return self._control_call("POST", "/control", change)

    def requests(self, address=None):
        """Requests the BMC(s) received: [{method, path, user, auth,
        auth_ok, status, time, connection, peer, address}]."""
        return self._control_call("GET", "/requests" + self._q(address))

    def stats(self, address=None):
        """{"requests", "connections", "tls_handshakes", "tls_resumed",
        "open_connections", "sessions"} (+ "per_address" without address)."""
        return self._control_call("GET", "/stats" + self._q(address))

    def state(self, address=None):
        """Power states, faults, accounts and sessions per BMC."""
        return self._control_call("GET", "/state" + self._q(address))

    def reset_stats(self, address=None):
        body = {} if address is None else {"address": address}
        return self._control_call("POST", "/reset-stats", body)

    # -- a convenience Redfish client (one new connection per call) ---------

    def request(self, method, path, body=None, auth=("admin", "password"),
                headers=None, address=None, timeout=10):
        """-> (status, headers dict with lower-case names, parsed JSON body
        or raw bytes or None)."""
        c = http.client.HTTPSConnection(address or self.host, self.port,
                                        context=self._ctx, timeout=timeout)
        try:
            hdrs = dict(headers or {})
            if auth is not None:
                hdrs["Authorization"] = "Basic " + base64.b64encode(
                    ("%s:%s" % auth).encode()).decode()
            data = None
            if body is not None:
                data = body if isinstance(body, (bytes, str)) \
                    else json.dumps(body)
                hdrs.setdefault("Content-Type", "application/json")
            c.request(method, path, body=data, headers=hdrs)
            r = c.getresponse()
            raw = r.read()
            hmap = {k.lower(): v for k, v in r.getheaders()}
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = raw
            return r.status, hmap, parsed
        finally:
            c.close()

    def stop(self, timeout=10):
        """SIGTERM the simulator (by PID) and wait; SIGKILL if it hangs."""
        if self.returncode is not None:
            return self.returncode
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGKILL)
            self.returncode = self.proc.wait()
        return self.returncode


def _options(kw):
    args = []
    for key, value in kw.items():
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            args.append(flag)
            continue
        for v in (value if isinstance(value, (list, tuple)) else [value]):
            args += [flag, str(v)]
    return args


def start_redfish_sim(workdir, addresses=None, users=None, fault=None,
                      extra_args=(), timeout=60, **kw):
    """Start a simulator under WORKDIR; see the module docstring."""
    workdir = pathlib.Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    ready = workdir / "ready.json"
    if ready.exists():
        ready.unlink()
    if addresses is None:
        addresses = ["127.0.0.1"]
    if not isinstance(addresses, str):
        addresses = ",".join(addresses)
    argv = [PYTHON, str(SIM), "--addresses", addresses, "--port", "0",
            "--control-port", "0", "--state-dir", str(workdir / "state"),
            "--ready-file", str(ready)]
    for u in users or []:
        argv += ["--user", u if isinstance(u, str) else ":".join(u)]
    faults = [fault] if isinstance(fault, str) else list(fault or [])
    for f in faults:
        argv += ["--fault", f]
    argv += _options(kw) + list(extra_args)
    log_path = workdir / "sim.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if proc.poll() is not None:
            raise RuntimeError("redfish_sim exited %d: %s" % (
                proc.returncode, log_path.read_text(errors="replace")))
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise TimeoutError("redfish_sim not ready after %ss" % timeout)
        time.sleep(0.05)
    return RedfishSim(proc, json.loads(ready.read_text()), log_path)


@pytest.fixture
def redfish_sim(tmp_path):
    """Factory: redfish_sim(**options) -> RedfishSim; all stopped at
    teardown."""
    started = []
    counter = iter(range(1, 1 << 30))

    def factory(**kw):
        sim = start_redfish_sim(tmp_path / ("redfish_sim%d" % next(counter)),
                                **kw)
        started.append(sim)
        return sim

    yield factory
    for sim in started:
        sim.stop()
