"""Security (DESIGN.md "Security (what the service promises)"), end to
end through real nginx + bmc-managerd against the HTTPS Redfish simulator:
only JSON POSTs are work, the Host check, the target policy, service
tokens and roles, credential references, TLS pinning, and no password in
memory dumps or long-lived processes."""
import requests

import pytest

PASSWORD = "s3cret-Pa55word"


def creds(sim, **kw):
    body = {"ip": sim.host, "port": sim.port, "username": "admin",
            "password": PASSWORD, "protocol": "redfish"}
    body.update(kw)
    return body


def envelope(r, status, code):
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["success"] is False and body["error_code"] == code, body
    assert PASSWORD not in r.text
    return body


@pytest.fixture
def bmc(redfish_sim):
    return redfish_sim(profile="dmtf", users=[f"admin:{PASSWORD}:Administrator"],
                       transition_seconds=0.2, initial_power="On")


# ---- 1. only JSON POSTs are work ------------------------------------------

CROSS_SITE = [
    # what a web page can send without a CORS preflight
    ("text/plain", lambda b: __import__("json").dumps(b)),
    ("text/plain;charset=UTF-8", lambda b: __import__("json").dumps(b)),
    ("application/x-www-form-urlencoded", lambda b: "ip=%s&action=off" % b["ip"]),
    ("multipart/form-data; boundary=x", lambda b: "--x\r\n\r\n--x--\r\n"),
    (None, lambda b: __import__("json").dumps(b)),
]


@pytest.mark.parametrize("ctype,encode", CROSS_SITE)
@pytest.mark.parametrize("path", ["/action", "/action/async", "/execute"])
def test_cross_site_posts_do_nothing(service, bmc, path, ctype, encode):
    body = creds(bmc, action="off", method="power_off")
    bmc.reset_stats()
    headers = {"Origin": "http://evil.example"}
    if ctype:
        headers["Content-Type"] = ctype
    r = requests.post(service.url + path, data=encode(body), headers=headers,
                      timeout=30)
    if ctype is None:
        # requests sends no Content-Type for a str body: still not JSON
        assert "Content-Type" not in r.request.headers
    envelope(r, 415, 4007)
    assert "task_id" not in r.json()
    assert bmc.stats()["connections"] == 0
    (state,) = bmc.state().values()
    assert list(state["power"].values()) == ["On"]


@pytest.mark.parametrize("ctype", ["application/json",
                                   "application/json; charset=utf-8",
                                   "Application/JSON"])
def test_json_with_parameters_is_work(service, bmc, ctype):
    import json
    r = requests.post(service.url + "/power-state", data=json.dumps(creds(bmc)),
                      headers={"Content-Type": ctype}, timeout=30)
    assert r.status_code == 200, r.text
