"""The user guide's examples, verbatim: every Python and curl code block of
the guide (the per-endpoint snippets and the driver code of "Using with
Python Scripts", "Using with Bash Scripts", "Task Status Monitoring",
"Error Handling", "Using Environment Variables") is extracted from the
vendored copy of the guide at test time and run as written against the
service and a simulated Redfish BMC. Only the base URL
(http://localhost:8000) and the BMC address (192.168.1.100) are
substituted; as root the BMC listens on 443 with the guide's
admin/password, as the examples assume. Without root (port 443 cannot be
bound) the BMC's port is substituted too: `"port": N` follows each "ip"
the examples send (BMC_GUIDE_SUBSTITUTE_PORT=1 forces that as root).

The copy is tests/integration/guide/bmc-manager-user-guide.md; when
$BMC_GUIDE_SOURCE names the guide as published, the copy must be byte for
byte the same."""
import ast
import json
import os
import pathlib
import random
import re
import subprocess

import pytest

from fixtures_redfish import start_redfish_sim
from fixtures_service import REPO, Service

GUIDE = REPO / "tests" / "integration" / "guide" / "bmc-manager-user-guide.md"
SOURCE = pathlib.Path(os.environ.get("BMC_GUIDE_SOURCE", "/nonexistent"))
GUIDE_URL = "http://localhost:8000"
GUIDE_BMC = "192.168.1.100"
# The one example that names a task id of its own, not one it created.
FIXED_TASK_ID = "550e8400-e29b-41d4-a716-446655440000"


def code_blocks(text):
    """[(line, language, heading, code)] of the fenced blocks of TEXT."""
    blocks, heading, fence = [], "", None
    for n, line in enumerate(text.splitlines(), 1):
        if fence is None and line.startswith("#"):
            heading = line.lstrip("#").strip()
        elif fence is None and line.startswith("```"):
            fence = (n, line[3:].strip(), heading, [])
        elif fence is not None and line.startswith("```"):
            blocks.append(fence[:3] + ("\n".join(fence[3]) + "\n",))
            fence = None
        elif fence is not None:
            fence[3].append(line)
    return blocks


def examples():
    """The runnable examples: every Python block, and every bash block that
    calls the service with curl (the others install or configure)."""
    out = []
    for line, lang, heading, code in code_blocks(GUIDE.read_text()):
        if lang == "python" or (lang == "bash" and "curl " in code):
            out.append(pytest.param(lang, code, id=f"L{line}-{lang}-{heading}"))
    return out


EXAMPLES = examples()


def test_vendored_guide_is_the_spec():
    if not SOURCE.exists():
        pytest.skip("BMC_GUIDE_SOURCE names no published guide: nothing to "
                    "compare")
    assert GUIDE.read_bytes() == SOURCE.read_bytes(), \
        f"{GUIDE} differs from {SOURCE}: copy it again"


