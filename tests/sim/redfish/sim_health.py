"""Machine health for the Redfish simulator: Chassis with sensors in each of
the three generations real services serve, the system event log at each
vendor's path (with paging and ClearLog, with and without a task), the
identify LED in both properties, inventory fields, and Manager.Reset that
makes the BMC unreachable for a while.

Which generation, LED property and SEL path a BMC has comes from its
vendor profile (keys below, overridable by --sensors/--led/--sel-path):
  sensors   "sensors"     Chassis/{id}/Sensors (Sensor v1.x; bmcweb,
                          the DMTF public-rackmount1 mockup)
            "subsystems"  ThermalSubsystem + PowerSubsystem (Redfish 2020.4;
                          iDRAC 9 6.x)
            "legacy"      Thermal + Power (iLO 5, Supermicro X12, XCC)
  led       "location"    LocationIndicatorActive (Chassis v1.14+)
            "indicator"   IndicatorLED Lit/Blinking/Off (deprecated)
  sel_path  where the SEL lives: iDRAC Managers/iDRAC.Embedded.1/
            LogServices/Sel, iLO Systems/1/LogServices/IML, OpenBMC
            Systems/system/LogServices/EventLog, Supermicro
            Managers/1/LogServices/Log1 (issue 20's list)
Every BMC also has a second log (a lifecycle/journal log) next to the SEL,
so a test can prove that ClearLog touches the SEL only.
"""
import json
import time

Response = None  # redfish_sim.Response, set by redfish_sim at import

CHASSIS_IDS = {"dmtf": "1U", "dell": "System.Embedded.1", "hpe": "1",
               "supermicro": "1", "lenovo": "1", "openbmc": "chassis",
               "ami": "Self"}
SENSORS = {"dmtf": "sensors", "openbmc": "sensors", "dell": "subsystems",
           "hpe": "legacy", "supermicro": "legacy", "lenovo": "legacy",
           "ami": "legacy"}
LED = {"dmtf": "location", "openbmc": "location", "dell": "indicator",
       "hpe": "indicator", "supermicro": "indicator", "lenovo": "location",
       "ami": "indicator"}
SEL_PATH = {"dmtf": "Managers/BMC/LogServices/SEL",
            "dell": "Managers/iDRAC.Embedded.1/LogServices/Sel",
            "hpe": "Systems/1/LogServices/IML",
            "openbmc": "Systems/system/LogServices/EventLog",
            "supermicro": "Managers/1/LogServices/Log1",
            "lenovo": "Systems/1/LogServices/SEL",
            "ami": "Managers/Self/LogServices/SEL"}
OTHER_LOG = {"dell": "Managers/iDRAC.Embedded.1/LogServices/Lclog",
             "hpe": "Managers/1/LogServices/IEL",
             "openbmc": "Managers/bmc/LogServices/Journal"}
# LogEntryType of the SEL's LogService: "SEL" except where the vendor's
# event log carries other types (OpenBMC's EventLog: Event; iLO's IML: none
# given here) -- the client must then know the log by its Id.
SEL_TYPES = {"openbmc": "Event", "hpe": None}
# Manager.Reset types each vendor offers (iDRAC: GracefulRestart only).
MANAGER_RESETS = {"dell": ["GracefulRestart"]}

# name, ReadingType, reading, units, health, thresholds (Sensor v1.x names)
SENSOR_TABLE = [
    ("CPU1 Temp", "Temperature", 45.0, "Cel", "OK",
     {"UpperCaution": 85.0, "UpperCritical": 95.0}),
    ("Inlet Temp", "Temperature", 41.0, "Cel", "Warning",
     {"UpperCaution": 40.0, "UpperCritical": 45.0}),
    ("Fan1", "Rotational", 5400.0, "RPM", "OK", {"LowerCritical": 500.0}),
    ("Fan2", "Rotational", None, "RPM", None, {}),  # absent: no reading
    ("PSU1 Input Voltage", "Voltage", 230.0, "V", "OK",
     {"LowerCritical": 180.0, "UpperCritical": 264.0}),
    ("PSU1 Input Current", "Current", 1.25, "A", "OK", {}),
    ("PSU1 Input Power", "Power", 287.5, "W", "Critical", {}),
]
SEL_ENTRIES = 25
DOWN_SECONDS = 3.0


def chassis_id(svc):
    return CHASSIS_IDS[svc.sim.args.profile.split("-")[0]]


