"""GET /probe end to end: real nginx + bmc-managerd probing the HTTPS
Redfish simulator and OpenIPMI's ipmi_sim through the modules file. The
text is checked by `promtool check metrics` and parsed by
prometheus_client's parser; values are compared with what the service's
own endpoints answer; the simulator's request log counts what the BMC saw
(single flight, cache expiry); refusals and a hung BMC answer as
exporters do."""
import concurrent.futures
import json
import os
import pathlib
import subprocess
import time

import pytest

from test_prometheus import promtool_check, samples

PASSWORD = "probe-Pa55word"
IPMI_PASSWORD = "password"  # tests/sim/ipmi/lan.conf.in
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def write_modules(path, text):
    path = pathlib.Path(path)
    path.write_text(text)
    os.chmod(path, 0o600)
    return path


def section(name, port, protocol="redfish", collect="power",
            password=PASSWORD, targets="127.0.0.0/8", **extra):
    """One module of BMC_PROBE_MODULES_FILE (interim credentials)."""
    lines = [f"[{name}]", f"protocol = {protocol}", f"collect = {collect}"]
    if port:
        lines.append(f"port = {port}")
    lines += [f"{k} = {v}" for k, v in extra.items()]
    lines += ["username = admin", f"password = {password}",
              f"targets = {targets}"]
    return "\n".join(lines) + "\n\n"


def modules_text(port, ipmi_port=623):
    return ("# probe modules for the tests\n"
            + section("rf", port)
            + section("rf_b", port).replace("]", "]   ; rf, another key", 1)
            + section("rf_short", port, cache_seconds=0.5)
            + section("rf_all", port, timeout_seconds=20,
                      collect="power, sensors, event_log_count, inventory_info")
            + section("rf_narrow", 0, targets="127.0.9.0/24, ::1/128")
            + section("ipmi", ipmi_port, protocol="ipmitool", cipher_suite=3,
                      password=IPMI_PASSWORD, targets="127.0.0.1/32"))


def promtool_ok(text):
    assert promtool_check(text) == "", text


parse = samples  # {(name, labels): value}


def val(smp, metric, **labels):
    return smp[(metric, frozenset(labels.items()))]  # KeyError: no such series


@pytest.fixture
def rf(redfish_sim):
    return redfish_sim(profile="dmtf", users=[f"admin:{PASSWORD}:Administrator"],
                       transition_seconds=0, latency_ms=100)


@pytest.fixture
def svc(service_factory, rf, tmp_path):
    mods = write_modules(tmp_path / "modules.ini", modules_text(rf.port))
    return service_factory({"BMC_PROBE_MODULES_FILE": mods,
                            "BMC_LIGHT_WORKERS": 8, "BMC_MAX_WORKERS": 2})


def probe(svc, module, target, **kw):
    return svc.get("/probe", params={"module": module, "target": target}, **kw)


@pytest.mark.valgrind
def test_power_probe_equals_power_state(svc, rf):
    for state, want in (("On", 1), ("Off", 0)):
        rf.control({"power_state": state})
        r = probe(svc, "rf_short" if want == 0 else "rf", rf.host)
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"] == CONTENT_TYPE
        promtool_ok(r.text)
        smp = parse(r.text)
        assert val(smp, "bmc_up") == 1
        assert val(smp, "bmc_power_on") == want
        assert val(smp, "bmc_probe_collect_success", collect="power") == 1
        assert val(smp, "bmc_probe_duration_seconds") > 0
        ps = svc.post("/power-state", {"ip": rf.host, "port": rf.port,
                                       "username": "admin", "password": PASSWORD,
                                       "protocol": "redfish"}).json()
        assert ps["data"]["power_state"] == state


def registry_methods():
    import fixtures_service
    out = subprocess.run([str(fixtures_service.DAEMON), "--list-methods"],
                         capture_output=True, text=True, check=True).stdout
    return {m["name"] for m in json.loads(out)}


ITEM_METHODS = {"power": "get_power_state", "sensors": "get_sensors",
                "event_log_count": "get_event_log",
                "inventory_info": "get_inventory"}


def test_every_item_reports_whether_it_was_collected(svc, rf):
    r = probe(svc, "rf_all", rf.host)
    assert r.status_code == 200
    promtool_ok(r.text)
    smp = parse(r.text)
    have = registry_methods()
    for item, method in ITEM_METHODS.items():
        # collected exactly when this build has the method
        assert val(smp, "bmc_probe_collect_success",
                   collect=item) == (1 if method in have else 0), item
    # an item this build lacks does not make the BMC look down
    assert val(smp, "bmc_up") == 1


