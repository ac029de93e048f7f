"""The IPMI backend (src/ipmi.c) driven through tests/tools/bmc_call against
OpenIPMI's ipmi_sim (fixture `ipmi_sim`, fixtures_ipmi.py).

The build directory comes from BMC_BUILD_DIR (default: <repo>/build).
"""
import concurrent.futures
import json
import os
import pathlib
import subprocess
import time

import pytest

from fixtures_service import WRAPPER

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("BMC_BUILD_DIR", REPO / "build"))
BMC_CALL = BUILD / "tests" / "tools" / "bmc_call"
ACTIONS = ["status", "on", "off", "cycle", "reset", "soft"]

pytestmark = pytest.mark.skipif(not BMC_CALL.exists(),
                                reason="build bmc_call first (make check)")


def call_env(password, **env):
    e = {k: v for k, v in os.environ.items() if not k.startswith("BMC_")}
    e["BMC_PASSWORD"] = password
    e.update(env)
    return e


def bmc_call_argv(sim_or_host, op, user, params, cipher, timeout, port=None):
    host = getattr(sim_or_host, "host", sim_or_host)
    port = port if port is not None else sim_or_host.port
    argv = [str(BMC_CALL), "ipmitool", host, str(port), user, op]
    if params is not None:
        argv.append(json.dumps(params))
    if cipher is not None:
        argv += ["--cipher-suite", str(cipher)]
    argv += ["--timeout", str(timeout)]
    return argv


def run(sim, op, user="admin", password="password", params=None, cipher=3,
        timeout=10, port=None, **env):
    """Run bmc_call; returns (outcome dict, seconds, stderr)."""
    # Under the valgrind pass (BMC_TEST_WRAPPER) bmc_call runs under it too.
    argv = WRAPPER + bmc_call_argv(sim, op, user, params, cipher, timeout,
                                   port)
    t0 = time.monotonic()
    p = subprocess.run(argv, env=call_env(password, **env), capture_output=True,
                       text=True, timeout=timeout + 10)
    took = time.monotonic() - t0
    assert p.returncode in (0, 1), (p.returncode, p.stdout, p.stderr)
    out = json.loads(p.stdout)
    assert p.returncode == (1 if out["code"] else 0)
    return out, took, p.stderr


def action(sim, name, **kw):
    return run(sim, "run_action", params={"action_name": name}, **kw)[0]


# ---- every operation --------------------------------------------------------

@pytest.mark.valgrind
def test_validate_connection(ipmi_sim):
    out, took, _ = run(ipmi_sim(), "validate_connection")
    assert out["code"] == 0 and out["success"] is True
    assert out["data"] == {"ok": True}


def test_get_power_state_follows_bmc(ipmi_sim):
    sim = ipmi_sim()
    assert run(sim, "get_power_state")[0]["data"] == {"power_state": "off"}
    sim.set_power(1)
    assert run(sim, "get_power_state")[0]["data"] == {"power_state": "on"}


def test_list_actions(ipmi_sim):
    out = run(ipmi_sim(), "list_actions")[0]
    assert out["success"] is True
    assert out["data"] == {"actions": ACTIONS}


def test_list_users(ipmi_sim):
    out = run(ipmi_sim(), "list_users")[0]
    assert out["success"] is True
    users = {u["name"]: u for u in out["data"]["users"]}
    # empty slots left out
    assert set(users) == {"admin", "operator", "viewer", "disabled", "secure"}
    assert users["admin"] == {"id": "2", "name": "admin", "role": "Administrator",
                              "enabled": True, "callin": True, "link_auth": False,
                              "ipmi_msg": True, "privilege": "ADMINISTRATOR"}
    assert users["operator"]["role"] == "Operator"
    assert users["viewer"]["privilege"] == "USER"
    assert users["disabled"]["enabled"] is False


def test_get_fw_version(ipmi_sim):
    out = run(ipmi_sim(), "get_fw_version")[0]
    assert out["success"] is True
    assert out["data"]["fw_version"] == "9.08"
    assert out["data"]["manufacturer"] == "MontaVista Software, Inc."
    assert out["data"]["product"] == "Unknown (0xF02)"


