"""BMC accounts end to end through nginx and the daemon: create_user,
modify_user, delete_user over Redfish (the collection model of the DMTF
profile, the fixed slots of the Dell/iDRAC profile) and over IPMI (ipmi_sim's
user table, driven by the real ipmitool). The password rotation is checked
by logging in through the service with the new password, and the secrets
are looked for in the log, the task store and the command lines of the
ipmitool processes while they run."""
import os
import pathlib
import threading

import pytest

PASSWORD = "s3cret-Pa55word"
NEW_PW = "R0tated-Pw-4711"
NEWER_PW = "Second-R0tation9"


@pytest.fixture
def svc(service_factory):
    return service_factory({"BMC_LOG_LEVEL": "DEBUG"})


def rf(sim, user="admin", pw=PASSWORD, **kw):
    body = {"ip": sim.host, "port": sim.port, "username": user,
            "password": pw, "protocol": "redfish"}
    body.update(kw)
    return body


def ipmi(bmc, user="admin", pw="password", **kw):
    body = {"ip": bmc.host, "port": bmc.port, "username": user,
            "password": pw, "protocol": "ipmitool", "cipher_suite": 3}
    body.update(kw)
    return body


def names(svc, body):
    r = svc.post("/list-users", body)
    assert r.status_code == 200, r.text
    return {u["name"]: u for u in r.json()["data"]["users"] if u["name"]}


def secrets_absent(svc, *secrets):
    """No secret in the service's log or its task store file."""
    log = svc.log()
    store = pathlib.Path(svc.state, "tasks.store").read_bytes()
    for s in secrets:
        assert s not in log
        assert s.encode() not in store


def life_cycle(svc, base_for, new_user):
    """create → log in → change role and password → log in with the new one
    → delete → log in fails."""
    admin = base_for("admin")
    r = svc.post("/create-user", dict(admin, user=new_user, new_password=NEW_PW,
                                      role="operator"))
    assert r.status_code == 200, r.text
    user = r.json()["data"]["user"]
    assert user["name"] == new_user and isinstance(user["id"], str)
    assert svc.post("/validate", base_for(new_user, NEW_PW)).json()["success"]
    r = svc.post("/modify-user", dict(admin, user=new_user,
                                      new_password=NEWER_PW, role="administrator"))
    assert r.status_code == 200, r.text
    assert r.json()["data"]["user"]["role"] == "Administrator"
    assert svc.post("/validate", base_for(new_user, NEW_PW)).status_code == 401
    assert svc.post("/validate", base_for(new_user, NEWER_PW)).json()["success"]
    r = svc.post("/delete-user", dict(admin, user=new_user))
    assert r.status_code == 200, r.text
    assert r.json()["data"] == {"deleted": True}
    assert new_user not in names(svc, admin)
    assert svc.post("/validate", base_for(new_user, NEWER_PW)).status_code == 401
    secrets_absent(svc, NEW_PW, NEWER_PW)


@pytest.mark.parametrize("profile", ["dmtf", "dell"])
def test_redfish_rotation_end_to_end(svc, redfish_sim, profile):
    sim = redfish_sim(profile=profile,
                      users=[f"admin:{PASSWORD}:Administrator"])

    def base_for(user, pw=None):
        return rf(sim, user, pw or (PASSWORD if user == "admin" else NEW_PW))
    life_cycle(svc, base_for, "svc-" + profile)
    # the Dell slots: created into a numbered slot, deleted by clearing it
    reqs = [(e["method"], e["path"]) for e in sim.requests()]
    writes = [m for m, p in reqs if m in ("POST", "PATCH", "DELETE")
              and "/AccountService/" in p]
    if profile == "dell":
        assert "POST" not in writes and "DELETE" not in writes
    else:
        assert "POST" in writes and "DELETE" in writes


