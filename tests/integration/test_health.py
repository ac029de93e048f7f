"""Machine health end to end through nginx and the daemon: sensors in each
Redfish generation (Sensors, ThermalSubsystem/PowerSubsystem, the legacy
Thermal/Power) and over IPMI (ipmi_sim's SDR repository compiled from
tests/sim/ipmi/bmc.sdrs, read by the real ipmitool), the event log at each
vendor's path with paging, ClearLog touching the SEL only (with and
without a task), inventory, the identify LED in both properties, and a BMC
reset that waits until the BMC answers again."""
import pytest

PASSWORD = "s3cret-Pa55word"
SENSOR_KEYS = {"name", "type", "reading", "unit", "health", "thresholds"}


@pytest.fixture
def svc(service_factory):
    return service_factory({"BMC_MAX_WAIT_FOR_STATE_SECONDS": 30})


def rf(sim, **kw):
    return dict({"ip": sim.host, "port": sim.port, "username": "admin",
                 "password": PASSWORD, "protocol": "redfish"}, **kw)


def ipmi(bmc, **kw):
    return dict({"ip": bmc.host, "port": bmc.port, "username": "admin",
                 "password": "password", "protocol": "ipmitool",
                 "cipher_suite": 3}, **kw)


def sim_for(redfish_sim, profile, **kw):
    return redfish_sim(profile=profile,
                       users=[f"admin:{PASSWORD}:Administrator"], **kw)


def data_of(r):
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True, body
    return body["data"]


def by_name(sensors):
    return {s["name"]: s for s in sensors}


@pytest.mark.valgrind
@pytest.mark.parametrize("profile,generation", [
    ("dmtf", "sensors"), ("dell", "subsystems"), ("hpe", "legacy")])
def test_sensors_same_shape_in_every_redfish_generation(svc, redfish_sim,
                                                        profile, generation):
    sim = sim_for(redfish_sim, profile)
    sensors = data_of(svc.post("/sensors", rf(sim)))["sensors"]
    assert sensors and all(set(s) == SENSOR_KEYS for s in sensors)
    types = {s["type"] for s in sensors}
    assert {"temperature", "fan", "voltage", "power"} <= types
    named = by_name(sensors)
    cpu = named["CPU1 Temp"]
    assert (cpu["reading"], cpu["unit"]) == (45, "Cel")
    fans = [s for s in sensors if s["type"] == "fan"]
    assert any(f["reading"] == 5400 and f["unit"] == "RPM" for f in fans)
    assert any(f["reading"] is None for f in fans)  # absent: null, never 0
    volts = [s for s in sensors if s["type"] == "voltage"]
    assert volts[0]["reading"] == 230 and volts[0]["unit"] == "V"
    if generation != "subsystems":  # excerpts carry no thresholds
        assert cpu["thresholds"]["upper_critical"] == 95
        assert named["Inlet Temp"]["health"] == "warning"
    paths = {e["path"] for e in sim.requests()}
    if generation == "sensors":
        assert any("/Sensors/" in p for p in paths)
    elif generation == "subsystems":
        assert any("/ThermalSubsystem" in p for p in paths)
        assert not any(p.endswith("/Thermal") for p in paths)
    else:
        assert any(p.endswith("/Thermal") for p in paths)
    only_fans = data_of(svc.post("/sensors", rf(sim, type="fan")))["sensors"]
    assert only_fans and {s["type"] for s in only_fans} == {"fan"}


def test_ipmi_sensors_from_the_sdr_repository(svc, ipmi_sim):
    bmc = ipmi_sim()
    sensors = by_name(data_of(svc.post("/sensors", ipmi(bmc)))["sensors"])
    assert all(set(s) == SENSOR_KEYS for s in sensors.values())
    cpu = sensors["CPU Temp"]
    assert (cpu["type"], cpu["reading"], cpu["unit"], cpu["health"]) == \
        ("temperature", 45, "Cel", "ok")
    assert cpu["thresholds"] == {"upper_caution": 85, "upper_critical": 95,
                                 "upper_fatal": 100}
    assert sensors["Fan1"]["reading"] == 5400
    assert sensors["Fan1"]["thresholds"]["lower_critical"] == 500
    assert sensors["Fan2"]["reading"] is None and sensors["Fan2"]["type"] == "fan"
    assert (sensors["Rail 12V"]["reading"], sensors["Rail 12V"]["unit"]) == (12.1, "V")
    assert sensors["PSU1 Current"]["unit"] == "A"
    assert sensors["PSU1 Power"]["reading"] == 288
    temps = data_of(svc.post("/sensors", ipmi(bmc, type="temperature")))["sensors"]
    assert [s["name"] for s in temps] == ["CPU Temp"]