def test_actions_change_state(ipmi_sim):
    sim = ipmi_sim()
    out = action(sim, "on")
    assert out["success"] is True
    assert out["data"]["message"] == "Chassis Power Control: Up/On"
    assert sim.power() == 1
    out = action(sim, "status")
    assert out["data"]["power_state"] == "on"
    assert out["data"]["message"] == "Chassis Power is on"
    assert action(sim, "reset")["data"]["message"] == "Chassis Power Control: Reset"
    assert action(sim, "soft")["data"]["message"] == "Chassis Power Control: Soft"
    assert sim.power() == 0
    assert action(sim, "on")["success"] is True
    assert action(sim, "off")["data"]["message"] == "Chassis Power Control: Down/Off"
    assert sim.power() == 0
    assert action(sim, "cycle")["data"]["message"] == "Chassis Power Control: Cycle"
    # ipmi_sim powers back on about a second after a cycle
    deadline = time.monotonic() + 5
    while sim.power() != 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sim.power() == 1
    # each command ran exactly once (-R 1: no retransmitted power commands)
    assert sim.power_log() == [("power", "1"), ("reset", "1"), ("shutdown", "1"),
                               ("power", "1"), ("power", "0"), ("power", "0"),
                               ("power", "1")]


def test_soft_ignored_by_bmc_leaves_power_on(ipmi_sim):
    sim = ipmi_sim(power=1)
    sim.set_fault(ignore_soft=1)
    assert action(sim, "soft")["success"] is True
    assert sim.power() == 1


def test_unsupported_action(ipmi_sim):
    out = action(ipmi_sim(), "explode")
    assert out["code"] == 0 and out["success"] is False
    assert out["message"] == "Action 'explode' is not supported"
    assert out["data"]["actions"] == ACTIONS


def test_bmc_refusal_is_an_answer(ipmi_sim):
    sim = ipmi_sim()
    sim.set_fault(fail_set=1)
    out = action(sim, "on")
    assert out["code"] == 0 and out["success"] is False
    assert out["message"] == "Set Chassis Power Control to Up/On failed: Unspecified error"
    assert out["data"]["message"] == out["message"]


def test_bmc_failing_read_is_execution_failure(ipmi_sim):
    sim = ipmi_sim()
    sim.set_fault(fail_get=1)
    out = run(sim, "get_power_state")[0]
    assert out["code"] == 3001
    assert "Get Chassis Power Status failed: Unspecified error" in out["details"]


# ---- failure classes ------------------------------------------------------------

def test_wrong_password_is_1001(ipmi_sim):
    out = run(ipmi_sim(), "validate_connection", password="not-the-password")[0]
    assert out["code"] == 1001
    assert "password" in out["details"]
    assert "not-the-password" not in json.dumps(out)


@pytest.mark.parametrize("user,password", [("nobody", "password"),
                                           ("disabled", "disabledpw")])
def test_unknown_or_disabled_user_is_1001(ipmi_sim, user, password):
    out = run(ipmi_sim(), "validate_connection", user=user, password=password)[0]
    assert out["code"] == 1001
    assert "user" in out["details"]


@pytest.mark.slow  # behaviour/timing; not run in the sanitizer pass
def test_nothing_listening_is_1002_within_deadline(ipmi_sim):
    sim = ipmi_sim()
    sim.stop()
    out, took, _ = run(sim, "get_power_state", timeout=4)
    assert out["code"] == 1002
    assert took < 4
    assert sim.host in out["details"]


@pytest.mark.slow  # behaviour/timing; not run in the sanitizer pass
def test_frozen_bmc_is_1002_within_deadline(ipmi_sim):
    sim = ipmi_sim()
    sim.freeze()
    try:
        out, took, _ = run(sim, "validate_connection", timeout=4)
    finally:
        sim.thaw()
    assert out["code"] == 1002
    assert took < 4


def test_default_cipher_17_is_1003(ipmi_sim):
    out = run(ipmi_sim(), "validate_connection", cipher=None)[0]  # bmc_call defaults to 17
    assert out["code"] == 1003
    assert "cipher suite 17" in out["details"]
    assert "cipher_suite" in out["details"]


def test_cipher_11_abort_is_classified(ipmi_sim):
    out = run(ipmi_sim(), "get_power_state", cipher=11)[0]
    assert out["code"] in (1003, 1005)
    assert "abort" in out["details"]


