"""Tests of the Redfish simulator itself (tests/sim/redfish/redfish_sim.py):
auth, each profile's reset set and publishing style, power transitions,
every fault, sessions, lockout, multi-address independence, keep-alive."""
import base64
import http.client
import json
import os
import socket
import ssl
import threading
import time

import pytest

from fixtures_redfish import insecure_context

ADMIN = ("admin", "password")
PROFILE_FACTS = {
    # profile: (system id, manager id, publish style, reset status,
    #           a standard ResetType it must refuse)
    "dmtf": ("437XR1138R2", "BMC", "inline", 204, "PowerCycle"),
    "dmtf-telemetry": ("437XR1138R2", "BMC", "actioninfo", 204, "PowerCycle"),
    "dell": ("System.Embedded.1", "iDRAC.Embedded.1", "inline", 204,
             "ForceOn"),
    "hpe": ("1", "1", "inline", 200, "ForceOn"),
    "supermicro": ("1", "1", "inline", 200, "PushPowerButton"),
    "lenovo": ("1", "1", "inline", 204, "PowerCycle"),
    "openbmc": ("system", "bmc", "actioninfo", 200, "PushPowerButton"),
}
EXPECTED_RESET_TYPES = {
    "dell": {"On", "ForceOff", "ForceRestart", "GracefulRestart",
             "GracefulShutdown", "PushPowerButton", "Nmi", "PowerCycle"},
    "hpe": {"On", "ForceOff", "GracefulShutdown", "ForceRestart", "Nmi",
            "PushPowerButton", "GracefulRestart"},
    "openbmc": {"On", "ForceOff", "ForceOn", "ForceRestart",
                "GracefulRestart", "GracefulShutdown", "PowerCycle", "Nmi"},
}


def reset(sim, rtype, sid=None, auth=ADMIN, headers=None, address=None):
    sid = sid or sim.system_ids[0]
    return sim.request(
        "POST", "/redfish/v1/Systems/%s/Actions/ComputerSystem.Reset" % sid,
        {"ResetType": rtype}, auth=auth, headers=headers, address=address)


def power(sim, address=None, sid=None):
    sid = sid or sim.system_ids[0]
    st, _, body = sim.request("GET", "/redfish/v1/Systems/%s" % sid,
                              address=address)
    assert st == 200
    return body["PowerState"]


def wait_power(sim, want, timeout=5, address=None):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        p = power(sim, address)
        if not seen or seen[-1] != p:
            seen.append(p)
        if p == want:
            return seen
        time.sleep(0.05)
    raise AssertionError("power never reached %s: %s" % (want, seen))


def error_ids(body):
    return [m["MessageId"] for m in body["error"]["@Message.ExtendedInfo"]]


def allowed_reset_types(sim, system):
    action = system["Actions"]["#ComputerSystem.Reset"]
    if "ResetType@Redfish.AllowableValues" in action:
        return action["ResetType@Redfish.AllowableValues"]
    st, _, info = sim.request("GET", action["@Redfish.ActionInfo"])
    assert st == 200
    for p in info["Parameters"]:
        if p["Name"] == "ResetType":
            return p["AllowableValues"]
    raise AssertionError("no ResetType in ActionInfo")


# ---------------------------------------------------------------------------


@pytest.mark.valgrind
def test_auth_basic_and_roles(redfish_sim):
    sim = redfish_sim(users=["admin:password:Administrator",
                             "op:oppw:Operator", "viewer:v:ReadOnly"],
                      transition_seconds=0)
    st, hdrs, body = sim.request("GET", "/redfish/v1", auth=None)
    assert st == 200 and body["Systems"]["@odata.id"] == "/redfish/v1/Systems"
    assert hdrs["odata-version"] == "4.0"
    assert int(hdrs["content-length"]) > 0
    for auth in (None, ("admin", "wrong"), ("nobody", "password")):
        st, hdrs, body = sim.request("GET", "/redfish/v1/Systems", auth=auth)
        assert st == 401
        assert hdrs["www-authenticate"].startswith("Basic realm=")
        assert "error" in body
    st, _, body = reset(sim, "ForceOff", auth=("viewer", "v"))
    assert st == 403
    assert error_ids(body)[0].endswith(".InsufficientPrivilege")
    assert power(sim) == "On"
    st, _, _ = reset(sim, "ForceOff", auth=("op", "oppw"))
    assert st == 204
    assert power(sim) == "Off"
    log = sim.requests()
    assert [e["auth_ok"] for e in log[1:4]] == [False, False, False]
    assert log[-1]["user"] == "admin" and log[-1]["auth_ok"] is True


