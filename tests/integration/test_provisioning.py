"""Provisioning end to end: boot device, virtual media and boot_from_media
through real nginx + bmc-managerd, against the HTTPS Redfish simulator's
vendor profiles and faults (tests/sim/redfish/sim_provisioning.py, one per
vendor behaviour) and real ipmitool against OpenIPMI's ipmi_sim. Every
answer is validated against conf/openapi.json by fixtures_openapi."""
import pytest

from fixtures_service import poll_task

PASSWORD = "s3cret-Pa55word"
IMAGE = "https://images.example.com/install.iso"


def creds(sim, **kw):
    body = {"ip": sim.host, "port": sim.port, "username": "admin",
            "password": PASSWORD, "protocol": "redfish"}
    body.update(kw)
    return body


@pytest.fixture
def svc(service_factory):
    return service_factory({"BMC_POWER_STATE_POLL_INTERVAL": 0.2,
                            "BMC_LOG_LEVEL": "DEBUG"})


@pytest.fixture
def make_bmc(redfish_sim):
    def make(profile="dmtf", **kw):
        kw.setdefault("transition_seconds", 0.2)
        return redfish_sim(profile=profile,
                           users=[f"admin:{PASSWORD}:Administrator"], **kw)
    return make


def prov_state(sim):
    (state,) = sim.state().values()
    return state["provisioning"]


def boot_of(sim):
    (boot,) = prov_state(sim)["boot"].values()
    return boot


def requests_of(sim, method, fragment=""):
    return [r for r in sim.requests()
            if r["method"] == method and fragment in r["path"]]


def answer(r, method, success=True):
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["method"] == method, body
    assert body["success"] is success, body
    return body


# ---- boot device, Redfish ---------------------------------------------------

def test_get_boot_device_reads_override_and_allowed(svc, make_bmc):
    bmc = make_bmc()
    data = answer(svc.post("/boot-device", creds(bmc)), "get_boot_device")["data"]
    assert data["boot_device"] == "none" and data["persistent"] is None
    assert data["mode"] == "uefi"
    assert {"pxe", "disk", "cd", "usb", "bios", "http"} <= set(data["allowed"])


@pytest.mark.parametrize("device,target", [("pxe", "Pxe"), ("disk", "Hdd"),
                                           ("cd", "Cd"), ("usb", "Usb"),
                                           ("bios", "BiosSetup"),
                                           ("http", "UefiHttp")])
def test_set_boot_device_maps_names_and_verifies(svc, make_bmc, device, target):
    bmc = make_bmc()
    data = answer(svc.post("/set-boot-device", creds(bmc, device=device)),
                  "set_boot_device")["data"]
    assert data["verified"] is True and data["boot_device"] == device
    assert data["persistent"] is False
    assert boot_of(bmc)["target"] == target
    assert boot_of(bmc)["enabled"] == "Once"
    assert len(requests_of(bmc, "PATCH")) == 1


def test_persistent_legacy_and_clearing(svc, make_bmc):
    bmc = make_bmc()
    data = answer(svc.post("/set-boot-device", creds(
        bmc, device="pxe", persistent=True, mode="legacy")),
        "set_boot_device")["data"]
    assert data == {**data, "boot_device": "pxe", "persistent": True,
                    "mode": "legacy", "verified": True}
    assert boot_of(bmc)["enabled"] == "Continuous"
    assert boot_of(bmc)["mode"] == "Legacy"
    data = answer(svc.post("/set-boot-device", creds(bmc, device="none")),
                  "set_boot_device")["data"]
    assert data["boot_device"] == "none" and data["verified"] is True
    assert boot_of(bmc)["enabled"] == "Disabled"


def test_if_match_sent_from_the_first_patch(svc, make_bmc):
    """A BMC that requires If-Match (428 without) gets the system's ETag on
    the first PATCH: one write, verified."""
    bmc = make_bmc(fault="ifmatch")
    data = answer(svc.post("/set-boot-device", creds(bmc, device="pxe")),
                  "set_boot_device")["data"]
    assert data["verified"] is True
    assert [r["status"] for r in requests_of(bmc, "PATCH")] == [200]


