"""Every response the integration tests receive from a service they started
is checked against conf/openapi.json, so the document and the code cannot
disagree.

How: an autouse fixture wraps requests.Session.send (every requests.get /
post / Session call goes through it) and, for URLs of a Service started by
fixtures_service, looks up the operation by path template + HTTP method,
then the documented response by status, and validates the JSON body
(python3-jsonschema, draft 2020-12, as OpenAPI 3.1 uses) and the required
headers. Paths the document does not know must answer the generic error
envelope (404 / 4040), methods it does not list 405 / 4050; a CORS
preflight (OPTIONS) may answer 204 without a body; the static docs paths
(/docs, /redoc, /openapi.json and their assets) are left to their own
tests. Mismatches are collected per test and fail it after its call.

`openapi_checker` (session fixture) gives tests the checker itself.
"""
import json
import pathlib
import re
import subprocess
import urllib.parse

import jsonschema
import pytest
import requests

REPO = pathlib.Path(__file__).resolve().parents[2]
SPEC_PATH = REPO / "conf" / "openapi.json"
STATIC_PREFIXES = ("/docs", "/redoc", "/openapi.json")


class OpenAPIChecker:
    """Validates (method, path, status, headers, body) against the document."""

    def __init__(self, spec_path=SPEC_PATH):
        self.doc = json.loads(pathlib.Path(spec_path).read_text())
        self.resolver = jsonschema.RefResolver("", self.doc)
        self.routes = []
        for template, item in self.doc["paths"].items():
            pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
            self.routes.append((re.compile(pattern), template, item))

    # -- document lookups -------------------------------------------------
    def deref(self, obj):
        while isinstance(obj, dict) and "$ref" in obj:
            _, obj = self.resolver.resolve(obj["$ref"])
        return obj

    def route(self, path):
        for pattern, template, item in self.routes:
            if pattern.match(path):
                return template, item
        return None, None

    def schema_errors(self, schema, instance):
        validator = jsonschema.Draft202012Validator(
            schema, resolver=self.resolver,
            format_checker=jsonschema.draft202012_format_checker)
        return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}"
                for e in validator.iter_errors(instance)]

    def component(self, kind, name):
        return self.doc["components"][kind][name]

    # -- the check --------------------------------------------------------
    def check(self, method, path, status, headers, body):
        """Problems (strings) with one response; [] when it conforms."""
        method = method.upper()
        if path.startswith(STATIC_PREFIXES):
            return []
        if method == "OPTIONS" and status == 204:
            return [] if not body else ["OPTIONS 204 with a body"]
        template, item = self.route(path)
        if item is None:
            return self._check_generic(path, status, headers, body, 404, 4040)
        op = item.get(method.lower())
        if op is None and method == "HEAD":
            op = item.get("get")
            body = None  # HEAD has no body to check
        if op is None:
            return self._check_generic(path, status, headers, body, 405, 4050)
        where = f"{method} {template} -> {status}"
        response = op["responses"].get(str(status)) or op["responses"].get("default")
        if response is None:
            return [f"{where}: status not documented "
                    f"(documented: {sorted(op['responses'])}); body {body!r:.300}"]
        return [f"{where}: {p}" for p in self._check_response(self.deref(response),
                                                               headers, body)]

    def _check_generic(self, path, status, headers, body, want_status, want_code):
        where = f"{path} (undocumented) -> {status}"
        if status != want_status:
            return [f"{where}: expected {want_status}"]
        response = self.component("responses", f"Error{want_status}")
        problems = self._check_response(response, headers, body)
        try:
            if json.loads(body)["error_code"] != want_code:
                problems.append(f"error_code is not {want_code}")
        except (ValueError, KeyError, TypeError):
            pass
        return [f"{where}: {p}" for p in problems]

    def _check_response(self, response, headers, body):
        problems = []
        for name, header in response.get("headers", {}).items():
            header = self.deref(header)
            if header.get("required") and name not in headers:
                problems.append(f"missing header {name}")
            elif name in headers and "schema" in header:
                value = headers[name]
                if header["schema"].get("type") == "integer":
                    value = int(value) if value.isdigit() else value
                problems += [f"header {name}: {e}"
                             for e in self.schema_errors(header["schema"], value)]
        content = response.get("content")
        if not content or body is None:
            return problems
        ctype = headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype not in content:
            return problems + [f"Content-Type {ctype!r} not documented "
                               f"({sorted(content)}); body {body[:200]!r}"]
        schema = content[ctype].get("schema")
        if ctype != "application/json" or schema is None:
            return problems
        try:
            instance = json.loads(body)
        except ValueError:
            return problems + [f"body is not JSON: {body[:200]!r}"]
        return problems + self.schema_errors(schema, instance)


_checker = None


def checker():
    global _checker
    if _checker is None:
        _checker = OpenAPIChecker()
    return _checker


@pytest.fixture(scope="session")
def openapi_checker():
    return checker()


@pytest.fixture(scope="session", autouse=True)
def docs_assets():
    """Lay out the docs nginx serves in fixtures_service.DOCS_DIR, once per
    session (fast when already there). openapi.json and the pages are
    copied before npm runs, so only the browser pages depend on npm; the
    finished process is returned for tests that need the assets."""
    import fixtures_service
    return subprocess.run(
        [str(REPO / "scripts" / "install-docs-assets"), str(fixtures_service.DOCS_DIR)],
        capture_output=True, text=True, timeout=600)


def _origin(url):
    u = urllib.parse.urlsplit(url)
    return u.scheme, u.hostname, u.port


@pytest.fixture(autouse=True)
def openapi_conformance(request, monkeypatch):
    """Validate every response from a test's services (see module doc)."""
    import fixtures_service  # here, not at import: pytest loads it as a plugin
    problems = request.node._openapi_problems = []
    origins = set()  # this test's services only: ports get reused later
    real_start, real_send = fixtures_service.Service.start, requests.Session.send

    def start(self, *a, **kw):
        origins.add(_origin(self.url))
        return real_start(self, *a, **kw)

    def send(self, prepared, **kw):
        resp = real_send(self, prepared, **kw)
        if kw.get("stream") or _origin(prepared.url) not in origins:
            return resp
        path = urllib.parse.unquote(urllib.parse.urlsplit(prepared.url).path)
        try:
            found = checker().check(prepared.method, path, resp.status_code,
                                    resp.headers, resp.content)
        except Exception as e:  # a broken check must be seen, not swallowed
            found = [f"checker failed: {e!r}"]
        problems.extend(f"{prepared.method} {path}: {p}" for p in found)
        return resp

    monkeypatch.setattr(fixtures_service.Service, "start", start)
    monkeypatch.setattr(requests.Session, "send", send)
    yield problems


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    outcome = yield
    problems = getattr(item, "_openapi_problems", None)
    if problems and outcome.excinfo is None:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise AssertionError(
            f"{len(problems)} response(s) do not match conf/openapi.json:\n  {shown}{more}")