def test_certificate_names_every_address(redfish_sim):
    sim = redfish_sim(addresses="127.0.2.1-127.0.2.3")
    ctx = ssl.create_default_context(cafile=sim.cert)
    for addr in sim.addresses:
        with socket.create_connection((addr, sim.port), timeout=5) as s:
            with ctx.wrap_socket(s, server_hostname=addr) as t:
                assert t.version() in ("TLSv1.2", "TLSv1.3")
    assert os.path.dirname(sim.cert) == sim.state_dir


@pytest.mark.parametrize("profile", sorted(PROFILE_FACTS))
def test_profile_tree_and_reset_set(redfish_sim, profile):
    sid, mid, publish, ok_status, refused = PROFILE_FACTS[profile]
    sim = redfish_sim(profile=profile, transition_seconds=0)
    st, _, coll = sim.request("GET", "/redfish/v1/Systems")
    assert st == 200 and coll["Members@odata.count"] == 1
    path = coll["Members"][0]["@odata.id"]
    assert path == "/redfish/v1/Systems/%s" % sid
    st, hdrs, system = sim.request("GET", path)
    assert st == 200 and system["Id"] == sid and "etag" in hdrs
    assert system["BiosVersion"]
    action = system["Actions"]["#ComputerSystem.Reset"]
    assert action["target"] == path + "/Actions/ComputerSystem.Reset"
    if publish == "inline":
        assert "ResetType@Redfish.AllowableValues" in action
        assert "@Redfish.ActionInfo" not in action
    else:
        assert "ResetType@Redfish.AllowableValues" not in action
    allowed = allowed_reset_types(sim, system)
    assert set(allowed) == set(sim.reset_types)
    if profile in EXPECTED_RESET_TYPES:
        assert set(allowed) == EXPECTED_RESET_TYPES[profile]
    assert refused not in allowed
    st, _, mgr = sim.request("GET", "/redfish/v1/Managers/%s" % mid)
    assert st == 200 and mgr["FirmwareVersion"]
    st, _, accts = sim.request("GET", "/redfish/v1/AccountService/Accounts")
    users = []
    for m in accts["Members"]:
        st, _, a = sim.request("GET", m["@odata.id"])
        assert {"Id", "UserName", "RoleId", "Enabled", "Locked"} <= set(a)
        users.append(a["UserName"])
    assert "admin" in users
    if profile == "dell":  # iDRAC lists 16 slots, slot 1 empty
        assert accts["Members@odata.count"] == 16 and users[0] == ""
    # a successful reset, an unknown value, a value this profile lacks
    st, _, body = reset(sim, "ForceOff")
    assert st == ok_status
    if st == 200:
        assert body is not None
    st, _, body = reset(sim, "Explode")
    assert st == 400 and error_ids(body)[0].endswith(
        ".ActionParameterUnknown")
    assert body["error"]["code"] and body["error"]["message"]
    st, _, body = reset(sim, refused)
    assert st == 400 and "error" in body
    st, _, body = sim.request("POST", path + "/Actions/ComputerSystem.Reset",
                              {"Nothing": 1})
    assert st == 400