def test_patch_answered_with_a_task_is_followed(svc, make_bmc):
    """202 + Location: the task monitor is followed before reading back."""
    bmc = make_bmc(fault="task202", task_polls=2)
    data = answer(svc.post("/set-boot-device", creds(bmc, device="pxe")),
                  "set_boot_device")["data"]
    assert data["verified"] is True
    monitor = [r["status"] for r in bmc.requests()
               if "/TaskMonitors/" in r["path"]]
    assert monitor == [202, 202, 200]


def test_ignored_override_is_not_verified(svc, make_bmc):
    """Supermicro (bmclib #459): 200 OK, only the target sticks: HTTP 200
    with success false and verified false, never a silent success."""
    bmc = make_bmc("supermicro", fault="boot_ignored")
    body = answer(svc.post("/set-boot-device", creds(bmc, device="pxe")),
                  "set_boot_device", success=False)
    assert body["data"]["verified"] is False
    assert body["data"]["boot_device"] == "none"
    assert "reading it back" in body["message"]


def test_supermicro_row_always_sends_mode(svc, make_bmc):
    """The vendor table's Supermicro row: Mode goes with every PATCH, so a
    BMC that needs it (Redfishtool PR #106) accepts the first one."""
    bmc = make_bmc("supermicro", fault="boot_needs_mode")
    data = answer(svc.post("/set-boot-device", creds(bmc, device="pxe")),
                  "set_boot_device")["data"]
    assert data["verified"] is True and data["notes"] == []
    assert [r["status"] for r in requests_of(bmc, "PATCH")] == [200]


def test_ami_row_sends_mode_to_its_future_state_uri(svc, make_bmc):
    """AMI MegaRAC (ASRockRack): Mode with the first PATCH (the vendor
    row), to the system's SD resource it points to (Tacklebox #144)."""
    bmc = make_bmc("ami", fault=["boot_needs_mode", "boot_settings"])
    data = answer(svc.post("/set-boot-device", creds(bmc, device="pxe")),
                  "set_boot_device")["data"]
    assert data["verified"] is True and data["applies_at"] == "next reset"
    assert [(r["path"], r["status"]) for r in requests_of(bmc, "PATCH")] == \
        [("/redfish/v1/Systems/Self/SD", 200)]
    assert boot_of(bmc)["pending"]["BootSourceOverrideMode"] == "UEFI"


def test_missing_mode_fallback_sends_it(svc, make_bmc):
    """A BMC of no known vendor that needs Mode (AMI/ASRockRack style):
    the 400 PropertyMissing is a refusal, and the PATCH is sent again with
    the current mode."""
    bmc = make_bmc("dmtf", fault="boot_needs_mode")
    data = answer(svc.post("/set-boot-device", creds(bmc, device="cd")),
                  "set_boot_device")["data"]
    assert data["verified"] is True
    assert [r["status"] for r in requests_of(bmc, "PATCH")] == [400, 200]
    assert any("requires BootSourceOverrideMode" in n for n in data["notes"])


def test_hpe_row_sends_no_mode_unless_asked(svc, make_bmc):
    """HPE row (DL160 Gen10, community.general #3509): target and
    persistence only, accepted by a BMC that rejects extra fields."""
    bmc = make_bmc("hpe", fault="boot_strict_fields")
    data = answer(svc.post("/set-boot-device", creds(bmc, device="pxe")),
                  "set_boot_device")["data"]
    assert data["verified"] is True
    assert len(requests_of(bmc, "PATCH")) == 1


def test_extra_field_rejected_falls_back_and_says_so(svc, make_bmc):
    """Mode asked on a BMC that rejects it: the minimal PATCH is applied,
    the mode is not what was asked, so verified is false."""
    bmc = make_bmc("hpe", fault="boot_strict_fields")
    body = answer(svc.post("/set-boot-device", creds(
        bmc, device="pxe", mode="legacy")), "set_boot_device", success=False)
    assert body["data"]["verified"] is False
    assert body["data"]["boot_device"] == "pxe"
    assert any("refused BootSourceOverrideMode" in n
               for n in body["data"]["notes"])
    assert [r["status"] for r in requests_of(bmc, "PATCH")] == [400, 200]