SEL_PATHS = {"dell": "/redfish/v1/Managers/iDRAC.Embedded.1/LogServices/Sel",
             "hpe": "/redfish/v1/Systems/1/LogServices/IML",
             "openbmc": "/redfish/v1/Systems/system/LogServices/EventLog",
             "supermicro": "/redfish/v1/Managers/1/LogServices/Log1",
             "dmtf": "/redfish/v1/Managers/BMC/LogServices/SEL"}


@pytest.mark.parametrize("profile", sorted(SEL_PATHS))
def test_event_log_found_at_each_vendors_path(svc, redfish_sim, profile):
    sim = sim_for(redfish_sim, profile, page_size=10)
    data = data_of(svc.post("/event-log", rf(sim, limit=5)))
    assert data["log"] == SEL_PATHS[profile]
    assert data["total"] == 25 and len(data["entries"]) == 5
    created = [e["created"] for e in data["entries"]]
    assert created == sorted(created, reverse=True)
    # the newest five, though the BMC lists oldest first
    assert [e["id"] for e in data["entries"]] == ["25", "24", "23", "22", "21"]
    assert {e["severity"] for e in data["entries"]} <= {"ok", "warning"}
    everything = data_of(svc.post("/event-log", rf(sim, limit=100)))
    assert len(everything["entries"]) == 25  # three pages followed
    assert everything["entries"][0]["id"] == "25"


def test_event_log_paging_stops_at_a_static_next_link(svc, redfish_sim):
    sim = sim_for(redfish_sim, "dmtf", page_size=10, fault=["static_next_link"])
    data = data_of(svc.post("/event-log", rf(sim, limit=100)))
    assert len(data["entries"]) == 10
    entries_gets = [e for e in sim.requests() if "/Entries" in e["path"]]
    assert len(entries_gets) <= 3


@pytest.mark.parametrize("profile,fault", [("dell", None), ("openbmc", "clear_task")])
def test_clear_event_log_clears_the_sel_only(svc, redfish_sim, profile, fault):
    sim = sim_for(redfish_sim, profile, fault=[fault] if fault else [])
    other = {"dell": "/redfish/v1/Managers/iDRAC.Embedded.1/LogServices/Lclog",
             "openbmc": "/redfish/v1/Managers/bmc/LogServices/Journal"}[profile]
    data = data_of(svc.post("/clear-event-log", rf(sim)))
    assert data["cleared"] is True and data["log"] == SEL_PATHS[profile]
    assert data_of(svc.post("/event-log", rf(sim)))["total"] == 0
    status, _, body = sim.request("GET", other + "/Entries",
                                  auth=("admin", PASSWORD))
    assert status == 200 and body["Members@odata.count"] == 1
    posts = [e["path"] for e in sim.requests() if e["method"] == "POST"]
    assert posts == [SEL_PATHS[profile] + "/Actions/LogService.ClearLog"]


def test_ipmi_event_log_and_clear(svc, ipmi_sim):
    bmc = ipmi_sim()
    data = data_of(svc.post("/event-log", ipmi(bmc)))
    assert data["total"] == 3 and data["log"] == "SEL"
    entries = data["entries"]
    assert [e["id"] for e in entries] == ["3", "2", "1"]  # newest first
    assert entries[2]["severity"] == "critical"
    assert entries[2]["sensor"] == "Temperature CPU Temp"
    assert "Upper Critical going high" in entries[2]["message"]
    assert entries[0]["severity"] == "ok"  # a deassertion
    assert data_of(svc.post("/event-log", ipmi(bmc, limit=1)))["entries"][0]["id"] == "3"
    assert data_of(svc.post("/clear-event-log", ipmi(bmc)))["cleared"] is True
    assert data_of(svc.post("/event-log", ipmi(bmc)))["entries"] == []