UNITS = {"Cel": "celsius", "V": "volts", "A": "amperes", "W": "watts",
         "RPM": "rpm"}
HEALTH = {"ok": 0, "warning": 1, "critical": 2}


@pytest.mark.parametrize("profile,generation", [
    ("dmtf", "sensors"), ("dell", "subsystems"), ("hpe", "legacy")])
def test_sensor_values_equal_post_sensors(service_factory, redfish_sim,
                                          tmp_path, profile, generation):
    """Each Redfish sensor generation: Sensors, Thermal/PowerSubsystem and
    the legacy Thermal/Power resources."""
    if "get_sensors" not in registry_methods():
        pytest.skip("get_sensors is not in this build's registry yet (issue 20)")
    rf = redfish_sim(profile=profile, sensors=generation,
                     users=[f"admin:{PASSWORD}:Administrator"])
    mods = write_modules(tmp_path / "m.ini", modules_text(rf.port))
    svc = service_factory({"BMC_PROBE_MODULES_FILE": mods})
    text = probe(svc, "rf_all", rf.host).text
    promtool_ok(text)
    smp = parse(text)
    body = svc.post("/sensors", {"ip": rf.host, "port": rf.port,
                                 "username": "admin", "password": PASSWORD,
                                 "protocol": "redfish"}).json()
    sensors = body["data"]["sensors"]
    assert sensors
    for s in sensors:
        if s["reading"] is not None and s["unit"] in UNITS:
            assert val(smp, "bmc_sensor_value_" + UNITS[s["unit"]],
                       name=s["name"], type=s["type"]) == s["reading"]
        if s["health"] in HEALTH:
            assert val(smp, "bmc_sensor_health", name=s["name"]) == HEALTH[s["health"]]


def test_ipmi_sensor_values_equal_post_sensors(service_factory, ipmi_sim,
                                               tmp_path):
    if "get_sensors" not in registry_methods():
        pytest.skip("get_sensors is not in this build's registry yet (issue 20)")
    bmc = ipmi_sim(power=1)
    mods = write_modules(tmp_path / "m.ini", section(
        "ipmi_all", bmc.port, protocol="ipmitool", cipher_suite=3,
        password=IPMI_PASSWORD, targets="127.0.0.1/32",
        collect="power, sensors"))
    svc = service_factory({"BMC_PROBE_MODULES_FILE": mods})
    smp = parse(probe(svc, "ipmi_all", f"{bmc.host}:{bmc.port}").text)
    body = svc.post("/sensors", {"ip": bmc.host, "port": bmc.port,
                                 "username": "admin", "password": IPMI_PASSWORD,
                                 "protocol": "ipmitool", "cipher_suite": 3}).json()
    for s in body["data"]["sensors"]:
        if s["reading"] is not None and s["unit"] in UNITS:
            assert val(smp, "bmc_sensor_value_" + UNITS[s["unit"]],
                       name=s["name"], type=s["type"]) == s["reading"]


def test_event_log_and_inventory_equal_their_endpoints(svc, rf):
    have = registry_methods()
    if not {"get_event_log", "get_inventory"} & have:
        pytest.skip("get_event_log / get_inventory not in this build yet (issue 20)")
    smp = parse(probe(svc, "rf_all", rf.host).text)
    base = {"ip": rf.host, "port": rf.port, "username": "admin",
            "password": PASSWORD, "protocol": "redfish"}
    if "get_event_log" in have:
        total = svc.post("/event-log", base).json()["data"]["total"]
        assert val(smp, "bmc_event_log_entries") == total
    if "get_inventory" in have:
        inv = svc.post("/inventory", base).json()["data"]
        want = {"manufacturer": inv["manufacturer"], "model": inv["model"],
                "serial": inv["serial_number"],
                "bmc_firmware": inv["bmc_firmware"],
                "bios_version": inv["bios_version"]}
        assert val(smp, "bmc_info",
                   **{k: v for k, v in want.items() if v is not None}) == 1


def test_concurrent_scrapes_cost_one_collection(svc, rf):
    # the cost of one collection, on another module (another cache key)
    rf.reset_stats()
    assert parse(probe(svc, "rf_b", rf.host).text)[("bmc_up", frozenset())] == 1
    one = len(rf.requests())
    assert one >= 1
    rf.reset_stats()
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: probe(svc, "rf", rf.host), range(20)))
    for a in answers:
        assert a.status_code == 200 and val(parse(a.text), "bmc_up") == 1
    assert len(rf.requests()) == one  # twenty scrapes, one collection
    m = parse(svc.get("/metrics").text)
    collected = val(m, "bmc_manager_probes_total", module="rf", result="collected")
    served = sum(m.get(("bmc_manager_probes_total",
                        frozenset({"module": "rf", "result": r}.items())), 0)
                 for r in ("cached", "shared"))
    assert collected == 1 and served == 19


