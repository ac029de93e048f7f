"""A real Prometheus server (Debian's `prometheus`), configured from the
README's own examples (section "Prometheus configuration": addresses,
module names and intervals substituted, nothing else), scrapes /metrics and
probes a simulated Redfish BMC and ipmi_sim through /probe; its HTTP API
must then return the series. `promtool check config` / `check rules`
check the README's blocks as written."""
import os
import re
import subprocess

import pytest
import requests

from fixtures_service import REPO, free_port, wait_until
from test_probe import (IPMI_PASSWORD, PASSWORD, registry_methods, section,
                        write_modules)

README = REPO / "README.md"


def readme_yaml_blocks():
    text = README.read_text()
    section = text[text.index("### Prometheus configuration"):]
    section = section[:section.index("\n## ")]
    return re.findall(r"```yaml\n(.*?)```", section, re.S)


def promtool(*args):
    r = subprocess.run(["promtool", *args], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def modules(rf_port, ipmi_port):
    # the module names the README's scrape_configs use
    return (section("redfish_sensors", rf_port,
                    collect="power, sensors, event_log_count, inventory_info")
            + section("ipmi_power", ipmi_port, protocol="ipmitool",
                      cipher_suite=3, password=IPMI_PASSWORD,
                      targets="127.0.0.1/32"))


def test_readme_blocks_are_valid(tmp_path):
    scrape, rules = readme_yaml_blocks()
    (tmp_path / "rules.yml").write_text(rules)
    promtool("check", "rules", str(tmp_path / "rules.yml"))
    (tmp_path / "prometheus.yml").write_text(
        scrape + "rule_files: [rules.yml]\n")
    promtool("check", "config", str(tmp_path / "prometheus.yml"))


@pytest.fixture
def prometheus(tmp_path):
    procs = []

    def start(config):
        port = free_port()
        (tmp_path / "prometheus.yml").write_text(config)
        log = open(tmp_path / "prometheus.log", "wb")
        p = subprocess.Popen(
            ["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}",
             f"--storage.tsdb.path={tmp_path / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        procs.append(p)
        url = f"http://127.0.0.1:{port}"

        def ready():
            try:
                return requests.get(url + "/-/ready", timeout=1).status_code == 200
            except requests.RequestException:
                return False
        wait_until(ready, timeout=60, what="prometheus ready")
        return url

    yield start
    for p in procs:
        p.terminate()
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, 9)
            p.wait()


def query(url, expr):
    r = requests.get(url + "/api/v1/query", params={"query": expr}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["data"]["result"]


@pytest.mark.slow  # behaviour/timing; not run in the sanitizer pass
@pytest.mark.valgrind
def test_prometheus_scrapes_metrics_and_probes(service_factory, redfish_sim,
                                               ipmi_sim, prometheus, tmp_path):
    rf = redfish_sim(profile="dmtf", users=[f"admin:{PASSWORD}:Administrator"],
                     transition_seconds=0)
    rf.control({"power_state": "On"})
    bmc = ipmi_sim(power=1)
    mods = write_modules(tmp_path / "modules.ini", modules(rf.port, bmc.port))
    svc = service_factory({"BMC_PROBE_MODULES_FILE": mods})
    service = f"127.0.0.1:{svc.port}"
    rf_target, ipmi_target = f"127.0.0.1:{rf.port}", f"127.0.0.1:{bmc.port}"
    # under valgrind (BMC_TEST_WRAPPER) a probe takes seconds, not ms
    every = 15 if os.environ.get("BMC_TEST_WRAPPER") else 2
    scrape, rules = readme_yaml_blocks()
    scrape = (scrape.replace("bmc-manager.example.net:8000", service)
              .replace('["10.0.0.5", "10.0.0.6:8443"]', f'["{rf_target}"]')
              .replace('["10.0.1.5", "10.0.1.6"]', f'["{ipmi_target}"]')
              .replace("scrape_interval: 60s", f"scrape_interval: {every}s")
              .replace("scrape_timeout: 20s", f"scrape_timeout: {every}s"))
    assert service in scrape and rf_target in scrape and ipmi_target in scrape
    (tmp_path / "rules.yml").write_text(rules)
    url = prometheus(f"global:\n  scrape_interval: {every}s\n"
                     f"  scrape_timeout: {every}s\n"
                     "rule_files: [rules.yml]\n" + scrape)

    def up_series():
        return {r["metric"]["instance"]: r["value"][1]
                for r in query(url, "bmc_up")}
    wait_until(lambda: len(up_series()) == 2, timeout=30 * every,
               interval=0.5, what="bmc_up for both BMCs in prometheus")
    wait_until(lambda: set(up_series().values()) == {"1"}, timeout=15 * every,
               interval=0.5, what="both BMCs up")
    assert set(up_series()) == {rf_target, ipmi_target}
    power = {r["metric"]["instance"]: r["value"][1]
             for r in query(url, "bmc_power_on")}
    assert power == {ipmi_target: "1", rf_target: "1"}
    if "get_sensors" in registry_methods():  # issue 20's sensors, once in
        readings = '{__name__=~"bmc_sensor_value_.+"}'
        wait_until(lambda: query(url, readings), timeout=30, interval=0.5,
                   what="sensor series in prometheus")
    # the service's own families, scraped from /metrics, count the probes
    expr = 'bmc_manager_requests_total{endpoint="/probe",status="200"} >= 2'
    wait_until(lambda: query(url, expr), timeout=30, interval=0.5,
               what="the probes counted in /metrics")
    assert query(url, "bmc_manager_bmc_call_duration_seconds_bucket")
    targets = requests.get(url + "/api/v1/targets", timeout=10).json()
    health = {t["labels"]["job"]: t["health"]
              for t in targets["data"]["activeTargets"]}
    assert health == {"bmc-manager": "up", "bmc-redfish": "up",
                      "bmc-ipmi": "up"}, targets