def test_power_transitions_and_etag(redfish_sim):
    sim = redfish_sim(transition_seconds=0.3)
    _, h1, _ = sim.request("GET", "/redfish/v1/Systems/437XR1138R2")
    assert reset(sim, "ForceOff")[0] == 204
    assert power(sim) == "Off"
    _, h2, _ = sim.request("GET", "/redfish/v1/Systems/437XR1138R2")
    assert h1["etag"] != h2["etag"]
    assert reset(sim, "On")[0] == 204
    assert wait_power(sim, "On")[0] == "PoweringOn"
    assert reset(sim, "GracefulShutdown")[0] == 204
    assert wait_power(sim, "Off")[0] == "PoweringOff"
    assert reset(sim, "ForceOn")[0] == 204
    wait_power(sim, "On")
    assert reset(sim, "ForceRestart")[0] == 204
    seen = wait_power(sim, "On")
    assert seen[0] == "Off" and "PoweringOn" in seen
    assert reset(sim, "PushPowerButton")[0] == 204
    wait_power(sim, "Off")
    assert reset(sim, "PushPowerButton")[0] == 204
    wait_power(sim, "On")
    assert reset(sim, "Nmi")[0] == 204 and power(sim) == "On"


def test_already_in_state_per_profile(redfish_sim):
    dell = redfish_sim(profile="dell", transition_seconds=0)
    st, _, body = reset(dell, "On")
    assert st == 409 and "PSU501" in error_ids(body)[0]
    hpe = redfish_sim(profile="hpe", transition_seconds=0,
                      initial_power="Off")
    st, _, body = reset(hpe, "ForceRestart")
    assert st == 400
    assert error_ids(body)[0].endswith("InvalidOperationForSystemState")
    assert body["error"]["code"].endswith(".ExtendedInfo")
    dmtf = redfish_sim(transition_seconds=0)
    assert reset(dmtf, "On")[0] == 204 and power(dmtf) == "On"


def test_fault_http500_and_malformed_json(redfish_sim):
    sim = redfish_sim(fault="http500")
    assert sim.request("GET", "/redfish/v1/Systems")[0] == 500
    assert sim.request("GET", "/redfish/v1/Systems",
                       auth=("admin", "bad"))[0] == 401
    sim.control({"fault": "malformed_json"})
    st, hdrs, body = sim.request("GET", "/redfish/v1/Systems")
    assert st == 200 and isinstance(body, bytes)
    assert int(hdrs["content-length"]) == len(body)
    with pytest.raises(ValueError):
        json.loads(body)
    sim.control({"fault": None})
    assert sim.request("GET", "/redfish/v1/Systems")[2]["Members"]


def test_fault_hang_reset_tls_fail(redfish_sim):
    sim = redfish_sim(addresses="127.0.3.1-127.0.3.4")
    a, b, c, d = sim.addresses
    sim.control({"address": a, "fault": "hang"})
    sim.control({"address": b, "fault": "reset"})
    sim.control({"address": c, "fault": "tls_fail"})
    t0 = time.monotonic()
    with pytest.raises((socket.timeout, TimeoutError)):
        sim.request("GET", "/redfish/v1/Systems", address=a, timeout=0.7)
    assert time.monotonic() - t0 < 3
    assert len(sim.requests(a)) == 1  # it read the request, then said nothing
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected,
                        ssl.SSLError)):
        sim.request("GET", "/redfish/v1/Systems", address=b)
    with pytest.raises(ssl.SSLError):
        sim.request("GET", "/redfish/v1/Systems", address=c)
    assert sim.stats(c)["tls_handshakes"] == 0
    assert sim.stats(c)["connections"] == 1
    assert sim.request("GET", "/redfish/v1/Systems", address=d)[0] == 200


def test_fault_task202(redfish_sim):
    sim = redfish_sim(fault="task202", transition_seconds=0, task_polls=3)
    st, hdrs, body = reset(sim, "ForceOff")
    assert st == 202 and body["TaskState"] == "Running"
    monitor = hdrs["location"]
    codes = []
    for _ in range(6):
        st, _, body = sim.request("GET", monitor)
        codes.append(st)
        if st != 202:
            break
    assert codes == [202, 202, 202, 200]
    assert body["TaskState"] == "Completed"
    st, _, task = sim.request("GET", body["@odata.id"])
    assert st == 200 and task["TaskState"] == "Completed"
    assert power(sim) == "Off"


