"""GET /metrics in the Prometheus text format, end to end: real nginx +
bmc-managerd (+ the HTTPS Redfish simulator), the text checked by
`promtool check metrics` (Debian's prometheus package) and parsed by
prometheus_client's own parser (python3-prometheus-client), so neither our
writer nor a parser of ours decides what the format is. Counters move by
exactly what was asked, are the same whichever worker answers, and survive
workers being recycled and killed."""
import os
import signal
import subprocess

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from fixtures_service import wait_until

PASSWORD = "prom-Pa55word"
JSON = {"Accept": "application/json"}
# what Prometheus 2.42 sends when it scrapes
PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0,"
                     "application/openmetrics-text;version=0.0.1;q=0.75,"
                     "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
P = "bmc_manager_"


def promtool_check(text):
    """promtool check metrics on TEXT: its complaints ("" when clean)."""
    r = subprocess.run(["promtool", "check", "metrics"], input=text,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    return (r.stdout + r.stderr).strip()


def scrape(svc, **kw):
    r = svc.get("/metrics", **kw)
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"] == CONTENT_TYPE
    return r.text


def samples(text):
    """{(name, frozenset(labels.items())): value} of every sample."""
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(smp, metric, **labels):
    return smp.get((metric, frozenset(labels.items())), 0)


def families(text):
    return {f.name: f for f in text_string_to_metric_families(text)}


@pytest.fixture
def rf(redfish_sim):
    return redfish_sim(profile="dmtf", users=[f"admin:{PASSWORD}:Administrator"],
                       transition_seconds=0)


def creds(sim, **kw):
    body = {"ip": sim.host, "port": sim.port, "username": "admin",
            "password": PASSWORD, "protocol": "redfish"}
    body.update(kw)
    return body


@pytest.fixture
def svc(service_factory):
    return service_factory({"BMC_MAX_WORKERS": 2, "BMC_LIGHT_WORKERS": 2})


def test_text_format_is_clean_and_names_every_family(svc):
    svc.get("/health")
    text = scrape(svc)
    assert promtool_check(text) == ""
    fams = families(text)
    # prometheus_client names counters without their _total suffix
    for name, kind in [("requests", "counter"), ("tasks", "counter"),
                       ("bmc_call_duration_seconds", "histogram"),
                       ("bmc_call_failures", "counter"),
                       ("bmc_errors", "counter"), ("worker_restarts", "counter"),
                       ("probes", "counter"),
                       ("tasks_running", "gauge"), ("tasks_queued", "gauge"),
                       ("store_bytes", "gauge"), ("gate_slots_in_use", "gauge"),
                       ("gate_waiting", "gauge"), ("gate_max_per_bmc", "gauge"),
                       ("build_info", "gauge")]:
        assert fams[P + name].type == kind, name
    smp = samples(text)
    assert value(smp, P + "requests_total", endpoint="/health", status="200") >= 1
    assert value(smp, P + "store_bytes") > 0
    for pool in ("bmc", "light", "executor"):  # present before any restart
        assert (P + "worker_restarts_total",
                frozenset({"pool": pool}.items())) in smp


def test_content_negotiation(svc):
    # Prometheus's own Accept, a plain client, HEAD: the text format
    assert "# TYPE bmc_manager_requests_total counter" in scrape(
        svc, headers={"Accept": PROMETHEUS_ACCEPT})
    assert scrape(svc, headers={"Accept": "*/*"})
    h = requests.head(svc.url + "/metrics", timeout=10)
    assert h.status_code == 200 and h.headers["Content-Type"] == CONTENT_TYPE
    # JSON when asked for: the envelope of before
    for accept in ("application/json", "text/plain;q=0.2, application/json"):
        r = svc.get("/metrics", headers={"Accept": accept})
        assert r.headers["Content-Type"].startswith("application/json")
        body = r.json()
        assert body["success"] is True and body["method"] == "metrics"
        assert "tasks_running" in body["data"]


def test_requests_counted_by_endpoint_and_status(svc):
    before = samples(scrape(svc))
    for _ in range(7):
        assert svc.get("/health").status_code == 200
    for _ in range(3):
        assert svc.get("/no/such/path").status_code == 404
    assert svc.get("/tasks/nope").status_code == 404
    assert svc.post("/validate", {"ip": "300.1.1.1"}).status_code == 400
    after = samples(scrape(svc))

    def delta(**labels):
        return (value(after, P + "requests_total", **labels)
                - value(before, P + "requests_total", **labels))
    assert delta(endpoint="/health", status="200") == 7
    assert delta(endpoint="unmatched", status="404") == 3
    assert delta(endpoint="/tasks/{id}", status="404") == 1
    assert delta(endpoint="/validate", status="400") == 1
    # the first scrape itself, counted once it was answered
    assert delta(endpoint="/metrics", status="200") == 1


@pytest.mark.valgrind
def test_bmc_calls_tasks_histogram_and_errors(svc, rf):
    before = samples(scrape(svc))
    for _ in range(3):
        r = svc.post("/power-state", creds(rf))
        assert r.status_code == 200 and r.json()["success"] is True, r.text
    bad = svc.post("/power-state", creds(rf, password="wrong-password"))
    assert bad.status_code == 401, bad.text
    code = str(bad.json()["error_code"])
    r = svc.post("/execute/async", creds(rf, method="get_power_state"))
    assert r.status_code == 202
    task = r.json()["task_id"]
    wait_until(lambda: svc.get(f"/tasks/{task}").json()["status"] == "success",
               what="async task")
    after = samples(scrape(svc))

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)
    m = {"protocol": "redfish", "method": "get_power_state"}
    assert delta(P + "tasks_total", method="get_power_state", status="success") == 4
    assert delta(P + "tasks_total", method="get_power_state", status="failed") == 1
    assert delta(P + "bmc_call_duration_seconds_count", **m) == 5
    assert delta(P + "bmc_call_duration_seconds_bucket", le="+Inf", **m) == 5
    assert delta(P + "bmc_call_duration_seconds_sum", **m) > 0
    assert delta(P + "bmc_call_failures_total", **m) == 1
    assert delta(P + "bmc_errors_total", code=code) == 1
    # buckets are cumulative and the bounds those of BMC latencies
    bounds = sorted(float(dict(k[1])["le"]) for k in after
                    if k[0] == P + "bmc_call_duration_seconds_bucket"
                    and dict(k[1])["method"] == "get_power_state")
    assert bounds[0] == 0.05 and 60.0 in bounds and bounds[-1] == float("inf")
    counts = [value(after, P + "bmc_call_duration_seconds_bucket", le=le, **m)
              for le in ("0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10",
                         "20", "30", "60", "+Inf")]
    assert counts == sorted(counts)