@pytest.mark.slow  # behaviour/timing; not run in the sanitizer pass
def test_busy_during_post_is_retried_within_deadline(svc, make_bmc):
    """HPE UnableToModifyDuringSystemPOST (metal-operator #997): a refusal,
    retried after a pause until accepted."""
    bmc = make_bmc("hpe", fault="boot_busy_post")
    data = answer(svc.post("/set-boot-device", creds(bmc, device="pxe")),
                  "set_boot_device")["data"]
    assert data["verified"] is True
    assert [r["status"] for r in requests_of(bmc, "PATCH")] == [400, 400, 200]


def test_continuous_not_offered_falls_back_to_once(svc, make_bmc):
    """Continuous missing from AllowableValues: Once is set (documented
    fallback), and the answer says persistence was not achieved."""
    bmc = make_bmc(fault="boot_no_continuous")
    body = answer(svc.post("/set-boot-device", creds(
        bmc, device="disk", persistent=True)), "set_boot_device",
        success=False)
    assert body["data"]["verified"] is False
    assert body["data"]["persistent"] is False
    assert any("Continuous" in n for n in body["data"]["notes"])
    assert boot_of(bmc)["enabled"] == "Once"
    assert [r["status"] for r in requests_of(bmc, "PATCH")] == [200]


def test_settings_resource_is_written_and_read_back(svc, make_bmc):
    """A system pointing to /Settings (@Redfish.Settings; AMI FutureState,
    Tacklebox #144) takes the PATCH there; the pending values apply at the
    next reset."""
    bmc = make_bmc(fault="boot_settings")
    data = answer(svc.post("/set-boot-device", creds(bmc, device="pxe")),
                  "set_boot_device")["data"]
    assert data["verified"] is True and data["applies_at"] == "next reset"
    patches = requests_of(bmc, "PATCH")
    assert [r["path"].endswith("/Settings") for r in patches] == [True]
    assert boot_of(bmc)["pending"]["BootSourceOverrideTarget"] == "Pxe"


def test_unknown_device_is_refused_before_any_task(svc, make_bmc):
    bmc = make_bmc()
    r = svc.post("/set-boot-device", creds(bmc, device="floppy"))
    assert r.status_code == 400 and r.json()["error_code"] == 2002
    assert "one of" in r.json()["details"]
    assert requests_of(bmc, "PATCH") == []


def test_execute_and_async_reach_the_same_methods(svc, make_bmc):
    bmc = make_bmc()
    body = creds(bmc, method="set_boot_device",
                 params={"device": "pxe", "persistent": True})
    r = svc.post("/execute", body)
    assert answer(r, "set_boot_device")["data"]["verified"] is True
    r = svc.post("/execute/async", creds(bmc, method="get_boot_device"))
    assert r.status_code == 202, r.text
    task = poll_task(svc, r.json()["task_id"])
    assert task["status"] == "success", task
    assert task["result"]["data"]["boot_device"] == "pxe"


# ---- boot device, IPMI (real ipmitool against OpenIPMI's ipmi_sim) ----------

def ipmi_creds(bmc, **kw):
    body = {"ip": bmc.host, "port": bmc.port, "username": "admin",
            "password": "password", "protocol": "ipmitool", "cipher_suite": 3}
    body.update(kw)
    return body


def boot_log(bmc):
    return [v for k, v in bmc.power_log() if k == "boot"]


def test_ipmi_get_boot_device_parses_bootparam_5(svc, ipmi_sim):
    bmc = ipmi_sim()
    data = answer(svc.post("/boot-device", ipmi_creds(bmc)),
                  "get_boot_device")["data"]
    assert data == {"boot_device": "none", "persistent": None,
                    "mode": "legacy", "boot_flag_valid": False}


@pytest.mark.parametrize("device,sim_name", [("pxe", "pxe"), ("disk", "default"),
                                             ("cd", "cdrom"), ("bios", "bios")])
def test_ipmi_set_boot_device_one_time_legacy_verified(svc, ipmi_sim, device,
                                                       sim_name):
    bmc = ipmi_sim()
    data = answer(svc.post("/set-boot-device", ipmi_creds(bmc, device=device)),
                  "set_boot_device")["data"]
    assert data["verified"] is True and data["method"] == "bootdev"
    assert data["boot_device"] == device and data["persistent"] is False
    assert boot_log(bmc) == [sim_name]


