"""The Redfish backend (src/redfish*.c, src/redfish_transport.c) through
nginx and bmc-managerd (POST /execute) against the HTTPS Redfish simulator
(fixture `redfish_sim`, fixtures_redfish.py): every method on every vendor
profile, every fault to its code, deadlines, request/handshake counts, and
the password never in the logs. Each call is what a client sends: the
daemon validates the connection first (its discovery reused by the
method), records a task and answers the envelope.

The build directory comes from BMC_BUILD_DIR (default: <repo>/build).
"""
import base64
import json
import os
import socket
import time

import pytest
import requests

from fixtures_service import Service

PROFILES = ["dmtf", "dmtf-telemetry", "dell", "hpe", "supermicro", "lenovo", "openbmc"]
ALIASES = ["on", "off", "soft", "reset", "cycle"]
FIRMWARE = {  # profile: (manager FirmwareVersion, system BiosVersion)
    "dmtf": ("1.45.455b66-rev4", "P79 v1.45 (12/06/2017)"),
    "dmtf-telemetry": ("1.45.455b66-rev4", "P79 v1.45 (12/06/2017)"),
    "dell": ("7.00.00.171", "2.19.1"),
    "hpe": ("iLO 5 v2.78", "U32 v2.68 (07/14/2022)"),
    "supermicro": ("01.01.10", "1.4a"),
    "lenovo": ("CDI3A4E 9.93", "IVE176I-3.30"),
    "openbmc": ("2.16.0-dev-1234-gabcdef0", "bios-2.4"),
}
USERS = ["admin:password:Administrator", "ro:ropass:ReadOnly"]

# One node (nginx + daemon) per configuration a test asks for: the call's
# deadline is the daemon's BMC_TIMEOUT, other BMC_* variables its own.
NODES = {}


@pytest.fixture(scope="module", autouse=True)
def _stop_nodes():
    yield
    while NODES:
        NODES.popitem()[1].stop()


def node(timeout, env):
    key = (float(timeout), tuple(sorted((k, str(v)) for k, v in env.items())))
    if key not in NODES:
        NODES[key] = Service(dict({"BMC_TIMEOUT": timeout,
                                   "BMC_MAX_WORKERS": 2,
                                   "BMC_LIGHT_WORKERS": 1}, **env)).start()
    return NODES[key]


def run(sim, op, params=None, user="admin", password="password", timeout=15,
        port=None, host=None, **env):
    """POST /execute {method: OP, params: PARAMS} through nginx to a daemon
    with BMC_TIMEOUT=TIMEOUT and ENV; returns (outcome, seconds, the log
    lines the daemon wrote meanwhile). The outcome is the envelope as
    {code (error_code, 0 without), success, message, details, data}."""
    svc = node(timeout, env)
    body = {"ip": host or sim.host, "port": port if port is not None else sim.port,
            "username": user, "password": password, "protocol": "redfish",
            "method": op}
    if params is not None:
        body["params"] = params
    logged = svc.log_path.stat().st_size
    t0 = time.monotonic()
    r = requests.post(svc.url + "/execute", json=body, timeout=timeout + 30)
    took = time.monotonic() - t0
    assert r.headers["Content-Type"].startswith("application/json"), r.text
    env_ = r.json()
    assert env_["method"] == op, env_
    assert (r.status_code == 200) == ("error_code" not in env_), (r.status_code, env_)
    out = {"code": env_.get("error_code", 0), "success": env_["success"],
           "message": env_["message"], "details": env_.get("details", ""),
           "data": env_.get("data")}
    with open(svc.log_path, "rb") as f:
        f.seek(logged)
        log = f.read().decode(errors="replace")
    return out, took, log


def ok(sim, op, params=None, **kw):
    out = run(sim, op, params, **kw)[0]
    assert out["code"] == 0 and out["success"], out
    return out["data"]


def action(sim, name, **kw):
    return run(sim, "run_action", {"action_name": name}, **kw)[0]


def power(sim, sid=None):
    sid = sid or sim.system_ids[0]
    st, _, body = sim.request("GET", "/redfish/v1/Systems/%s" % sid)
    assert st == 200
    return body["PowerState"]


