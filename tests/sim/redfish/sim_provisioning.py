"""sim_provisioning.py - boot override and virtual media for redfish_sim.py.

Kept in its own module so the simulator's other areas grow independently.
redfish_sim.py calls: attach() when a Bmc is made, system_fields() when a
system is rendered, etag_part() for its ETag, route_system() /
route_manager() for the resources below a system / manager,
patch_system() for PATCH on a system, on_reset() after a reset was
applied, and state() for the control API's /state.

Vendor behaviour (README.md "Provisioning" names the public sources):
  faults  boot_ignored        PATCH answered 200, only the target kept
                              (Supermicro, bmclib PR #459)
          boot_strict_fields  a Boot PATCH with anything beyond Target and
                              Enabled -> 400 (HP DL160 Gen10, bmclib)
          boot_needs_mode     a Boot PATCH without BootSourceOverrideMode
                              -> 400 PropertyMissing (AMI/ASRockRack,
                              Supermicro; DMTF Redfishtool PR #106)
          boot_busy_post      two of every three PATCHes -> 400
                              UnableToModifyDuringSystemPOST (HPE iLO,
                              metal-operator #997)
          boot_no_continuous  Continuous not offered, PATCH with it -> 400
          boot_settings       the system points to a /Settings resource
                              (@Redfish.Settings) and refuses PATCH itself
                              (AMI "FutureState URI", Tacklebox #144); the
                              pending values apply at the next reset
          media_no_insert_action  slots without InsertMedia/EjectMedia:
                              PATCH Image/Inserted (older firmware, sushy)
          eject_empty_error   EjectMedia on an empty slot -> 400 (iLO,
                              bmclib PR #406/#410)
  profiles: media under Systems/<id>/VirtualMedia for dell (iDRAC9 6.x),
          under Managers/<id>/VirtualMedia for the others; supermicro's
          InsertMedia ActionInfo allows Image only (sushy release note on
          SuperMicro rejecting Inserted/WriteProtected).
"""
import json
import time

Response = None  # redfish_sim.Response, set by redfish_sim at import

FAULTS = ("boot_ignored", "boot_strict_fields", "boot_needs_mode",
          "boot_busy_post", "boot_no_continuous", "boot_settings",
          "media_no_insert_action", "eject_empty_error")

TARGETS = ["None", "Pxe", "Cd", "Usb", "Hdd", "BiosSetup", "UefiHttp",
           "UefiShell"]
ENABLED = ["Disabled", "Once", "Continuous"]
MODES = ["UEFI", "Legacy"]

# profile -> (media location, [(slot id, media types)], InsertMedia params)
MEDIA = {
    "dell": ("system", [("CD", ["CD", "DVD"]),
                        ("RemovableDisk", ["USBStick"])],
             ["Image", "Inserted", "WriteProtected", "TransferProtocolType",
              "UserName", "Password"]),
    "hpe": ("manager", [("1", ["Floppy", "USBStick"]), ("2", ["CD", "DVD"])],
            ["Image", "Inserted", "WriteProtected"]),
    "supermicro": ("manager", [("CD1", ["CD", "DVD"]), ("USB1", ["USBStick"])],
                   ["Image", "UserName", "Password"]),
}
MEDIA_DEFAULT = ("manager", [("CD1", ["CD", "DVD"]), ("USB1", ["USBStick"])],
                 ["Image", "Inserted", "WriteProtected",
                  "TransferProtocolType", "TransferMethod"])


class Slot:
    def __init__(self, sid, types):
        self.id = sid
        self.types = types
        self.image = None
        self.inserted = False
        self.write_protected = True
        self.protocol = None


class SystemBoot:
    def __init__(self):
        self.target = "None"
        self.enabled = "Disabled"
        self.mode = "UEFI"
        self.pending = None      # /Settings: dict of Boot fields
        self.booted_from = None  # what the last power-on booted from