def test_ipmi_persistent_uefi_uses_raw_form_and_reports_what_stuck(svc, ipmi_sim):
    """persistent + uefi goes as raw 0x00 0x08 0x05 0xe0 <dev>, after the
    expiry clear (0x03). ipmi_sim keeps the device but drops the flags, so
    the read-back honestly says not verified."""
    bmc = ipmi_sim()
    body = answer(svc.post("/set-boot-device", ipmi_creds(
        bmc, device="pxe", persistent=True, mode="uefi")), "set_boot_device",
        success=False)
    assert body["data"]["method"] == "raw"
    assert body["data"]["boot_device"] == "pxe"
    assert body["data"]["verified"] is False
    assert body["data"]["persistent"] is False  # ipmi_sim drops the flags
    assert boot_log(bmc) == ["pxe"]
    assert "reading it back" in body["message"]


def test_ipmi_ignored_boot_device_is_not_verified(svc, ipmi_sim):
    bmc = ipmi_sim()
    bmc.set_fault(ignore_boot=1)
    body = answer(svc.post("/set-boot-device", ipmi_creds(bmc, device="cd")),
                  "set_boot_device", success=False)
    assert body["data"]["verified"] is False
    assert body["data"]["boot_device"] == "none"


@pytest.mark.parametrize("mode,says", [("legacy", "Parameter 5 failed"),
                                       ("uefi", "rsp=0xff")])
def test_ipmi_refused_set_is_the_bmcs_answer(svc, ipmi_sim, mode, says):
    """ipmitool's bootdev exits 0 when the BMC refuses (completion code
    0xFF), saying so only on stderr; the raw form exits 1 with the
    completion code. Both are the BMC's answer (200, success false), not a
    connection failure to retry."""
    bmc = ipmi_sim()
    bmc.set_fault(fail_set=1)
    body = answer(svc.post("/set-boot-device", ipmi_creds(
        bmc, device="pxe", mode=mode)), "set_boot_device", success=False)
    assert says in body["message"], body


def test_ipmi_has_no_virtual_media(svc, ipmi_sim):
    bmc = ipmi_sim()
    for path, extra in (("/virtual-media", {}),
                        ("/insert-media", {"image": IMAGE}),
                        ("/eject-media", {}),
                        ("/boot-from-media", {"image": IMAGE})):
        r = svc.post(path, ipmi_creds(bmc, **extra))
        assert r.status_code == 400, r.text
        assert r.json()["error_code"] == 2002
        assert "not supported over ipmitool" in r.json()["details"]
    r = svc.post("/set-boot-device", ipmi_creds(bmc, device="usb"))
    assert r.status_code == 400 and r.json()["error_code"] == 2002, r.text
    assert "not supported over ipmitool" in r.json()["details"]
    assert boot_log(bmc) == []


# ---- virtual media, Redfish ---------------------------------------------------

def media_of(sim, slot_id):
    (slot,) = [s for s in prov_state(sim)["media"] if s["id"] == slot_id]
    return slot


@pytest.mark.parametrize("profile,location,cd,usb", [
    ("dmtf", "manager", "CD1", "USB1"),
    ("dell", "system", "CD", "RemovableDisk"),
    ("hpe", "manager", "2", "1"),
    ("ami", "manager", "CD1", "USB1")])
def test_get_virtual_media_finds_slots_where_the_vendor_keeps_them(
        svc, make_bmc, profile, location, cd, usb):
    bmc = make_bmc(profile)
    data = answer(svc.post("/virtual-media", creds(bmc)),
                  "get_virtual_media")["data"]
    by_id = {s["id"]: s for s in data["slots"]}
    assert set(by_id) == {cd, usb}
    assert all(s["location"] == location and s["inserted"] is False
               and s["image"] is None for s in data["slots"])
    assert "CD" in by_id[cd]["media_types"]


def test_insert_with_action_sends_what_action_info_allows(svc, make_bmc):
    """DMTF slot: InsertMedia with Image, Inserted, WriteProtected and
    TransferProtocolType, all listed by its ActionInfo."""
    bmc = make_bmc()
    data = answer(svc.post("/insert-media", creds(bmc, image=IMAGE)),
                  "insert_virtual_media")["data"]
    assert data == {**data, "id": "CD1", "inserted": True, "image": IMAGE,
                    "write_protected": True}
    posts = requests_of(bmc, "POST", "InsertMedia")
    assert [r["status"] for r in posts] == [204]
    assert requests_of(bmc, "PATCH") == []