def test_every_example_is_found():
    langs = [p.values[0] for p in EXAMPLES]
    # 9 Python blocks; 14 curl blocks (13 per endpoint, 1 bash script).
    assert langs.count("python") == 9, langs
    assert langs.count("bash") == 14, langs
    text = "".join(p.values[1] for p in EXAMPLES)
    for path in ("/validate", "/list-users", "/list-actions", "/power-state",
                 "/action", "/action/async", "/tasks/", "/health",
                 "/execute"):
        assert path in text, path


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The service, and a Redfish BMC on port 443 of a loopback address of
    its own (port 443 and the guide's default credentials, as written)."""
    port = 0 if substitute_port() else 443
    sim = svc = None
    for _ in range(5):
        addr = "127.%d.%d.%d" % (random.randint(20, 250),
                                 random.randint(0, 255),
                                 random.randint(1, 254))
        try:
            sim = start_redfish_sim(tmp_path_factory.mktemp("guide-bmc"),
                                    addresses=addr, port=port,
                                    profile="dmtf", transition_seconds=0.2,
                                    initial_power="Off", timeout=30)
            break
        except RuntimeError:
            continue  # the address's port 443 is taken: another one
    assert sim, "no loopback address with port 443 free"
    try:
        svc = Service({"BMC_POWER_STATE_POLL_INTERVAL": 0.2,
                       "BMC_MIN_RETRY_DELAY_SECONDS": 0.1}).start()
        yield svc, sim
    finally:
        if svc:
            svc.stop()
        sim.stop()


def substitute_port():
    return os.geteuid() != 0 or os.environ.get("BMC_GUIDE_SUBSTITUTE_PORT") == "1"


# The "ip" an example sends: a JSON or Python string, a Python name, or the
# bash script's escaped JSON (\"ip\": \"${BMC_IP}\").
IP_FIELD = re.compile(r'(\\?)"ip\1": (?:\1"[^"\\]*\1"|\w+)')


def with_port(code, port):
    """CODE with `"port": PORT` after every "ip" it sends."""
    return IP_FIELD.sub(lambda m: m.group(0) + ', %s"port%s": %d' % (
        m.group(1), m.group(1), port), code)


def substitute(code, svc, sim, password=None):
    code = code.replace(GUIDE_URL, svc.url).replace(GUIDE_BMC, sim.host)
    if sim.port != 443:
        code = with_port(code, sim.port)
    if password:  # the value, never the key "password"
        code = code.replace('"admin", "password"', '"admin", "%s"' % password)
        code = code.replace('"password": "password"',
                            '"password": "%s"' % password)
    return code


def run(lang, code, svc, sim, password=None):
    env = dict(os.environ, BMC_IP=sim.host, BMC_USER="admin",
               BMC_PASS=password or "password")
    argv = (["/usr/bin/python3", "-c"] if lang == "python"
            else ["bash", "-c"]) + [substitute(code, svc, sim, password)]
    p = subprocess.run(argv, env=env, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, (p.stdout, p.stderr)
    return p.stdout


def printed_objects(out):
    """The JSON documents (curl) and dicts (Python's print) in OUT, and the
    lines that are neither."""
    objs, rest, buf = [], [], ""
    for line in out.splitlines():
        buf = buf + "\n" + line if buf else line
        if not buf.lstrip().startswith("{"):
            rest.append(buf)
            buf = ""
            continue
        for parse in (json.loads, ast.literal_eval):
            try:
                objs.append(parse(buf))
                buf = ""
                break
            except (ValueError, SyntaxError):
                pass
    assert not buf, f"unparsed output: {buf!r}"
    return objs, [r for r in rest if r.strip()]


@pytest.mark.valgrind
@pytest.mark.parametrize("lang,code", EXAMPLES)
def test_guide_example_runs_as_written(world, lang, code):
    svc, sim = world
    out = run(lang, code, svc, sim)
    objs, lines = printed_objects(out)
    for obj in objs:
        if FIXED_TASK_ID in code and "/tasks/" in code:
            # It asks for the guide's own sample id: the 404 envelope.
            assert obj["success"] is False and obj["error_code"] == 3005
            continue
        assert obj.get("success") is True, obj
        assert "error_code" not in obj, obj
    for line in lines:
        assert not re.search(r"fail|error|timeout", line, re.I), out
    if "def " in code or "#!/bin/bash" in code:
        # Driver code: what it prints on success.
        wanted = {"validate_bmc": "BMC connection validated",
                  "wait_for_task_completion": "Task completed successfully",
                  "execute_action_with_error_handling":
                      "Result: Method executed successfully",
                  "#!/bin/bash": "BMC connection validated"}
        for marker, text in wanted.items():
            if marker in code:
                assert text in out, out
    elif "print(" in code or "curl " in code:
        assert objs, out


def test_port_substitution_covers_every_request():
    """Without root every example's "ip" gets the BMC's port: as many
    "port"s as "ip"s, in each form the guide writes them."""
    for p in EXAMPLES:
        code = p.values[1]
        out = with_port(code, 8443)
        assert out.count('"port') - code.count('"port') == \
            len(IP_FIELD.findall(code)), out
        assert len(IP_FIELD.findall(code)) == code.count('"ip') - \
            code.count('"ip"s'), code
    bash = [p.values[1] for p in EXAMPLES if "#!/bin/bash" in p.values[1]][0]
    assert '\\"ip\\": \\"${BMC_IP}\\", \\"port\\": 8443' in with_port(bash, 8443)


def test_guide_error_handling_example_with_a_wrong_password(world):
    """The "Error Handling" driver's failure branch: the same code with
    the credentials substituted by a wrong password."""
    svc, sim = world
    (code,) = [p.values[1] for p in EXAMPLES
               if "execute_action_with_error_handling" in p.values[1]]
    out = run("python", code, svc, sim, password="wrong-password")
    assert out.strip() == "Result: Error 1004: HTTP Unauthorized", out