class ProvState:
    def __init__(self, bmc, profile_name):
        loc, slots, params = MEDIA.get(profile_name, MEDIA_DEFAULT)
        self.location = loc
        self.insert_params = params
        self.slots = [Slot(s, t) for s, t in slots]
        self.boot = {sid: SystemBoot() for sid in bmc.systems}
        # AMI names its pending-settings resource SD (Tacklebox #144)
        self.settings_leaf = "SD" if profile_name == "ami" else "Settings"
        self.patches = 0
        self.inserts = 0


def attach(bmc):
    bmc.prov = ProvState(bmc, bmc.sim.args.profile)


def _faults(bmc):
    return bmc.faults


def _enabled_values(bmc):
    if "boot_no_continuous" in _faults(bmc):
        return ["Disabled", "Once"]
    return list(ENABLED)


def _boot_body(bmc, b, fields=None):
    f = fields or {"BootSourceOverrideTarget": b.target,
                   "BootSourceOverrideEnabled": b.enabled,
                   "BootSourceOverrideMode": b.mode}
    out = dict(f)
    out["BootSourceOverrideTarget@Redfish.AllowableValues"] = list(TARGETS)
    out["BootSourceOverrideEnabled@Redfish.AllowableValues"] = \
        _enabled_values(bmc)
    out["BootSourceOverrideMode@Redfish.AllowableValues"] = list(MODES)
    return out


def _media_base(bmc, sysobj_id):
    if bmc.prov.location == "system":
        return "/redfish/v1/Systems/%s/VirtualMedia" % sysobj_id
    return "/redfish/v1/Managers/%s/VirtualMedia" % bmc.sim.profile[
        "manager_id"]


def system_fields(svc, bmc, sysobj, body):
    b = bmc.prov.boot[sysobj.id]
    body["Boot"] = _boot_body(bmc, b)
    base = "/redfish/v1/Systems/%s" % sysobj.id
    if "boot_settings" in _faults(bmc):
        body["@Redfish.Settings"] = {
            "@odata.type": "#Settings.v1_3_0.Settings",
            "SettingsObject": {"@odata.id": "%s/%s" % (
                base, bmc.prov.settings_leaf)}}
    if bmc.prov.location == "system":
        body["VirtualMedia"] = {"@odata.id": base + "/VirtualMedia"}


def manager_fields(bmc, body):
    if bmc.prov.location == "manager":
        body["VirtualMedia"] = {"@odata.id": _media_base(bmc, None)}


def etag_part(bmc, sysobj):
    b = bmc.prov.boot[sysobj.id]
    return "%s|%s|%s|%s" % (b.target, b.enabled, b.mode, b.pending)


def _error(svc, bmc, status, msg_id, text, args=()):
    reg = svc.p.get("oem_registry") if msg_id == \
        "UnableToModifyDuringSystemPOST" else None
    return svc.error(status, msg_id, args, registry=reg, text=text)


def _parse(req):
    try:
        data = json.loads(req.body.decode("utf-8") or "null")
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _check_boot(svc, bmc, boot):
    """A refusal Response for the Boot object of a PATCH, or None."""
    faults = _faults(bmc)
    known = ("BootSourceOverrideTarget", "BootSourceOverrideEnabled",
             "BootSourceOverrideMode")
    for k, v in boot.items():
        if k not in known:
            return _error(svc, bmc, 400, "PropertyUnknown",
                          "The property %s is not in the list of valid "
                          "properties for the resource." % k, (k,))
    if "boot_strict_fields" in faults:
        for k in boot:
            if k not in known[:2]:
                return _error(svc, bmc, 400, "PropertyNotWritable",
                              "The property %s is a read only property and "
                              "cannot be assigned a value." % k, (k,))
    if "boot_needs_mode" in faults and "BootSourceOverrideMode" not in boot:
        return _error(svc, bmc, 400, "PropertyMissing",
                      "The property BootSourceOverrideMode is a required "
                      "property and must be included in the request.",
                      ("BootSourceOverrideMode",))
    allowed = {"BootSourceOverrideTarget": TARGETS,
               "BootSourceOverrideEnabled": _enabled_values(bmc),
               "BootSourceOverrideMode": MODES}
    for k, v in boot.items():
        if v not in allowed[k]:
            return _error(svc, bmc, 400, "PropertyValueNotInList",
                          "The value %s for the property %s is not in the "
                          "list of acceptable values." % (json.dumps(v), k),
                          (json.dumps(v), k))
    return None