def test_insert_sends_only_image_when_action_info_says_so(svc, make_bmc):
    """Supermicro's ActionInfo lists Image only; the simulator rejects any
    other parameter as a Supermicro does (sushy's release note)."""
    bmc = make_bmc("supermicro")
    data = answer(svc.post("/insert-media", creds(
        bmc, image=IMAGE, write_protected=False)),
        "insert_virtual_media")["data"]
    assert data["inserted"] is True and data["image"] == IMAGE
    assert data["write_protected"] is True  # the BMC's own, read back
    assert [r["status"] for r in requests_of(bmc, "POST", "InsertMedia")] == [204]


def test_insert_without_action_patches_image_and_inserted(svc, make_bmc):
    bmc = make_bmc(fault="media_no_insert_action")
    data = answer(svc.post("/insert-media", creds(
        bmc, image=IMAGE, media="usb", write_protected=False)),
        "insert_virtual_media")["data"]
    assert data["id"] == "USB1" and data["inserted"] is True
    assert data["write_protected"] is False
    assert [r["path"].endswith("/USB1") for r in requests_of(bmc, "PATCH")] == [True]
    answer(svc.post("/eject-media", creds(bmc, media="usb")),
           "eject_virtual_media")
    assert media_of(bmc, "USB1")["inserted"] is False
    assert len(requests_of(bmc, "PATCH")) == 2


def test_busy_slot_is_ejected_before_insert(svc, make_bmc):
    bmc = make_bmc("dell")
    answer(svc.post("/insert-media", creds(bmc, image=IMAGE)),
           "insert_virtual_media")
    other = "http://10.0.0.9/other.iso"
    data = answer(svc.post("/insert-media", creds(bmc, image=other)),
                  "insert_virtual_media")["data"]
    assert data["image"] == other
    paths = [r["path"].rsplit("/", 1)[-1]
             for r in requests_of(bmc, "POST", "VirtualMedia.")]
    assert paths == ["VirtualMedia.InsertMedia", "VirtualMedia.EjectMedia",
                     "VirtualMedia.InsertMedia"]


def test_eject_of_an_empty_slot_is_success_without_a_request(svc, make_bmc):
    """iLO errors on ejecting nothing (bmclib #406/#410): an empty slot is
    read first and nothing is sent."""
    bmc = make_bmc("hpe", fault="eject_empty_error")
    data = answer(svc.post("/eject-media", creds(bmc)),
                  "eject_virtual_media")["data"]
    assert data["inserted"] is False and data["id"] == "2"
    assert requests_of(bmc, "POST", "EjectMedia") == []


def test_eject_of_an_inserted_slot_reads_it_back_empty(svc, make_bmc):
    bmc = make_bmc("hpe", fault="eject_empty_error")
    answer(svc.post("/insert-media", creds(bmc, image=IMAGE)),
           "insert_virtual_media")
    data = answer(svc.post("/eject-media", creds(bmc)),
                  "eject_virtual_media")["data"]
    assert data["inserted"] is False and data["image"] is None
    assert media_of(bmc, "2")["inserted"] is False


@pytest.mark.parametrize("image", ["ftp://host/x.iso", "file:///etc/passwd",
                                   "http://", "https://host/a b.iso",
                                   "javascript:alert(1)"])
def test_image_must_be_http_or_https(svc, make_bmc, image):
    bmc = make_bmc()
    r = svc.post("/insert-media", creds(bmc, image=image))
    assert r.status_code == 400 and r.json()["error_code"] == 2002, r.text
    assert [r for r in bmc.requests() if "VirtualMedia" in r["path"]] == []


def test_image_credentials_never_answered_or_logged(svc, make_bmc):
    bmc = make_bmc()
    secret = "Im4ge-Pa55"
    image = f"https://deploy:{secret}@images.example.com/install.iso"
    data = answer(svc.post("/insert-media", creds(bmc, image=image)),
                  "insert_virtual_media")["data"]
    assert data["image"] == "https://***@images.example.com/install.iso"
    assert media_of(bmc, "CD1")["image"] == image  # the BMC got it whole
    assert secret not in svc.log()


