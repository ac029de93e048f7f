"""/docs (Swagger UI) and /redoc (ReDoc) render in headless Chromium
(Debian's `chromium`) from the assets nginx serves, with every endpoint of
conf/openapi.json listed. Any host but 127.0.0.1 is unresolvable for the
browser, so a page that loaded anything from the internet would not render."""
import json
import shutil
import subprocess

import pytest

from fixtures_openapi import SPEC_PATH

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")


def dump_dom(url, tmp_path, budget_ms=15000):
    """The page's DOM after BUDGET_MS of virtual time (scripts ran)."""
    profile = tmp_path / f"chromium-{abs(hash(url))}"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-dev-shm-usage", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run",
           "--disable-extensions", "--mute-audio",
           "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
           f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}",
           "--dump-dom", url]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout


def operations():
    doc = json.loads(SPEC_PATH.read_text())
    return [(path, method, op) for path, item in doc["paths"].items()
            for method, op in item.items()]


@pytest.fixture
def docs_service(service, docs_assets):
    assert docs_assets.returncode == 0, \
        f"scripts/install-docs-assets failed:\n{docs_assets.stderr}"
    return service


@pytest.mark.slow  # behaviour/timing; not run in the sanitizer pass
@pytest.mark.valgrind
def test_swagger_ui_lists_every_endpoint(docs_service, tmp_path):
    dom = dump_dom(docs_service.url + "/docs", tmp_path)
    assert 'class="swagger-ui' in dom, dom[:2000]
    assert "BMC Manager" in dom
    missing = []
    for path, method, op in operations():
        tag = op["tags"][0]
        # Swagger UI gives each operation block this id and shows its path
        if f'id="operations-{tag}-{op["operationId"]}"' not in dom or \
                f'data-path="{path}"' not in dom:
            missing.append(f"{method.upper()} {path}")
    assert not missing, f"not rendered by Swagger UI: {missing}"
    assert "Error codes" in dom and "4130" in dom


@pytest.mark.slow  # behaviour/timing; not run in the sanitizer pass
def test_redoc_lists_every_endpoint(docs_service, tmp_path):
    dom = dump_dom(docs_service.url + "/redoc", tmp_path)
    assert "BMC Manager" in dom, dom[:2000]
    missing = [f"{m.upper()} {p}" for p, m, op in operations()
               if f'data-section-id="operation/{op["operationId"]}"' not in dom]
    assert not missing, f"not rendered by ReDoc: {missing}"
    for path, _, _ in operations():
        assert path in dom, path
    assert "Error codes" in dom and "4130" in dom
    assert "Something went wrong" not in dom  # ReDoc's own error page


@pytest.mark.slow  # behaviour/timing; not run in the sanitizer pass
def test_pages_without_assets_say_how_to_install_them(service_factory, tmp_path):
    """The pages alone (what `make install` and the Debian package ship):
    each says its assets are missing and names nginx's command for them."""
    import shutil as sh
    from fixtures_openapi import REPO
    docs = tmp_path / "docs"
    docs.mkdir()
    for f in ("conf/openapi.json", "conf/docs/docs.html", "conf/docs/redoc.html"):
        sh.copy(REPO / f, docs)
    svc = service_factory({"BMC_DOCS_DIR": docs})
    for page, name in (("/docs", "Swagger UI"), ("/redoc", "ReDoc")):
        dom = dump_dom(svc.url + page, tmp_path, budget_ms=5000)
        assert f"The {name} assets are not installed on this server." in dom, dom[:2000]
        assert f"run scripts/install-docs-assets {docs}" in dom, dom[:2000]