def wait_power(sim, want, timeout=10, sid=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if power(sim, sid) == want:
            return
        time.sleep(0.05)
    raise AssertionError("power never reached %s (now %s)" % (want, power(sim, sid)))


def posts(sim):
    """(path, status) of every POST the BMC received, oldest first."""
    return [(r["path"], r["status"]) for r in sim.requests(sim.host)
            if r["method"] == "POST"]


def sim_for(redfish_sim, profile="dmtf", **kw):
    kw.setdefault("transition_seconds", 0.2)
    kw.setdefault("users", USERS)
    return redfish_sim(profile=profile, **kw)


# ---- every method on every profile -----------------------------------------

@pytest.mark.parametrize("profile", PROFILES)
def test_every_method_every_profile(redfish_sim, profile):
    sim = sim_for(redfish_sim, profile)
    assert ok(sim, "validate_connection") == {"ok": True}
    assert ok(sim, "get_power_state") == {"power_state": "On"}

    actions = ok(sim, "list_actions")["actions"]
    aliases = [a for a in actions if a in ALIASES]
    assert actions[:len(aliases)] == aliases, "aliases come first"
    assert aliases == [a for a in ALIASES if a in aliases], "in their fixed order"
    assert actions[len(aliases):] == sim.reset_types, "then the BMC's own names"
    assert "on" in aliases and "off" in aliases  # every profile can do these

    fw = ok(sim, "get_fw_version")
    assert (fw["fw_version"], fw["bios_version"]) == FIRMWARE[profile]

    users = ok(sim, "list_users")["users"]
    named = {u["name"]: u for u in users if u["name"]}
    assert named["admin"]["role"] == "Administrator"
    assert named["ro"]["role"] == "ReadOnly"
    for u in users:
        assert set(u) == {"id", "name", "role", "enabled", "locked"}
    assert named["admin"]["enabled"] is True and named["admin"]["locked"] is False

    # Every entry list_actions returns is accepted by run_action.
    for name in actions:
        sim.control({"power_state": "On"})
        out = action(sim, name)
        assert out["code"] == 0 and out["success"], (name, out)
        msg = out["data"]["message"]
        assert msg.startswith("Command Accepted (") or msg == "Already On", (name, msg)


@pytest.mark.parametrize("profile", ["dmtf", "dell", "hpe", "openbmc"])
def test_off_then_on_changes_the_power_state(redfish_sim, profile):
    sim = sim_for(redfish_sim, profile)
    out = action(sim, "off")
    assert out["success"] and out["data"]["reset_type"] == "ForceOff"
    status = {"dmtf": 204, "dell": 204, "hpe": 200, "openbmc": 200}[profile]
    assert out["data"]["message"] == "Command Accepted (%d)" % status
    wait_power(sim, "Off")
    assert ok(sim, "get_power_state") == {"power_state": "Off"}
    out = action(sim, "on")
    assert out["success"] and out["data"]["reset_type"] == "On"
    wait_power(sim, "On")


# ---- mapping, fallbacks, already-in-state ----------------------------------

@pytest.mark.parametrize("profile,conflict", [("dmtf", "none"), ("dell", "409"),
                                              ("hpe", "400")])
def test_already_in_state_is_success(redfish_sim, profile, conflict):
    sim = sim_for(redfish_sim, profile, state_conflict=conflict)
    out = action(sim, "on")
    assert out["success"] and out["data"]["message"] == "Already On", out
    sim.control({"power_state": "Off"})
    for name in ("off", "soft", "ForceOff"):
        out = action(sim, name)
        assert out["success"] and out["data"]["message"] == "Already Off", (name, out)
    assert posts(sim) == [], "nothing was sent to a BMC already there"


def test_conflict_while_powering_on_is_already(redfish_sim):
    """The BMC refuses On while PoweringOn (HPE answers 400): not an error."""
    sim = sim_for(redfish_sim, "hpe", transition_seconds=3, initial_power="Off")
    assert action(sim, "on")["success"]
    out = action(sim, "on")
    assert out["success"], out
    assert out["data"]["message"] == "Already PoweringOn"
    assert [s for _, s in posts(sim)] == [200, 400]


def test_unsupported_action(redfish_sim):
    sim = sim_for(redfish_sim, "dell")
    listed = ok(sim, "list_actions")["actions"]
    for name in ("bogus", "ForceOn", ""):
        out = run(sim, "run_action", {"action_name": name})[0]
        if name == "":
            assert out["code"] == 2002
            continue
        assert out["code"] == 0 and out["success"] is False
        assert out["message"] == "Action '%s' is not supported" % name
        assert out["data"]["actions"] == listed
    assert posts(sim) == []


def test_soft_is_never_forced(redfish_sim):
    """ignore_soft: the OS ignores the ACPI request; the backend must not
    turn it into a ForceOff."""
    sim = sim_for(redfish_sim, "dmtf", fault="ignore_soft")
    out = action(sim, "soft")
    assert out["success"] and out["data"]["reset_type"] == "GracefulShutdown"
    time.sleep(0.5)
    assert power(sim) == "On"
    assert [p for p, _ in posts(sim)] == [
        "/redfish/v1/Systems/437XR1138R2/Actions/ComputerSystem.Reset"]
    bodies = [r for r in sim.requests(sim.host) if r["method"] == "POST"]
    assert len(bodies) == 1


def test_soft_unsupported_without_graceful(redfish_sim):
    sim = sim_for(redfish_sim, "dmtf", reset_types="On,ForceOff,ForceRestart")
    out = action(sim, "soft")
    assert out["success"] is False and out["message"] == "Action 'soft' is not supported"
    assert out["data"]["actions"][:4] == ["on", "off", "reset", "cycle"]


def test_reset_is_a_hard_reset(redfish_sim):
    sim = sim_for(redfish_sim, "dmtf")
    assert action(sim, "reset")["data"]["reset_type"] == "ForceRestart"
    sim2 = sim_for(redfish_sim, "dmtf", reset_types="On,ForceOff,GracefulRestart")
    assert action(sim2, "reset")["data"]["reset_type"] == "GracefulRestart"


def test_cycle_uses_powercycle_when_offered(redfish_sim):
    sim = sim_for(redfish_sim, "dell")
    out = action(sim, "cycle")
    assert out["success"] and out["data"]["reset_type"] == "PowerCycle"
    assert len(posts(sim)) == 1


def test_cycle_falls_back_to_off_wait_on(redfish_sim):
    sim = sim_for(redfish_sim, "dmtf", transition_seconds=0.5)
    sim.control({"power_state": "On"})
    out, took, _ = run(sim, "run_action", {"action_name": "cycle"},
                       BMC_POWER_STATE_POLL_INTERVAL=0.1)
    assert out["success"], out
    assert out["data"]["sequence"] == ["ForceOff", "On"]
    assert out["data"]["message"] == "Command Accepted (204)"
    assert len(posts(sim)) == 2
    wait_power(sim, "On")
    # from a soft-off that is still PoweringOff: waits for Off before On
    action(sim, "soft")
    out = run(sim, "run_action", {"action_name": "cycle"},
              BMC_POWER_STATE_POLL_INTERVAL=0.1)[0]
    assert out["success"] and out["data"]["sequence"] == ["ForceOff", "On"]


def test_cycle_of_a_system_that_is_off_only_turns_it_on(redfish_sim):
    sim = sim_for(redfish_sim, "dmtf", initial_power="Off")
    out = action(sim, "cycle")
    assert out["success"] and out["data"]["sequence"] == ["On"]


def test_cycle_waiting_for_off_respects_the_deadline(redfish_sim):
    """The system stays PoweringOff (a 30 s graceful shutdown the simulator
    lets ForceOff not shorten): the wait for Off ends at the deadline with
    3002 and On is never sent."""
    sim = sim_for(redfish_sim, "dmtf", transition_seconds=30)
    action(sim, "soft")
    out, took, _ = run(sim, "run_action", {"action_name": "cycle"}, timeout=2,
                       BMC_POWER_STATE_POLL_INTERVAL=0.2)
    assert out["code"] == 3002 and "power on not sent" in out["details"], out
    assert took < 2.6
    assert [p.rsplit("/", 1)[-1] for p, _ in posts(sim)] == ["ComputerSystem.Reset"] * 2


def test_unpublished_reset_types_are_tried(redfish_sim):
    """No AllowableValues, no ActionInfo: the DMTF list is assumed and the
    BMC's refusal moves an alias on to its next ResetType."""
    sim = sim_for(redfish_sim, "lenovo", publish="none")
    data = ok(sim, "list_actions")
    assert data["allowable_values_published"] is False
    out = action(sim, "PowerCycle")
    assert out["success"] is False and "PowerCycle" not in out["data"]["actions"]
    out = run(sim, "run_action", {"action_name": "cycle"},
              BMC_POWER_STATE_POLL_INTERVAL=0.1)[0]
    assert out["success"] and out["data"]["sequence"] == ["ForceOff", "On"], out


def test_actioninfo_costs_one_request(redfish_sim):
    sim = sim_for(redfish_sim, "openbmc")
    sim.reset_stats()
    ok(sim, "list_actions")
    paths = [r["path"] for r in sim.requests(sim.host)]
    assert paths == ["/redfish/v1", "/redfish/v1/Systems", "/redfish/v1/Systems/system",
                     "/redfish/v1/Systems/system/ResetActionInfo"]


def test_system_id_picks_a_member_across_pages(redfish_sim):
    sim = sim_for(redfish_sim, "hpe", systems=3, page_size=1)
    sim.control({"power_state": "Off", "system": "3"})
    assert ok(sim, "get_power_state") == {"power_state": "On"}
    assert ok(sim, "get_power_state", {"system_id": "3"}) == {"power_state": "Off"}
    out = run(sim, "run_action", {"action_name": "on", "system_id": "3"})[0]
    assert out["success"]
    assert posts(sim)[-1][0] == "/redfish/v1/Systems/3/Actions/ComputerSystem.Reset"
    out = run(sim, "get_power_state", {"system_id": "9"})[0]
    assert out["code"] == 0 and out["success"] is False
    assert out["message"] == "System '9' not found"
    assert out["data"]["systems"] == ["1", "2", "3"]


def test_no_reset_action(redfish_sim):
    sim = sim_for(redfish_sim, "supermicro", no_reset_action=True)
    for op, params in (("list_actions", None), ("run_action", {"action_name": "on"})):
        out = run(sim, op, params)[0]
        assert out["code"] == 3001 and out["details"] == "No power actions discovered"


# ---- faults -----------------------------------------------------------------

def test_task_monitor_is_followed(redfish_sim):
    sim = sim_for(redfish_sim, "dmtf", fault="task202", task_polls=2)
    out, took, _ = run(sim, "run_action", {"action_name": "off"})
    assert out["success"], out
    assert out["data"]["message"] == "Command Accepted (202)"
    assert out["data"]["task_state"] == "Completed"
    monitor = [r for r in sim.requests(sim.host) if "TaskMonitors" in r["path"]]
    statuses = [r["status"] for r in monitor]
    assert len(statuses) >= 2 and set(statuses[:-1]) == {202} and statuses[-1] == 200


@pytest.mark.slow  # behaviour/timing; not run in the sanitizer pass
def test_task_still_running_at_the_deadline(redfish_sim):
    sim = sim_for(redfish_sim, "dmtf", fault="task202", task_polls=100)
    out, took, _ = run(sim, "run_action", {"action_name": "off"}, timeout=3,
                       BMC_REDFISH_REQUEST_TIMEOUT=1)
    assert took < 3.5
    assert out["success"] and out["data"]["task_state"] == "Running", out


def test_if_match_retry(redfish_sim):
    sim = sim_for(redfish_sim, "dell", fault="ifmatch")
    out = action(sim, "off")
    assert out["success"], out
    assert [s for _, s in posts(sim)] == [428, 204]
    wait_power(sim, "Off")


def test_session_limit_does_not_matter_with_basic_auth(redfish_sim):
    sim = sim_for(redfish_sim, "dell", fault="session_limit")
    assert ok(sim, "get_power_state") == {"power_state": "On"}
    assert action(sim, "off")["success"]
    assert sim.stats(sim.host)["sessions"] == 0


@pytest.mark.parametrize("fault,code,needle", [
    ("http500", 1005, "HTTP 500 from GET /redfish/v1"),
    ("reset", 1005, "GET /redfish/v1"),
    ("malformed_json", 1003, "malformed JSON"),
    ("tls_fail", 1003, "SSL"),
    ("hang", 1002, "Timeout"),
    ("hang_accept", 1002, "Timeout"),
    ("slow", 1002, "Timeout"),
])
def test_fault_codes(redfish_sim, fault, code, needle):
    sim = sim_for(redfish_sim, "dmtf", fault=fault, slow_ms=3000)
    for op in ("validate_connection", "get_power_state", "run_action"):
        params = {"action_name": "off"} if op == "run_action" else None
        out, took, _ = run(sim, op, params, timeout=10, BMC_REDFISH_REQUEST_TIMEOUT=1)
        assert out["code"] == code, (op, out)
        assert needle in out["details"], (op, out)
        assert took < 3, (op, took)


@pytest.mark.slow  # behaviour/timing; not run in the sanitizer pass
@pytest.mark.parametrize("fault", ["hang", "slow"])
def test_slow_bmc_ends_at_the_deadline(redfish_sim, fault):
    """Request timeout longer than the call: the call deadline wins (3002)
    and the transfer is really stopped."""
    sim = sim_for(redfish_sim, "dmtf", fault=fault, slow_ms=5000)
    out, took, _ = run(sim, "get_power_state", timeout=1.5, BMC_REDFISH_REQUEST_TIMEOUT=5)
    assert out["code"] == 3002, out
    assert 1.3 < took < 2.3, took


def test_latency_accumulates_within_the_deadline(redfish_sim):
    sim = sim_for(redfish_sim, "dmtf", latency_ms=400)
    out, took, _ = run(sim, "get_fw_version", timeout=1.0)  # needs 4 x 0.4 s
    assert out["code"] == 3002, out
    assert took < 1.6


def test_unreachable_and_refused(redfish_sim):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    out, took, _ = run(None, "get_power_state", host="127.0.0.1", port=port)
    assert out["code"] == 1002 and took < 2


# ---- authentication ---------------------------------------------------------

@pytest.mark.valgrind
def test_auth_failures(redfish_sim):
    sim = sim_for(redfish_sim, "dell")
    out = run(sim, "validate_connection", password="wrong")[0]
    assert out["code"] == 1004 and "HTTP 401" in out["details"]
    out = run(sim, "get_power_state", user="nobody", password="x")[0]
    assert out["code"] == 1004 and "No Systems" not in out["details"]
    assert ok(sim, "get_power_state", user="ro", password="ropass")["power_state"] == "On"
    out = run(sim, "run_action", {"action_name": "off"}, user="ro", password="ropass")[0]
    assert out["code"] == 1004 and "HTTP 403 from POST" in out["details"]
    assert power(sim) == "On"


def test_password_never_in_logs(redfish_sim):
    secret = "S3cr3t-Pw-%d" % os.getpid()
    sim = sim_for(redfish_sim, "dell", users=["admin:%s:Administrator" % secret])
    basic = base64.b64encode(("admin:%s" % secret).encode()).decode()
    outputs = []
    for op, params in (("validate_connection", None), ("get_power_state", None),
                       ("list_users", None), ("run_action", {"action_name": "off"}),
                       ("run_action", {"action_name": "bogus"})):
        out, _, err = run(sim, op, params, password=secret, BMC_LOG_LEVEL="DEBUG")
        assert out["code"] == 0, out
        outputs += [json.dumps(out), err]
    out, _, err = run(sim, "get_power_state", password=secret + "x", BMC_LOG_LEVEL="DEBUG")
    outputs += [json.dumps(out), err]
    sim.control({"fault": "http500"})
    out, _, err = run(sim, "get_power_state", password=secret, BMC_LOG_LEVEL="DEBUG")
    outputs += [json.dumps(out), err]
    text = "\n".join(outputs)
    assert "event=redfish_http" in text  # DEBUG lines were written
    assert secret not in text and basic not in text
    assert "Authorization" not in text


# ---- cost: requests and TLS handshakes per method ---------------------------

@pytest.mark.parametrize("op,params,requests,connections", [
    ("validate_connection", None, 2, 1),
    ("get_power_state", None, 3, 1),
    ("list_actions", None, 3, 1),
    ("get_fw_version", None, 4, 1),
    # the reset POST rides the GETs' connection: its body cannot be
    # re-sent by libcurl (test_at_most_once.py, drop_reply)
    ("run_action", {"action_name": "off"}, 4, 1),
])
def test_one_connection_per_operation(redfish_sim, op, params, requests,
                                      connections):
    sim = sim_for(redfish_sim, "dmtf")
    sim.reset_stats()
    ok(sim, op, params)
    st = sim.stats(sim.host)
    assert st["requests"] == requests, st
    assert st["connections"] == connections, st
    assert st["tls_handshakes"] == connections, st


def test_tls_verification(redfish_sim):
    """Off by default (self-signed BMCs); on, a self-signed certificate is a
    protocol error unless BMC_REDFISH_CA_BUNDLE names it."""
    sim = sim_for(redfish_sim, "dmtf")
    out = run(sim, "get_power_state", BMC_REDFISH_VERIFY_TLS="true")[0]
    assert out["code"] == 1003, out
    out = run(sim, "get_power_state", BMC_REDFISH_VERIFY_TLS="true",
              BMC_REDFISH_CA_BUNDLE=sim.cert)[0]
    assert out["code"] == 0 and out["data"] == {"power_state": "On"}, out