def _apply_boot(b, boot):
    b.target = boot.get("BootSourceOverrideTarget", b.target)
    b.enabled = boot.get("BootSourceOverrideEnabled", b.enabled)
    b.mode = boot.get("BootSourceOverrideMode", b.mode)


def _if_match(svc, bmc, sysobj, req, now):
    got = req.headers.get("if-match")
    if "ifmatch" not in _faults(bmc):
        return None
    want = svc.system_etag(bmc, sysobj, now)
    if got is None:
        return svc.error(428, "PreconditionRequired")
    if got.strip() != "*" and want not in [g.strip()
                                           for g in got.split(",")]:
        return svc.error(412, "PreconditionFailed")
    return None


def patch_system(svc, bmc, sysobj, req, acct, now, settings=False):
    if acct.role not in ("Administrator", "Operator"):
        return svc.error(403, "InsufficientPrivilege")
    data = _parse(req)
    if data is None:
        return svc.error(400, "MalformedJSON")
    faults = _faults(bmc)
    if "boot_settings" in faults and not settings:
        return _error(svc, bmc, 400, "OperationSupportedInFutureStateURI",
                      "Support of this Operation for Boot Properties is "
                      "moved to FutureState URI(/redfish/v1/Systems/%s/%s)"
                      % (sysobj.id, bmc.prov.settings_leaf))
    boot = data.get("Boot")
    if not isinstance(boot, dict) or set(data) - {"Boot"}:
        return _error(svc, bmc, 400, "PropertyUnknown",
                      "Only Boot can be changed here.")
    with bmc.lock:
        fail = _if_match(svc, bmc, sysobj, req, now)
        if fail is not None:
            return fail
        bmc.prov.patches += 1
        if "boot_busy_post" in faults and bmc.prov.patches % 3 != 0:
            return _error(svc, bmc, 400, "UnableToModifyDuringSystemPOST",
                          "The value for the property cannot be changed "
                          "while the computer system is in POST.",
                          ("BootSourceOverrideTarget",))
        fail = _check_boot(svc, bmc, boot)
        if fail is not None:
            return fail
        b = bmc.prov.boot[sysobj.id]
        if settings:
            pending = dict(b.pending or {})
            pending.update(boot)
            b.pending = pending
        elif "boot_ignored" in faults:  # 200, and only the target sticks
            b.target = boot.get("BootSourceOverrideTarget", b.target)
        else:
            _apply_boot(b, boot)
        if "task202" in faults:  # as for resets: a task monitor answers
            tid = next(bmc.task_seq)
            bmc.tasks[tid] = {"polls_left": svc.sim.args.task_polls,
                              "done": False, "start": time.strftime(
                                  "%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())}
            mon = "/redfish/v1/TaskService/TaskMonitors/%d" % tid
            return Response(202, svc.task_body(bmc, tid, bmc.tasks[tid]),
                            [("Location", mon)])
    return Response(200, svc.success_body())


def _settings_get(svc, bmc, sysobj):
    b = bmc.prov.boot[sysobj.id]
    fields = {"BootSourceOverrideTarget": b.target,
              "BootSourceOverrideEnabled": b.enabled,
              "BootSourceOverrideMode": b.mode}
    fields.update(b.pending or {})
    return svc.odata("/redfish/v1/Systems/%s/%s" % (sysobj.id,
                                                    bmc.prov.settings_leaf),
                     "#ComputerSystem.v1_13_0.ComputerSystem",
                     {"Id": bmc.prov.settings_leaf, "Name": "Pending settings",
                      "Boot": _boot_body(bmc, b, fields)})


def on_reset(bmc, sysobj, rtype, powered_on):
    """After a reset: pending settings apply; a machine that (re)starts
    boots from the override (a Once override is then consumed)."""
    b = bmc.prov.boot[sysobj.id]
    if b.pending:
        _apply_boot(b, b.pending)
        b.pending = None
    if not powered_on:
        return
    if b.enabled in ("Once", "Continuous") and b.target != "None":
        image = None
        want = {"Cd": ("CD", "DVD"), "Usb": ("USBStick",)}.get(b.target, ())
        for s in bmc.prov.slots:
            if s.inserted and set(want) & set(s.types):
                image = s.image
        b.booted_from = {"target": b.target, "mode": b.mode, "image": image}
        if b.enabled == "Once":
            b.enabled = "Disabled"
    else:
        b.booted_from = {"target": "Hdd", "mode": b.mode, "image": None}


# ---- virtual media ---------------------------------------------------------

def _slot_body(svc, bmc, base, s):
    oid = "%s/%s" % (base, s.id)
    body = {"Id": s.id, "Name": "Virtual Media %s" % s.id,
            "MediaTypes": list(s.types), "Image": s.image,
            "ImageName": s.image.rsplit("/", 1)[-1] if s.image else None,
            "Inserted": s.inserted, "WriteProtected": s.write_protected,
            "ConnectedVia": "URI" if s.inserted else "NotConnected",
            "TransferProtocolType": s.protocol}
    if "media_no_insert_action" not in _faults(bmc):
        body["Actions"] = {
            "#VirtualMedia.InsertMedia": {
                "target": oid + "/Actions/VirtualMedia.InsertMedia",
                "@Redfish.ActionInfo": oid + "/InsertMediaActionInfo"},
            "#VirtualMedia.EjectMedia": {
                "target": oid + "/Actions/VirtualMedia.EjectMedia"}}
    return svc.odata(oid, "#VirtualMedia.v1_3_0.VirtualMedia", body)


def _action_info(svc, bmc, base, s):
    params = [{"Name": n, "Required": n == "Image",
               "DataType": "Boolean" if n in ("Inserted", "WriteProtected")
               else "String"} for n in bmc.prov.insert_params]
    return svc.odata("%s/%s/InsertMediaActionInfo" % (base, s.id),
                     "#ActionInfo.v1_1_2.ActionInfo",
                     {"Id": "InsertMediaActionInfo",
                      "Name": "Insert Media Action Info",
                      "Parameters": params})


def _insert(svc, bmc, s, data):
    image = data.get("Image")
    if not isinstance(image, str) or not image:
        return svc.error(400, "ActionParameterMissing",
                         ("VirtualMedia.InsertMedia", "Image"))
    for k in data:
        if k not in bmc.prov.insert_params:
            return svc.error(400, "ActionParameterUnknown",
                             ("VirtualMedia.InsertMedia", k))
    if s.inserted:
        return _error(svc, bmc, 409, "ResourceInUse",
                      "The change to the requested resource failed because "
                      "the resource is in use or in transition.")
    s.image = image
    s.inserted = data.get("Inserted", True) is not False
    s.write_protected = data.get("WriteProtected", True) is not False
    s.protocol = data.get("TransferProtocolType") or \
        image.split(":", 1)[0].upper()
    bmc.prov.inserts += 1
    return None


def _eject(svc, bmc, s):
    if not s.inserted and "eject_empty_error" in _faults(bmc):
        return _error(svc, bmc, 400, "UnableToEjectMedia",
                      "There is no media to eject.")
    s.image = None
    s.inserted = False
    s.protocol = None
    return None


def _patch_slot(svc, bmc, s, data):
    if "media_no_insert_action" not in _faults(bmc):
        return _error(svc, bmc, 400, "PropertyNotWritable",
                      "The property Image is a read only property; use "
                      "the InsertMedia action.", ("Image",))
    for k in data:
        if k not in ("Image", "Inserted", "WriteProtected"):
            return _error(svc, bmc, 400, "PropertyUnknown",
                          "The property %s is unknown." % k, (k,))
    if data.get("Image") is None and data.get("Inserted") is False:
        return _eject(svc, bmc, s)
    if isinstance(data.get("Image"), str):
        return _insert(svc, bmc, s, dict(data))
    return svc.error(400, "PropertyMissing", ("Image",))


def _media_route(svc, bmc, req, m, parts, base, acct, only):
    """parts: what follows .../VirtualMedia."""
    prov = bmc.prov
    if not parts:
        return only("GET") or svc.collection(
            req, base, "#VirtualMediaCollection.VirtualMediaCollection",
            "Virtual Media Services", ["%s/%s" % (base, s.id)
                                       for s in prov.slots])
    slot = next((s for s in prov.slots if s.id == parts[0]), None)
    if slot is None:
        return None
    if len(parts) == 1:
        if m == "GET":
            with bmc.lock:
                return Response(200, _slot_body(svc, bmc, base, slot))
        bad = only("GET", "PATCH")
        if bad:
            return bad
    elif parts[1:] == ["InsertMediaActionInfo"]:
        return only("GET") or Response(200, _action_info(svc, bmc, base,
                                                             slot))
    elif len(parts) != 3 or parts[1] != "Actions" or \
            parts[2] not in ("VirtualMedia.InsertMedia",
                             "VirtualMedia.EjectMedia") or \
            "media_no_insert_action" in _faults(bmc):
        return None
    else:
        bad = only("POST")
        if bad:
            return bad
    if acct.role not in ("Administrator", "Operator"):
        return svc.error(403, "InsufficientPrivilege")
    data = _parse(req)
    if data is None:
        return svc.error(400, "MalformedJSON")
    with bmc.lock:
        if len(parts) == 1:
            fail = _patch_slot(svc, bmc, slot, data)
        elif parts[2] == "VirtualMedia.InsertMedia":
            fail = _insert(svc, bmc, slot, data)
        else:
            fail = _eject(svc, bmc, slot)
    return fail or (Response(200, svc.success_body()) if len(parts) == 1
                    else Response(204))


def route_system(svc, bmc, req, m, rest, sysobj, acct, now, only):
    """Resources below Systems/<id> (rest[2:]); None when not ours."""
    sub = rest[2:]
    if sub == [bmc.prov.settings_leaf] and "boot_settings" in _faults(bmc):
        if m == "GET":
            with bmc.lock:
                return Response(200, _settings_get(svc, bmc, sysobj))
        if m == "PATCH":
            return patch_system(svc, bmc, sysobj, req, acct, now,
                                settings=True)
        return only("GET", "PATCH")
    if sub[:1] == ["VirtualMedia"] and bmc.prov.location == "system":
        return _media_route(svc, bmc, req, m, sub[1:],
                            _media_base(bmc, sysobj.id), acct, only)
    return None


def route_manager(svc, bmc, req, m, rest, acct, only):
    """Resources below Managers/<id> (rest[2:]); None when not ours."""
    sub = rest[2:]
    if sub[:1] == ["VirtualMedia"] and bmc.prov.location == "manager":
        return _media_route(svc, bmc, req, m, sub[1:],
                            _media_base(bmc, None), acct, only)
    return None


def state(bmc):
    p = bmc.prov
    return {
        "boot": {sid: {"target": b.target, "enabled": b.enabled,
                       "mode": b.mode, "pending": b.pending,
                       "booted_from": b.booted_from}
                 for sid, b in p.boot.items()},
        "media": [{"id": s.id, "inserted": s.inserted, "image": s.image,
                   "write_protected": s.write_protected}
                  for s in p.slots],
        "media_location": p.location,
        "boot_patches": p.patches,
        "media_inserts": p.inserts,
    }