def option(svc, name, table):
    value = getattr(svc.sim.args, name, None)
    return value or table[svc.sim.args.profile.split("-")[0]]


def state(bmc):
    """The BMC's health state, made on first use (under bmc.lock)."""
    st = getattr(bmc, "health", None)
    if st is None:
        now = int(time.time()) - 3600
        st = bmc.health = {
            "led": False, "down_until": 0.0,
            "sel": [{"Id": str(i), "Created": iso(now + 60 * i),
                     "Severity": "Warning" if i % 5 == 0 else "OK",
                     "Message": "Event %d: %s" % (
                         i, "Inlet Temp upper caution going high"
                         if i % 5 == 0 else "Chassis intrusion cleared"),
                     "SensorType": "Temperature" if i % 5 == 0 else
                     "Physical Chassis Security"}
                    for i in range(1, SEL_ENTRIES + 1)],
            "other": [{"Id": "1", "Created": iso(now), "Severity": "OK",
                       "Message": "Lifecycle log entry"}],
        }
    return st


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t))


def sel_type(svc):
    return SEL_TYPES.get(svc.sim.args.profile.split("-")[0], "SEL")


def root_links(svc, body):
    body["Chassis"] = {"@odata.id": "/redfish/v1/Chassis"}


def is_down(bmc):
    with bmc.lock:
        st = state(bmc)
        return st.get("down_from", 0) <= time.monotonic() < st["down_until"]


# ---- Chassis, sensors, LED -------------------------------------------------

def chassis_body(svc, bmc):
    cid = chassis_id(svc)
    base = "/redfish/v1/Chassis/" + cid
    gen = option(svc, "sensors", SENSORS)
    body = {"Id": cid, "Name": "Chassis", "ChassisType": "RackMount",
            "Manufacturer": svc.p["vendor"], "Model": svc.p["model"],
            "SerialNumber": "CH%05d" % bmc.index, "PartNumber": "PN-4711",
            "Status": {"State": "Enabled", "Health": "OK"},
            "Links": {"ComputerSystems": [
                {"@odata.id": "/redfish/v1/Systems/%s" % s}
                for s in svc.sim.system_ids]}}
    with bmc.lock:
        lit = state(bmc)["led"]
    if option(svc, "led", LED) == "location":
        body["LocationIndicatorActive"] = lit
    else:
        body["IndicatorLED"] = "Blinking" if lit else "Off"
    if gen == "sensors":
        body["Sensors"] = {"@odata.id": base + "/Sensors"}
    elif gen == "subsystems":
        body["ThermalSubsystem"] = {"@odata.id": base + "/ThermalSubsystem"}
        body["PowerSubsystem"] = {"@odata.id": base + "/PowerSubsystem"}
    else:
        body["Thermal"] = {"@odata.id": base + "/Thermal"}
        body["Power"] = {"@odata.id": base + "/Power"}
    return svc.odata(base, "#Chassis.v1_14_0.Chassis", body)


def sensor_id(name):
    return name.replace(" ", "")


def status(health):
    if health is None:
        return {"State": "Absent"}
    return {"State": "Enabled", "Health": health}


def sensor_body(svc, row):
    name, rtype, reading, units, health, thr = row
    base = "/redfish/v1/Chassis/%s/Sensors/%s" % (chassis_id(svc),
                                                   sensor_id(name))
    body = {"Id": sensor_id(name), "Name": name, "ReadingType": rtype,
            "Reading": reading, "ReadingUnits": units,
            "Status": status(health),
            "Thresholds": {k: {"Reading": v} for k, v in thr.items()}}
    return svc.odata(base, "#Sensor.v1_2_0.Sensor", body)


def legacy_thresholds(thr):
    names = {"UpperCaution": "UpperThresholdNonCritical",
             "UpperCritical": "UpperThresholdCritical",
             "LowerCaution": "LowerThresholdNonCritical",
             "LowerCritical": "LowerThresholdCritical"}
    return {names[k]: v for k, v in thr.items()}


def thermal_body(svc, base):
    temps, fans = [], []
    for i, (name, rtype, reading, units, health, thr) in \
            enumerate(SENSOR_TABLE):
        entry = dict({"MemberId": str(i), "Name": name,
                      "Status": status(health)}, **legacy_thresholds(thr))
        if rtype == "Temperature":
            entry["ReadingCelsius"] = reading
            temps.append(entry)
        elif rtype == "Rotational":
            entry.update({"Reading": reading, "ReadingUnits": "RPM"})
            fans.append(entry)
    return svc.odata(base, "#Thermal.v1_7_0.Thermal",
                     {"Id": "Thermal", "Name": "Thermal",
                      "Temperatures": temps, "Fans": fans})