def test_fault_ifmatch(redfish_sim):
    sim = redfish_sim(fault="ifmatch", transition_seconds=0)
    st, _, body = reset(sim, "ForceOff")
    assert st == 428 and error_ids(body)[0].endswith("PreconditionRequired")
    st, _, _ = reset(sim, "ForceOff", headers={"If-Match": 'W/"0"'})
    assert st == 412
    _, hdrs, _ = sim.request("GET", "/redfish/v1/Systems/437XR1138R2")
    st, _, _ = reset(sim, "ForceOff", headers={"If-Match": hdrs["etag"]})
    assert st == 204 and power(sim) == "Off"


def test_sessions_and_session_limit(redfish_sim):
    sim = redfish_sim(profile="dell", fault="session_limit")
    creds = {"UserName": "admin", "Password": "password"}
    tokens = []
    for _ in range(2):
        st, hdrs, body = sim.request("POST", "/redfish/v1/SessionService/"
                                     "Sessions", creds, auth=None)
        assert st == 201 and hdrs["x-auth-token"]
        assert hdrs["location"] == body["@odata.id"]
        tokens.append((hdrs["x-auth-token"], hdrs["location"]))
    st, _, body = sim.request("POST", "/redfish/v1/SessionService/Sessions",
                              creds, auth=None)
    assert st == 503 and "RAC0218" in error_ids(body)[0]
    token, loc = tokens[0]
    st, _, _ = sim.request("GET", "/redfish/v1/Systems", auth=None,
                           headers={"X-Auth-Token": token})
    assert st == 200
    st, _, _ = sim.request("DELETE", loc, auth=None,
                           headers={"X-Auth-Token": token})
    assert st == 200
    st, _, _ = sim.request("GET", "/redfish/v1/Systems", auth=None,
                           headers={"X-Auth-Token": token})
    assert st == 401
    st, _, _ = sim.request("POST", "/redfish/v1/SessionService/Sessions",
                           creds, auth=None)
    assert st == 201
    st, _, _ = sim.request("POST", "/redfish/v1/SessionService/Sessions",
                           {"UserName": "admin", "Password": "x"}, auth=None)
    assert st == 401
    hpe = redfish_sim(profile="hpe", session_limit=1)
    assert hpe.request("POST", "/redfish/v1/SessionService/Sessions", creds,
                       auth=None)[0] == 201
    assert hpe.request("POST", "/redfish/v1/SessionService/Sessions", creds,
                       auth=None)[0] == 400


def test_ignore_soft_and_slow(redfish_sim):
    sim = redfish_sim(fault=["ignore_soft"], transition_seconds=0.1,
                      slow_ms=400)
    assert reset(sim, "GracefulShutdown")[0] == 204
    time.sleep(0.3)
    assert power(sim) == "On"
    assert reset(sim, "ForceOff")[0] == 204 and power(sim) == "Off"
    sim.control({"fault": "slow"})
    t0 = time.monotonic()
    sim.request("GET", "/redfish/v1", auth=None)
    assert time.monotonic() - t0 >= 0.4


def test_lockout_and_unlock(redfish_sim):
    sim = redfish_sim(lockout=3, users=["admin:password:Administrator",
                                        "ops:opspw:Operator"])
    for _ in range(3):
        assert sim.request("GET", "/redfish/v1/Systems",
                           auth=("ops", "bad"))[0] == 401
    assert sim.request("GET", "/redfish/v1/Systems",
                       auth=("ops", "opspw"))[0] == 401
    _, _, coll = sim.request("GET", "/redfish/v1/AccountService/Accounts")
    locked = {}
    for m in coll["Members"]:
        a = sim.request("GET", m["@odata.id"])[2]
        locked[a["UserName"]] = a["Locked"]
    assert locked == {"admin": False, "ops": True}
    sim.control({"unlock": "ops"})
    assert sim.request("GET", "/redfish/v1/Systems",
                       auth=("ops", "opspw"))[0] == 200
    # a success resets the count: two more failures do not lock
    for _ in range(2):
        sim.request("GET", "/redfish/v1/Systems", auth=("ops", "bad"))
    assert sim.request("GET", "/redfish/v1/Systems",
                       auth=("ops", "opspw"))[0] == 200