def test_counters_survive_recycled_and_killed_workers(service_factory):
    # two requests per worker: /metrics answers come from fresh workers
    svc = service_factory({"BMC_MAX_WORKERS": 1, "BMC_LIGHT_WORKERS": 1,
                           "BMC_WORKER_MAX_REQUESTS": 2})
    first = samples(scrape(svc))
    n = 20
    for _ in range(n):
        assert svc.get("/health").status_code == 200
    # the worker may just be recycling: wait for the next one
    # the pid a probe saw is the one killed: a second listing could fall
    # between a recycled worker's exit and its replacement
    seen = []
    wait_until(lambda: seen.extend(svc.child_pids("light")) or seen,
               what="a light worker")
    light = seen[:1]
    try:
        os.kill(light[0], signal.SIGKILL)
    except ProcessLookupError:
        pass  # it recycled itself first: the respawn below still holds
    # one listing per probe: two could straddle the respawn and see none
    wait_until(lambda: any(p != light[0] for p in svc.child_pids("light")),
               what="light respawn")
    wait_until(lambda: svc.get("/health").status_code == 200, what="answers")
    last = samples(scrape(svc))
    grown = (value(last, P + "requests_total", endpoint="/health", status="200")
             - value(first, P + "requests_total", endpoint="/health",
                     status="200"))
    assert grown >= n + 1  # every answer, from every worker that gave one
    restarts = value(last, P + "worker_restarts_total", pool="light")
    assert restarts >= n // 2  # recycled every second request, and the kill
    assert value(last, P + "worker_restarts_total", pool="executor") == 0
