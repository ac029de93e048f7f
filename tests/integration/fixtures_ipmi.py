"""Fixture `ipmi_sim`: start OpenIPMI's ipmi_sim through
tests/sim/ipmi/start-ipmi-sim on a free UDP port of a loopback address, with
its state in tmp_path, and stop it by PID at teardown.

    def test_x(ipmi_sim):
        bmc = ipmi_sim()                       # 127.0.0.1, power off
        bmc = ipmi_sim("127.0.3.7", power=1)   # another address, power on
        bmc.host, bmc.port, bmc.pid, bmc.state_dir
        bmc.set_fault(get_delay=1.5, fail_set=1, ignore_soft=1)
        bmc.set_fault()                        # clear all faults
        bmc.power()                            # 0 or 1, from the state file
        bmc.power_log()                        # [("power", "1"), ("reset", "1"), ...]
        bmc.freeze(); bmc.thaw()               # SIGSTOP / SIGCONT the BMC

Users (tests/sim/ipmi/lan.conf.in): admin/password (ADMINISTRATOR),
operator/operpass (OPERATOR), viewer/viewpass (USER), disabled/disabledpw
(disabled), secure/Un1que-S3cr3t (ADMINISTRATOR; for tests that grep for
the password). ipmi_sim offers cipher suites 0-14 only: use 3.
"""
import errno
import os
import pathlib
import signal
import socket
import subprocess
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
START = REPO / "tests" / "sim" / "ipmi" / "start-ipmi-sim"
FAULT_KNOBS = ("get_delay", "set_delay", "fail_get", "fail_set", "ignore_soft",
               "ignore_boot")
USERS = {
    "admin": "password",
    "operator": "operpass",
    "viewer": "viewpass",
    "disabled": "disabledpw",
    "secure": "Un1que-S3cr3t",  # a password no message can contain
}


def free_udp_port(host):
    """A UDP port nobody uses on HOST right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def udp_port_bound(host, port):
    """Whether some process has bound HOST:PORT (we cannot bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((host, port))
        except OSError as e:
            return e.errno == errno.EADDRINUSE
        return False


class IpmiSim:
    """One running ipmi_sim. Attributes: host, port, pid, state_dir."""

    def __init__(self, host, port, state_dir, proc, log_path):
        self.host = host
        self.port = port
        self.state_dir = pathlib.Path(state_dir)
        self.proc = proc
        self.pid = proc.pid
        self.log_path = log_path
        self.frozen = False

    def set_fault(self, **knobs):
        """Replace the fault knobs (unknown names are an error)."""
        for k in knobs:
            if k not in FAULT_KNOBS:
                raise ValueError("unknown fault knob %r" % k)
        text = "".join("%s=%s\n" % (k, v) for k, v in knobs.items())
        tmp = self.state_dir / "faults.tmp"
        tmp.write_text(text)
        os.replace(tmp, self.state_dir / "faults")

    def power(self):
        return int((self.state_dir / "power").read_text().strip() or 0)

    def set_power(self, value):
        (self.state_dir / "power").write_text("%d\n" % value)

    def power_log(self):
        path = self.state_dir / "power.log"
        if not path.exists():
            return []
        return [tuple(line.split(None, 1)) for line in
                path.read_text().splitlines() if line.strip()]

    def freeze(self):
        os.kill(self.pid, signal.SIGSTOP)
        self.frozen = True

    def thaw(self):
        os.kill(self.pid, signal.SIGCONT)
        self.frozen = False

    def stop(self):
        if self.proc.poll() is not None:
            return
        if self.frozen:
            self.thaw()
        # own session: the group holds ipmi_sim and any chassis_control it runs
        try:
            os.killpg(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)


def start_ipmi_sim(host, state_dir, power=0, timeout=10.0):
    """Start one simulator; retries with another port if one was taken."""
    state_dir = pathlib.Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    last = None
    for _attempt in range(3):
        port = free_udp_port(host)
        log_path = state_dir / "ipmi_sim.log"
        log = open(log_path, "ab")
        proc = subprocess.Popen(
            [str(START), host, str(port), str(state_dir), str(power)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if udp_port_bound(host, port):
                return IpmiSim(host, port, state_dir, proc, log_path)
            time.sleep(0.02)
        last = log_path.read_text(errors="replace")
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    raise RuntimeError("ipmi_sim did not start on %s: %s" % (host, last))


@pytest.fixture
def ipmi_sim(tmp_path):
    """Factory: ipmi_sim(host="127.0.0.1", power=0) -> IpmiSim."""
    started = []

    def factory(host="127.0.0.1", power=0):
        sim = start_ipmi_sim(host, tmp_path / ("ipmi-%s-%d" % (host, len(started))),
                             power=power)
        started.append(sim)
        return sim

    yield factory
    for sim in started:
        sim.stop()