def test_cache_expires(svc, rf):
    rf.reset_stats()
    first = parse(probe(svc, "rf_short", rf.host).text)
    n = len(rf.requests())
    assert val(first, "bmc_probe_cache_age_seconds") == 0
    # after the module's 0.5 s, a new collection
    time.sleep(0.6)
    probe(svc, "rf_short", rf.host)
    assert len(rf.requests()) == 2 * n


def test_hung_bmc_is_bmc_up_0_with_200(svc, rf):
    rf.control({"fault": "hang"})
    try:
        r = probe(svc, "rf_all", rf.host,
                  headers={"X-Prometheus-Scrape-Timeout-Seconds": "2"})
        assert r.status_code == 200, r.text
        promtool_ok(r.text)
        smp = parse(r.text)
        assert val(smp, "bmc_up") == 0
        assert val(smp, "bmc_probe_collect_success", collect="power") == 0
        assert ("bmc_power_on", frozenset()) not in smp
        # the scraper's timeout (minus 0.5 s) bounded the collection
        assert val(smp, "bmc_probe_duration_seconds") < 2
    finally:
        rf.control({"fault": "none"})


def test_refusals_are_plain_text(svc, rf):
    r = probe(svc, "nope", rf.host)
    assert r.status_code == 400 and "unknown module" in r.text
    assert r.headers["Content-Type"].startswith("text/plain")
    r = svc.get("/probe", params={"target": rf.host})
    assert r.status_code == 400
    for bad in ("", "not-an-ip", "10.0.0.1:99999", "[::1", "300.1.1.1"):
        r = probe(svc, "rf", bad)
        assert r.status_code == 400, bad
    r = probe(svc, "rf_narrow", rf.host)  # 127.0.0.1 is outside 127.0.9.0/24
    assert r.status_code == 403 and "outside" in r.text
    assert PASSWORD not in r.text
    r = probe(svc, "rf", "10.1.2.3")
    assert r.status_code == 403
    assert svc.post("/probe", {}).status_code == 405


def test_credential_references_and_target_policy(service_factory, rf,
                                                  tmp_path):
    creds = write_modules(tmp_path / "credentials.ini", f"""[dc1]
username = admin
password = {PASSWORD}
targets = 127.0.0.0/8

[dc_narrow]
username = admin
password = {PASSWORD}
targets = 127.0.9.0/24
""")
    mods = write_modules(tmp_path / "m.ini", f"""[cred]
credential = dc1
port = {rf.port}

[cred_narrow]
credential = dc_narrow
port = {rf.port}

[cred_missing]
credential = nobody
""")
    svc = service_factory({"BMC_PROBE_MODULES_FILE": mods,
                           "BMC_CREDENTIALS_FILE": creds,
                           "BMC_DENIED_TARGETS": "127.0.0.2/32"})
    r = probe(svc, "cred", rf.host)
    assert r.status_code == 200, r.text
    assert val(parse(r.text), "bmc_up") == 1
    for module, target in (("cred_narrow", rf.host),  # outside its targets
                           ("cred_missing", rf.host),  # no such credential
                           ("cred", "127.0.0.2")):  # the target policy
        r = probe(svc, module, target)
        assert r.status_code == 403, (module, target, r.text)
        assert PASSWORD not in r.text


def test_modules_file_must_be_0600(service_factory, tmp_path, rf):
    mods = write_modules(tmp_path / "m.ini", modules_text(rf.port))
    os.chmod(mods, 0o644)
    svc = service_factory({"BMC_PROBE_MODULES_FILE": mods}, start=False)
    proc = subprocess.run([str(svc_daemon())], env=svc.env, capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode != 0
    assert "0600" in proc.stderr and str(mods) in proc.stderr


def svc_daemon():
    import fixtures_service
    return fixtures_service.DAEMON


def test_ipmi_power_probe(service_factory, ipmi_sim, tmp_path):
    bmc = ipmi_sim(power=1)
    mods = write_modules(tmp_path / "m.ini", modules_text(443, bmc.port))
    svc = service_factory({"BMC_PROBE_MODULES_FILE": mods})
    r = probe(svc, "ipmi", f"{bmc.host}:{bmc.port}")
    assert r.status_code == 200, r.text
    promtool_ok(r.text)
    smp = parse(r.text)
    assert val(smp, "bmc_up") == 1 and val(smp, "bmc_power_on") == 1