def test_ipmitool_missing_is_1005(ipmi_sim):
    sim = ipmi_sim()
    for op in ("validate_connection", "get_power_state", "list_actions"):
        out = run(sim, op, BMC_IPMITOOL="/nonexistent")[0]
        assert out["code"] == 1005
        assert out["details"] == "ipmitool is not installed"


def test_username_over_ipmi_limit_is_refused(ipmi_sim):
    out = run(ipmi_sim(), "validate_connection", user="u" * 17)[0]
    assert out["code"] == 1005
    assert "16 bytes" in out["details"]


@pytest.mark.slow  # behaviour/timing; not run in the sanitizer pass
def test_slow_bmc_with_short_timeout_fails_within_deadline(ipmi_sim):
    sim = ipmi_sim()
    sim.set_fault(get_delay=10)
    out, took, _ = run(sim, "get_power_state", timeout=3)
    assert out["code"] in (1002, 3002)
    assert took < 3.3


def test_slow_bmc_killed_at_deadline_is_3002(ipmi_sim):
    # 1.5 s timeout leaves ipmitool -R 1 -N 1 (2 s for a silent BMC): the
    # subprocess must be stopped at the deadline.
    sim = ipmi_sim()
    sim.stop()
    out, took, _ = run(sim, "validate_connection", timeout=1.5)
    assert out["code"] == 3002
    assert took < 1.5


# ---- the password stays secret -------------------------------------------------

def children_of(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            kids.append(int(entry))
    return kids


def test_password_not_on_any_command_line(ipmi_sim):
    sim = ipmi_sim()
    sim.set_fault(get_delay=0.8)  # below -N 1: answered without retransmission
    argv = bmc_call_argv(sim, "get_power_state", "admin", None, 3, 10)
    assert "password" not in argv
    p = subprocess.Popen(argv, env=call_env("password"), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    seen = []
    try:
        deadline = time.monotonic() + 8
        while p.poll() is None and time.monotonic() < deadline:
            for kid in children_of(p.pid):
                try:
                    with open("/proc/%d/cmdline" % kid, "rb") as f:
                        cmdline = f.read()
                    with open("/proc/%d/environ" % kid, "rb") as f:
                        environ = f.read().split(b"\0")
                except OSError:
                    continue
                if b"ipmitool" not in cmdline.split(b"\0")[0]:
                    continue
                seen.append(cmdline)
                args = cmdline.split(b"\0")
                assert b"password" not in args, args
                assert b"-P" not in args and b"-E" in args
                assert b"IPMI_PASSWORD=password" in environ
            time.sleep(0.05)
        stdout, stderr = p.communicate(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert seen, "never saw the ipmitool child running"
    assert json.loads(stdout)["data"] == {"power_state": "off"}


def test_password_not_in_debug_logs(ipmi_sim):
    sim = ipmi_sim()
    secret = "Zq7-secret-pw"
    logs = []
    for op, params in (("validate_connection", None), ("get_power_state", None),
                       ("run_action", {"action_name": "on"}), ("list_users", None)):
        out, _, err = run(sim, op, password=secret, params=params,
                          BMC_LOG_LEVEL="DEBUG")
        assert out["code"] == 1001
        assert secret not in json.dumps(out)
        logs.append(err)
    out, _, err = run(sim, "list_users", BMC_LOG_LEVEL="DEBUG")
    assert out["success"] is True
    logs.append(err)
    text = "".join(logs)
    assert "event=ipmi_run" in text and "level=DEBUG" in text
    assert secret not in text
    assert "IPMI_PASSWORD" not in text
    assert "-E" in text  # the logged command line itself is there


# ---- concurrency ---------------------------------------------------------------

def test_ten_concurrent_calls_to_ten_bmcs(ipmi_sim):
    sims = [ipmi_sim("127.0.3.%d" % (i + 1)) for i in range(10)]
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda s: action(s, "on"), sims))
    took = time.monotonic() - t0
    for sim, out in zip(sims, results):
        assert out["success"] is True, out
        assert sim.power() == 1
        assert sim.power_log() == [("power", "1")]
    assert took < 10