def power_body(svc, base):
    volts, psus, control = [], [], []
    by = {r[1]: r for r in SENSOR_TABLE}
    v = by["Voltage"]
    volts.append(dict({"MemberId": "0", "Name": v[0], "ReadingVolts": v[2],
                       "Status": status(v[4])}, **legacy_thresholds(v[5])))
    p = by["Power"]
    control.append({"MemberId": "0", "Name": "System Power Control",
                    "PowerConsumedWatts": p[2], "Status": status(p[4])})
    c = by["Current"]
    psus.append({"MemberId": "0", "Name": "PSU1", "Status": status(c[4]),
                 "LineInputVoltage": v[2], "PowerInputWatts": p[2]})
    return svc.odata(base, "#Power.v1_6_0.Power",
                     {"Id": "Power", "Name": "Power", "Voltages": volts,
                      "PowerControl": control, "PowerSupplies": psus})


def subsystem_route(svc, base, rest):
    """ThermalSubsystem / PowerSubsystem and what hangs below them."""
    by = {r[1]: r for r in SENSOR_TABLE}
    fans = [r for r in SENSOR_TABLE if r[1] == "Rotational"]
    if rest == ["ThermalSubsystem"]:
        return svc.odata(base + "/ThermalSubsystem",
                         "#ThermalSubsystem.v1_0_0.ThermalSubsystem",
                         {"Id": "ThermalSubsystem", "Name": "Thermal",
                          "Status": status("OK"),
                          "ThermalMetrics": {"@odata.id": base +
                                             "/ThermalSubsystem/ThermalMetrics"},
                          "Fans": {"@odata.id": base +
                                   "/ThermalSubsystem/Fans"}})
    if rest == ["ThermalSubsystem", "ThermalMetrics"]:
        return svc.odata(base + "/ThermalSubsystem/ThermalMetrics",
                         "#ThermalMetrics.v1_0_0.ThermalMetrics",
                         {"Id": "ThermalMetrics", "Name": "Thermal metrics",
                          "TemperatureReadingsCelsius": [
                              {"DeviceName": r[0], "Reading": r[2],
                               "DataSourceUri": base + "/Sensors/" +
                               sensor_id(r[0])}
                              for r in SENSOR_TABLE
                              if r[1] == "Temperature"]})
    if rest == ["ThermalSubsystem", "Fans"]:
        return svc.odata(base + "/ThermalSubsystem/Fans",
                         "#FanCollection.FanCollection",
                         {"Name": "Fans", "Members": [
                             {"@odata.id": base + "/ThermalSubsystem/Fans/" +
                              sensor_id(r[0])} for r in fans],
                          "Members@odata.count": len(fans)})
    if rest[:2] == ["ThermalSubsystem", "Fans"] and len(rest) == 3:
        for r in fans:
            if sensor_id(r[0]) == rest[2]:
                return svc.odata(
                    base + "/ThermalSubsystem/Fans/" + rest[2],
                    "#Fan.v1_3_0.Fan",
                    {"Id": rest[2], "Name": r[0], "Status": status(r[4]),
                     "SpeedPercent": {"Reading": None if r[2] is None
                                      else round(r[2] / 90.0, 1),
                                      "SpeedRPM": r[2],
                                      "DataSourceUri": base + "/Sensors/" +
                                      rest[2]}})
    if rest == ["PowerSubsystem"]:
        return svc.odata(base + "/PowerSubsystem",
                         "#PowerSubsystem.v1_1_0.PowerSubsystem",
                         {"Id": "PowerSubsystem", "Name": "Power",
                          "Status": status("OK"),
                          "PowerSupplies": {"@odata.id": base +
                                            "/PowerSubsystem/PowerSupplies"}})
    ps = base + "/PowerSubsystem/PowerSupplies"
    if rest == ["PowerSubsystem", "PowerSupplies"]:
        return svc.odata(ps, "#PowerSupplyCollection.PowerSupplyCollection",
                         {"Name": "Power supplies",
                          "Members": [{"@odata.id": ps + "/PSU1"}],
                          "Members@odata.count": 1})
    if rest == ["PowerSubsystem", "PowerSupplies", "PSU1"]:
        return svc.odata(ps + "/PSU1", "#PowerSupply.v1_5_0.PowerSupply",
                         {"Id": "PSU1", "Name": "PSU1",
                          "Status": status(by["Power"][4]),
                          "Metrics": {"@odata.id": ps + "/PSU1/Metrics"}})
    if rest == ["PowerSubsystem", "PowerSupplies", "PSU1", "Metrics"]:
        return svc.odata(
            ps + "/PSU1/Metrics", "#PowerSupplyMetrics.v1_0_0.PowerSupplyMetrics",
            {"Id": "Metrics", "Name": "PSU1 metrics",
             "InputVoltage": {"Reading": by["Voltage"][2]},
             "InputCurrentAmps": {"Reading": by["Current"][2]},
             "InputPowerWatts": {"Reading": by["Power"][2]}})
    return None