def test_redfish_password_policy_is_2002_with_the_bmcs_words(svc, redfish_sim):
    sim = redfish_sim(profile="dmtf", users=[f"admin:{PASSWORD}:Administrator"])
    r = svc.post("/create-user", dict(rf(sim), user="weak", new_password="short",
                                      role="readonly"))
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error_code"] == 2002
    assert "PropertyValueFormatError" in body["details"] or \
        "policy" in body["details"]
    assert "short" not in body["details"]
    assert "weak" not in names(svc, rf(sim))


def test_refuses_to_lock_out_the_account_in_use(svc, redfish_sim, ipmi_sim):
    sim = redfish_sim(profile="dmtf", users=[f"admin:{PASSWORD}:Administrator"])
    for body in (dict(rf(sim), user="admin"),):
        r = svc.post("/delete-user", body)
        assert r.status_code == 400 and r.json()["error_code"] == 2002
        assert "refusing to remove the account in use" in r.json()["details"]
        for change in ({"enabled": False}, {"role": "readonly"}):
            r = svc.post("/modify-user", dict(body, **change))
            assert r.status_code == 400, r.text
            assert "refusing to remove the account in use" in r.json()["details"]
    assert names(svc, rf(sim))["admin"]["enabled"] is True
    # a password change of the account in use is allowed and says so
    r = svc.post("/modify-user", dict(rf(sim), user="admin", new_password=NEW_PW))
    assert r.status_code == 200, r.text
    assert "next call must use the new one" in r.json()["data"]["note"]
    assert svc.post("/validate", rf(sim, pw=NEW_PW)).json()["success"]
    bmc = ipmi_sim()
    r = svc.post("/delete-user", dict(ipmi(bmc), user="admin"))
    assert r.status_code == 400 and "account in use" in r.json()["details"]
    r = svc.post("/modify-user", dict(ipmi(bmc), user="admin", role="readonly"))
    assert r.status_code == 400 and "account in use" in r.json()["details"]


def cmdline_watcher(stop, seen):
    """Collect the command lines of every ipmitool process until STOP."""
    while not stop.is_set():
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    cmd = pathlib.Path("/proc", pid, "cmdline").read_bytes()
                except OSError:
                    continue
                if b"ipmitool" in cmd:
                    seen.add(cmd)


def test_ipmi_rotation_end_to_end(svc, ipmi_sim):
    bmc = ipmi_sim()
    stop, seen = threading.Event(), set()
    watcher = threading.Thread(target=cmdline_watcher, args=(stop, seen))
    watcher.start()
    try:
        def base_for(user, pw=None):
            return ipmi(bmc, user, pw or ("password" if user == "admin" else NEW_PW))
        life_cycle(svc, base_for, "svcacct")
    finally:
        stop.set()
        watcher.join()
    assert any(b"user\0set\0password" in c for c in seen), seen
    for c in seen:
        assert NEW_PW.encode() not in c and NEWER_PW.encode() not in c


def test_ipmi_limits_are_2002(svc, ipmi_sim):
    bmc = ipmi_sim()
    r = svc.post("/create-user", dict(ipmi(bmc), user="x" * 17, new_password="pw12345678",
                                      role="operator"))
    assert r.status_code == 400 and r.json()["error_code"] == 2002
    r = svc.post("/create-user", dict(ipmi(bmc), user="longpw", new_password="p" * 21,
                                      role="operator"))
    assert r.status_code == 400 and "20 bytes" in r.json()["details"]
    r = svc.post("/create-user", dict(ipmi(bmc), user="admin", new_password="pw12345678",
                                      role="operator"))
    assert r.status_code == 400 and "exists already" in r.json()["details"]


@pytest.mark.valgrind
def test_registry_checks_before_any_task(svc, redfish_sim):
    sim = redfish_sim(profile="dmtf", users=[f"admin:{PASSWORD}:Administrator"])
    before = len(sim.requests())
    for body in (dict(rf(sim), user="u", new_password=NEW_PW, role="root"),
                 dict(rf(sim), user="u", role="operator"),
                 dict(rf(sim), new_password=NEW_PW, role="operator")):
        r = svc.post("/create-user", body)
        assert r.status_code == 400 and r.json()["error_code"] == 2002
        assert "task_id" not in r.json()
    assert len(sim.requests()) == before