def test_inventory_both_protocols(svc, redfish_sim, ipmi_sim):
    sim = sim_for(redfish_sim, "dmtf")
    inv = data_of(svc.post("/inventory", rf(sim)))
    assert inv["manufacturer"] == "Contoso" and inv["model"] == "3500"
    assert inv["part_number"] == "SYS-PN-0815" and inv["uuid"]
    assert inv["bios_version"] == "P79 v1.45 (12/06/2017)"
    assert inv["bmc_firmware"] == "1.45.455b66-rev4"
    assert inv["processors"] == {"count": 2, "model": "Simulated CPU @ 2.4GHz"}
    assert inv["memory_gib"] == 384
    fw = data_of(svc.post("/execute", rf(sim, method="get_fw_version")))
    assert fw["fw_version"] == inv["bmc_firmware"]
    bmc = ipmi_sim()
    inv = data_of(svc.post("/inventory", ipmi(bmc)))
    assert (inv["manufacturer"], inv["model"], inv["serial_number"],
            inv["part_number"]) == ("Simulated Systems Inc.", "SIM-2000 Server",
                                    "SN-SIM-000042", "SIM-2000-A")
    assert inv["bmc_firmware"] == "9.08" and inv["uuid"]
    assert inv["memory_gib"] is None and inv["processors"]["count"] is None


@pytest.mark.parametrize("profile,prop", [("dmtf", "LocationIndicatorActive"),
                                          ("dell", "IndicatorLED")])
def test_identify_led_both_properties(svc, redfish_sim, profile, prop):
    sim = sim_for(redfish_sim, profile)
    on = data_of(svc.post("/identify", rf(sim, state="on")))
    assert on == {"state": "on", "property": prop, "verified": True, "lit": True}
    patches = [e for e in sim.requests() if e["method"] == "PATCH"]
    assert len(patches) == 1 and "/Chassis/" in patches[0]["path"]
    off = data_of(svc.post("/identify", rf(sim, state="off")))
    assert off["lit"] is False and off["verified"] is True
    r = svc.post("/identify", rf(sim, state="blink"))
    assert r.status_code == 400 and r.json()["error_code"] == 2002


def test_ipmi_identify(svc, ipmi_sim):
    bmc = ipmi_sim()
    data = data_of(svc.post("/identify", ipmi(bmc, state="on", seconds=30)))
    assert data["state"] == "on" and data["seconds"] == 30
    assert data["verified"] is None
    assert ("identify", '"30 0"') in bmc.power_log() or \
        any(k == "identify" for k, _ in bmc.power_log())


@pytest.mark.parametrize("profile,rtype", [("dmtf", "GracefulRestart"),
                                           ("dell", "GracefulRestart")])
@pytest.mark.slow  # behaviour/timing; not run in the sanitizer pass
def test_reset_bmc_waits_until_it_answers_again(svc, redfish_sim, profile, rtype):
    sim = sim_for(redfish_sim, profile)
    data = data_of(svc.post("/reset-bmc", rf(sim, wait_seconds=25)))
    assert data["reset_type"] == rtype
    assert data["ready"] is True and data["went_down"] is True
    assert data["seconds"] >= 3
    resets = [e for e in sim.requests()
              if e["path"].endswith("/Actions/Manager.Reset")]
    assert len(resets) == 1
    assert data_of(svc.post("/validate", rf(sim)))["ok"] is True
    cold = data_of(svc.post("/reset-bmc", rf(sim, kind="cold", wait_seconds=0)))
    assert cold["reset_type"] == ("ForceRestart" if profile == "dmtf"
                                  else "GracefulRestart")


def test_ipmi_reset_bmc_refused_is_the_bmcs_no(svc, ipmi_sim):
    """ipmi_sim implements neither Cold nor Warm Reset (it answers 0xC1
    Invalid command): the BMC's no is success:false with its own words,
    the command sent once, and nothing waited for."""
    bmc = ipmi_sim()
    r = svc.post("/reset-bmc", ipmi(bmc, kind="warm", wait_seconds=10))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is False
    assert "Invalid command" in body["message"]
    task = svc.get("/tasks/" + body["task_id"]).json()
    assert task["status"] == "failed" and task["error_code"] == 3001


def test_health_methods_are_one_registry_entry_each(svc, redfish_sim):
    sim = sim_for(redfish_sim, "dmtf")
    before = len(sim.requests())
    for path, body in (("/sensors", {"type": "humidity"}),
                       ("/event-log", {"limit": 0}),
                       ("/reset-bmc", {"kind": "lukewarm"})):
        r = svc.post(path, rf(sim, **body))
        assert r.status_code == 400 and r.json()["error_code"] == 2002
        assert "task_id" not in r.json()
    assert len(sim.requests()) == before