def test_no_slot_for_the_media_type(svc, make_bmc):
    bmc = make_bmc("hpe")
    r = svc.post("/virtual-media", creds(bmc))
    assert answer(r, "get_virtual_media")["data"]["slots"]
    body = answer(svc.post("/eject-media", creds(bmc, media="usb")),
                  "eject_virtual_media")
    assert body["data"]["id"] == "1"  # iLO's slot 1 takes USBStick



# ---- boot_from_media -----------------------------------------------------------

STEPS_OFF = ["eject", "insert", "set_boot_device", "get_power_state",
             "power_on"]


def test_boot_from_media_leaves_the_machine_on_booting_the_image(svc, make_bmc):
    """The acceptance case: one call against the demo-style BMC (off):
    eject, insert, one-time boot to CD, power on, wait for On."""
    bmc = make_bmc(initial_power="Off")
    body = answer(svc.post("/boot-from-media", creds(
        bmc, image=IMAGE, wait_for_state_seconds=10)), "boot_from_media")
    data = body["data"]
    assert [s["step"] for s in data["steps"]] == STEPS_OFF
    assert all(s["success"] for s in data["steps"])
    assert data["power_state"] == "On" and data["power_state_stable"] is True
    (state,) = bmc.state().values()
    assert list(state["power"].values()) == ["On"]
    assert boot_of(bmc)["booted_from"] == {"target": "Cd", "mode": "UEFI",
                                           "image": IMAGE}
    assert boot_of(bmc)["enabled"] == "Disabled"  # Once was consumed
    assert media_of(bmc, "CD1")["image"] == IMAGE


def test_boot_from_media_against_the_demo_bmc(svc, redfish_sim):
    """The acceptance case as ./scripts/run starts it: dmtf profile, 2 s
    transitions, on, admin/password; one call leaves it On, booting from
    the inserted image."""
    bmc = redfish_sim(profile="dmtf", transition_seconds=2)
    body = creds(bmc, password="password", image=IMAGE,
                 wait_for_state_seconds=30)
    data = answer(svc.post("/boot-from-media", body), "boot_from_media")["data"]
    assert data["steps"][-1]["step"] == "force_restart"
    assert data["power_state"] == "On" and data["power_state_stable"] is True
    assert boot_of(bmc)["booted_from"] == {"target": "Cd", "mode": "UEFI",
                                           "image": IMAGE}


@pytest.mark.valgrind
def test_boot_from_media_force_restarts_a_running_machine(svc, make_bmc):
    bmc = make_bmc("dell", initial_power="On")
    data = answer(svc.post("/boot-from-media", creds(bmc, image=IMAGE)),
                  "boot_from_media")["data"]
    assert data["steps"][-1]["step"] == "force_restart"
    assert data["steps"][-1]["data"]["reset_type"] == "ForceRestart"
    assert boot_of(bmc)["booted_from"]["image"] == IMAGE


def test_boot_from_media_stops_at_the_failed_step(svc, make_bmc):
    """A boot override the BMC ignores: the sequence stops there and no
    power action is sent."""
    bmc = make_bmc("supermicro", fault="boot_ignored", initial_power="Off")
    body = answer(svc.post("/boot-from-media", creds(bmc, image=IMAGE)),
                  "boot_from_media", success=False)
    data = body["data"]
    assert [s["step"] for s in data["steps"]] == ["eject", "insert",
                                                  "set_boot_device"]
    assert data["failed_step"] == "set_boot_device"
    assert data["steps"][-1]["success"] is False
    assert "set_boot_device" in body["message"]
    assert requests_of(bmc, "POST", "ComputerSystem.Reset") == []
    (state,) = bmc.state().values()
    assert list(state["power"].values()) == ["Off"]


def test_boot_from_media_async_usb(svc, make_bmc):
    bmc = make_bmc(initial_power="Off")
    r = svc.post("/execute/async", creds(
        bmc, method="boot_from_media",
        params={"image": IMAGE, "media": "usb"}))
    assert r.status_code == 202, r.text
    task = poll_task(svc, r.json()["task_id"])
    assert task["status"] == "success", task
    steps = task["result"]["data"]["steps"]
    assert [s["step"] for s in steps] == STEPS_OFF
    assert boot_of(bmc)["booted_from"] == {"target": "Usb", "mode": "UEFI",
                                           "image": IMAGE}