def chassis_route(svc, bmc, req, m, rest, path, only):
    """Everything under /redfish/v1/Chassis."""
    cid = chassis_id(svc)
    base = "/redfish/v1/Chassis/" + cid
    gen = option(svc, "sensors", SENSORS)
    if len(rest) == 1:
        return only("GET") or svc.collection(
            req, "/redfish/v1/Chassis", "#ChassisCollection.ChassisCollection",
            "Chassis Collection", [base])
    if rest[1] != cid:
        return svc.error(404, "ResourceMissingAtURI", (path,))
    sub = rest[2:]
    if not sub:
        if m == "PATCH":
            return patch_led(svc, bmc, req)
        return only("GET", "PATCH") or Response(200, chassis_body(svc, bmc))
    bad = only("GET")
    if bad:
        return bad
    body = None
    if gen == "sensors" and sub == ["Sensors"]:
        return svc.collection(req, base + "/Sensors",
                              "#SensorCollection.SensorCollection",
                              "Sensors", [base + "/Sensors/" + sensor_id(r[0])
                                          for r in SENSOR_TABLE])
    if gen == "sensors" and len(sub) == 2 and sub[0] == "Sensors":
        for r in SENSOR_TABLE:
            if sensor_id(r[0]) == sub[1]:
                body = sensor_body(svc, r)
    elif gen == "legacy" and sub == ["Thermal"]:
        body = thermal_body(svc, base + "/Thermal")
    elif gen == "legacy" and sub == ["Power"]:
        body = power_body(svc, base + "/Power")
    elif gen == "subsystems":
        body = subsystem_route(svc, base, sub)
    if body is None:
        return svc.error(404, "ResourceMissingAtURI", (path,))
    return Response(200, body)


def patch_led(svc, bmc, req):
    try:
        data = json.loads(req.body.decode("utf-8") or "null")
    except (ValueError, UnicodeDecodeError):
        return svc.error(400, "MalformedJSON")
    prop = "LocationIndicatorActive" if option(svc, "led", LED) == \
        "location" else "IndicatorLED"
    if not isinstance(data, dict) or list(data) != [prop]:
        return svc.error(400, "PropertyUnknown",
                         (",".join(data) if isinstance(data, dict) else "?",))
    value = data[prop]
    if prop == "LocationIndicatorActive" and isinstance(value, bool):
        lit = value
    elif prop == "IndicatorLED" and value in ("Lit", "Blinking", "Off"):
        lit = value != "Off"
    else:
        return svc.error(400, "PropertyValueNotInList", (str(value), prop))
    with bmc.lock:
        state(bmc)["led"] = lit
    return Response(204)


# ---- logs --------------------------------------------------------------------

def log_services(svc):
    """{collection path: [service ids]} for the SEL and the other log."""
    out = {}
    for path in (option(svc, "sel_path", SEL_PATH),
                 OTHER_LOG.get(svc.sim.args.profile)):
        if path:
            coll, _, sid = path.rpartition("/")
            out.setdefault("/redfish/v1/" + coll, []).append(sid)
    return out