def test_multi_address_independence_and_latency(redfish_sim):
    sim = redfish_sim(addresses="127.0.4.1-127.0.4.3", transition_seconds=0,
                      systems=2)
    a, b, c = sim.addresses
    assert reset(sim, "ForceOff", address=a)[0] == 204
    assert power(sim, a) == "Off" and power(sim, b) == "On"
    sim.control({"address": c, "power_state": "Off"})
    assert power(sim, c) == "Off" and power(sim, b) == "On"
    assert power(sim, b, sid=sim.system_ids[1]) == "On"
    sim.control({"address": b, "latency_ms": 300})
    t0 = time.monotonic()
    sim.request("GET", "/redfish/v1", auth=None, address=b)
    slow = time.monotonic() - t0
    t0 = time.monotonic()
    sim.request("GET", "/redfish/v1", auth=None, address=a)
    fast = time.monotonic() - t0
    assert slow >= 0.3 and fast < 0.3
    st = sim.stats()
    assert st["per_address"]["%s:%d" % (b, sim.port)]["requests"] == 4
    sim.reset_stats()
    assert sim.stats()["requests"] == 0


def test_keepalive_reuses_one_connection(redfish_sim):
    sim = redfish_sim()
    auth = {"Authorization": "Basic " + base64.b64encode(
        b"admin:password").decode()}
    c = http.client.HTTPSConnection(sim.host, sim.port,
                                    context=insecure_context(), timeout=5)
    for path in ("/redfish/v1", "/redfish/v1/Systems",
                 "/redfish/v1/Systems/437XR1138R2", "/redfish/v1/Managers"):
        c.request("GET", path, headers=auth)
        r = c.getresponse()
        r.read()
        assert r.status == 200 and r.getheader("Connection") == "keep-alive"
    c.close()
    st = sim.stats(sim.host)
    assert st["requests"] == 4
    assert st["connections"] == 1 and st["tls_handshakes"] == 1


def test_paging(redfish_sim):
    sim = redfish_sim(profile="hpe", systems=3, page_size=2)
    _, _, page1 = sim.request("GET", "/redfish/v1/Systems")
    assert page1["Members@odata.count"] == 3 and len(page1["Members"]) == 2
    _, _, page2 = sim.request("GET", page1["Members@odata.nextLink"])
    assert len(page2["Members"]) == 1
    assert "Members@odata.nextLink" not in page2
    ids = [m["@odata.id"] for m in page1["Members"] + page2["Members"]]
    assert ids == ["/redfish/v1/Systems/%d" % i for i in (1, 2, 3)]


def test_sigterm_exits_zero_and_keeps_state_dir(redfish_sim):
    sim = redfish_sim(addresses="127.0.5.1-127.0.5.100", workers=2)
    assert sim.request("GET", "/redfish/v1", auth=None,
                       address="127.0.5.77")[0] == 200
    assert sim.stop() == 0
    assert os.path.exists(sim.cert)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.5.77", sim.port), timeout=1)


def test_fleet_concurrency(redfish_sim):
    """200 BMCs, 100 ms latency: 200 concurrent clients doing 4 requests on
    one connection each finish far sooner than if served one by one."""
    sim = redfish_sim(addresses="127.0.6.1-127.0.6.200", latency_ms=100)
    ctx = insecure_context()
    auth = {"Authorization": "Basic " + base64.b64encode(
        b"admin:password").decode()}
    errors = []

    def one(addr):
        try:
            c = http.client.HTTPSConnection(addr, sim.port, context=ctx,
                                            timeout=20)
            for _ in range(4):
                c.request("GET", "/redfish/v1/Systems", headers=auth)
                r = c.getresponse()
                r.read()
                assert r.status == 200
            c.close()
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=one, args=(a,))
               for a in sim.addresses]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    assert not errors
    st = sim.stats()
    assert st["requests"] == 800 and st["connections"] == 200
    assert wall < 10, wall  # serial would be 80 s