def log_route(svc, bmc, req, m, path, only):
    """LogServices collections, services, entries and ClearLog; None when
    PATH is not a log path."""
    services = log_services(svc)
    sel = "/redfish/v1/" + option(svc, "sel_path", SEL_PATH)
    clean = path.split("?")[0]
    if clean in services:
        return only("GET") or svc.collection(
            req, clean, "#LogServiceCollection.LogServiceCollection",
            "Log Services", [clean + "/" + s for s in services[clean]])
    for coll, ids in services.items():
        for sid in ids:
            base = coll + "/" + sid
            key = "sel" if base == sel else "other"
            if clean == base:
                return only("GET") or Response(200, svc.odata(
                    base, "#LogService.v1_2_0.LogService",
                    {"Id": sid, "Name": sid + " log",
                     "LogEntryType": sel_type(svc) if key == "sel"
                     else "Event",
                     "Entries": {"@odata.id": base + "/Entries"},
                     "Actions": {"#LogService.ClearLog": {
                         "target": base + "/Actions/LogService.ClearLog"}}}))
            if clean == base + "/Entries":
                return only("GET") or log_entries(svc, bmc, req, base, key)
            if clean == base + "/Actions/LogService.ClearLog":
                return only("POST") or clear_log(svc, bmc, key)
    return None


def log_entries(svc, bmc, req, base, key):
    with bmc.lock:
        entries = list(state(bmc)[key])
    page = svc.sim.args.page_size or 10
    try:
        skip = max(0, int(req.query.get("$skip", ["0"])[0]))
    except ValueError:
        skip = 0
    chosen = entries[skip:skip + page]
    body = {"Name": "Log entries", "Members@odata.count": len(entries),
            "Members": [svc.odata(base + "/Entries/" + e["Id"],
                                  "#LogEntry.v1_5_0.LogEntry",
                                  dict(e, Name="Log Entry",
                                       EntryType="SEL"))
                        for e in chosen]}
    if "static_next_link" in bmc.faults and entries:
        # real services and the DMTF mockups: a nextLink that serves the
        # same page again
        body["Members@odata.nextLink"] = base + "/Entries?$skip=0"
    elif skip + len(chosen) < len(entries):
        body["Members@odata.nextLink"] = "%s/Entries?$skip=%d" % (
            base, skip + len(chosen))
    return Response(200, svc.odata(base + "/Entries",
                                   "#LogEntryCollection.LogEntryCollection",
                                   body))


def clear_log(svc, bmc, key):
    with bmc.lock:
        state(bmc)[key] = []
        if "clear_task" not in bmc.faults:
            return Response(204)
        tid = next(bmc.task_seq)
        bmc.tasks[tid] = {"done": False, "start": iso(time.time()),
                          "polls_left": 1}
    return Response(202, svc.success_body(), [
        ("Location", "/redfish/v1/TaskService/TaskMonitors/%d" % tid)])


# ---- the manager's reset -----------------------------------------------------

def manager_links(svc, body):
    mid = svc.p["manager_id"]
    base = "/redfish/v1/Managers/" + mid
    body["Actions"] = {"#Manager.Reset": {
        "target": base + "/Actions/Manager.Reset",
        "ResetType@Redfish.AllowableValues": MANAGER_RESETS.get(
            svc.sim.args.profile, ["ForceRestart", "GracefulRestart"])}}
    if base + "/LogServices" in log_services(svc):
        body["LogServices"] = {"@odata.id": base + "/LogServices"}


def system_links(svc, body, base):
    if base + "/LogServices" in log_services(svc):
        body["LogServices"] = {"@odata.id": base + "/LogServices"}
    body["ProcessorSummary"] = {"Count": 2, "Model": "Simulated CPU @ 2.4GHz"}
    body["MemorySummary"] = {"TotalSystemMemoryGiB": 384}
    body["PartNumber"] = "SYS-PN-0815"


def manager_reset(svc, bmc, req):
    try:
        data = json.loads(req.body.decode("utf-8") or "null")
    except (ValueError, UnicodeDecodeError):
        return svc.error(400, "MalformedJSON")
    allowed = MANAGER_RESETS.get(svc.sim.args.profile,
                                 ["ForceRestart", "GracefulRestart"])
    rtype = data.get("ResetType") if isinstance(data, dict) else None
    if rtype not in allowed:
        return svc.error(400, "ActionParameterValueNotInList",
                         (str(rtype), "ResetType", "Manager.Reset"))
    with bmc.lock:
        # the answer leaves first; then the BMC is gone for DOWN_SECONDS
        state(bmc)["down_from"] = time.monotonic() + 0.3
        state(bmc)["down_until"] = time.monotonic() + 0.3 + DOWN_SECONDS
        state(bmc)["resets"] = state(bmc).get("resets", 0) + 1
    return Response(204)
