"""bmcctl, the command-line client, end to end: the built bmcctl against
real nginx + bmc-managerd and the simulators (HTTPS Redfish, OpenIPMI's
ipmi_sim). Its command table against `bmc-managerd --list-methods`, every
command the service has, exit statuses, `--json` lines validated against
conf/openapi.json and equal to the service's own answers, xCAT ranges,
-f FILE and stdin, the config file, the password prompt through a pty,
no password in any /proc/*/cmdline, and the progress line and table
layout in a real terminal (tmux)."""
import json
import os
import pathlib
import pty
import re
import select
import shutil
import signal
import subprocess
import time

import pytest

from fixtures_openapi import REPO, SPEC_PATH
from fixtures_service import BUILD, DAEMON, free_port, wait_until

BMCCTL = BUILD / "src" / "bmcctl" / "bmcctl"
PASSWORD = "Cl1-Pa55word-q7"  # a password no message contains
IPMI_PASSWORD = "password"       # tests/sim/ipmi/lan.conf.in
HTTP_OF_CODE = {1001: 401, 1004: 401, 4009: 401, 4010: 403, 4008: 403,
                3005: 404, 4040: 404, 3004: 503}


def status_of(obj):
    """The HTTP status an answer was sent with (DESIGN.md's table)."""
    code = obj.get("error_code")
    if obj.get("success") or code is None:
        return 200
    if code in HTTP_OF_CODE:
        return HTTP_OF_CODE[code]
    return 400 if code < 3000 or 4000 <= code < 5000 else 500


def openapi_errors(checker, method, path, obj):
    """Problems of OBJ as the answer to METHOD PATH, per the document."""
    template, item = checker.route(path)
    assert item is not None, path
    op = item[method.lower()]
    status = status_of(obj)
    if path.startswith("/tasks/"):
        status = 200 if obj.get("success") else 404
    response = op["responses"].get(str(status)) or op["responses"].get("default")
    assert response is not None, (path, status, obj)
    schema = checker.deref(response)["content"]["application/json"]["schema"]
    return checker.schema_errors(schema, obj)


class Cli:
    def __init__(self, svc, home):
        self.svc = svc
        self.env = {"PATH": os.environ["PATH"], "HOME": str(home),
                    "BMC_URL": svc.url, "LANG": "C.UTF-8"}

    def __call__(self, *args, env=None, stdin=None, timeout=120):
        e = dict(self.env)
        e.update(env or {})
        p = subprocess.run([str(BMCCTL), *map(str, args)], env=e,
                           input=stdin, capture_output=True, text=True,
                           timeout=timeout)
        return p

    def json_lines(self, checker, method, path, *args, env=None, want=0):
        p = self(*args, "--json", env=env)
        assert p.returncode == want, (p.returncode, p.stdout, p.stderr)
        lines = [json.loads(l) for l in p.stdout.splitlines()]
        for obj in lines:
            where = "/tasks/x" if obj.get("method") == "get_task_status" else path
            m = "GET" if where.startswith("/tasks/") else method
            assert openapi_errors(checker, m, where, obj) == [], obj
        return lines


@pytest.fixture
def svc(service_factory):
    return service_factory({"BMC_POWER_STATE_POLL_INTERVAL": 0.2,
                            "BMC_TIMEOUT": 10})


@pytest.fixture
def cli(svc, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return Cli(svc, home)


@pytest.fixture
def rf(redfish_sim):
    return redfish_sim(profile="dmtf", users=[f"admin:{PASSWORD}:Administrator"],
                       transition_seconds=0.2, initial_power="Off")


def rf_args(sim):
    return ["-u", "admin", "--port", sim.port]


def rf_env():
    return {"BMC_PASSWORD": PASSWORD}


def power_of(sim, address=None):
    (st,) = sim.state(address).values()
    (power,) = st["power"].values()
    return power


# ---- the table against the service's methods -------------------------------

def list_methods():
    return json.loads(subprocess.run([str(DAEMON), "--list-methods"], check=True,
                                     capture_output=True, text=True).stdout)


def list_commands():
    return json.loads(subprocess.run([str(BMCCTL), "--list-commands"], check=True,
                                     capture_output=True, text=True).stdout)


def test_every_method_has_a_command():
    """A method the service lists but bmcctl has no command for fails here;
    so does a command sending a parameter its method does not declare, or
    calling another endpoint than the method's."""
    methods = {m["name"]: m for m in list_methods()}
    commands = list_commands()
    covered = {c["method"] for c in commands if c["method"]}
    missing = sorted(set(methods) - covered)
    assert missing == [], f"methods without a bmcctl command: {missing}"
    for c in commands:
        m = methods.get(c["method"])
        if m is None:
            continue  # a method this service does not have yet
        declared = {p["name"] for p in m["params"]}
        extra = set(c["params"]) - declared
        assert not extra, f"{c['command']}: {sorted(extra)} not params of {m['name']}"
        if m.get("endpoint") is not None or c["endpoint"] is not None:
            assert c["endpoint"] == m.get("endpoint"), c
    names = [c["command"] for c in commands]
    assert len(names) == len(set(names))
    for want in ("power on", "power off", "power cycle", "power reset",
                 "power soft", "power status", "boot get", "boot set",
                 "media insert", "media eject", "media status", "sensors",
                 "log show", "log clear", "inventory", "identify on",
                 "identify off", "users list", "users create", "users modify",
                 "users delete", "validate", "task", "health"):
        assert want in names, want


# ---- every command the service has -----------------------------------------

ARGS = {"DEVICE": "pxe", "URL": "http://127.0.0.1:1/boot.iso",
        "ACCOUNT": "bmcctl-test"}


def test_every_command_the_service_has(cli, rf, openapi_checker):
    """Each command whose method the service lists, against the Redfish
    simulator: an answer that is the service's own and validates."""
    methods = {m["name"] for m in list_methods()}
    ran = []
    for c in list_commands():
        if c["method"] not in methods:
            continue
        words = c["command"].split()
        argname = {"boot set": "DEVICE", "media insert": "URL",
                   "media boot": "URL"}.get(c["command"])
        if words[0] == "users" and words[1] != "list":
            argname = "ACCOUNT"
        extra = [ARGS[argname]] if argname else []
        extra += {"users create": ["--role", "operator"],
                  "users modify": ["--role", "readonly", "--new-password"],
                  "log show": ["--limit", 5],
                  "sensors": ["--type", "temperature"]}.get(c["command"], [])
        env = dict(rf_env(), BMC_NEW_PASSWORD="N3wSecret9")
        p = cli(*words, *extra, rf.host, *rf_args(rf), "--json", env=env)
        assert p.returncode in (0, 1), (c, p.stdout, p.stderr)
        (obj,) = [json.loads(l) for l in p.stdout.splitlines()]
        path = c["endpoint"] or "/execute"
        assert openapi_errors(openapi_checker, "POST", path, obj) == [], obj
        assert obj["method"] == c["method"]
        assert PASSWORD not in p.stdout + p.stderr
        ran.append(c["command"])
    assert {"power on", "power status", "validate", "users list"} <= set(ran)



@pytest.mark.valgrind
def test_json_is_the_services_answer(cli, rf, svc, openapi_checker):
    """--json prints what the service answered, unchanged."""
    (obj,) = cli.json_lines(openapi_checker, "POST", "/power-state", "power",
                            "status", rf.host, *rf_args(rf), env=rf_env())
    direct = svc.post("/power-state", {"ip": rf.host, "port": rf.port,
                                       "username": "admin", "password": PASSWORD,
                                       "protocol": "redfish"}).json()
    assert obj.keys() == direct.keys()
    assert obj["data"] == direct["data"] and obj["task_id"] != direct["task_id"]
    (users,) = cli.json_lines(openapi_checker, "POST", "/list-users", "users",
                              "list", rf.host, *rf_args(rf), env=rf_env())
    assert users["data"]["users"][0]["name"] == "admin"


def test_power_and_table(cli, rf):
    p = cli("power", "on", rf.host, *rf_args(rf), "--wait", env=rf_env())
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split()[:2] == ["HOST", "RESULT"]
    assert "Command Accepted (204)" in lines[1] and "On" in lines[1]
    assert power_of(rf) == "On"
    p = cli("power", "status", rf.host, *rf_args(rf), env=rf_env())
    assert p.stdout.split() == ["HOST", "STATE", rf.host, "On"]
    assert "\033" not in p.stdout, "no colour when not a terminal"
    p = cli("power", "actions", rf.host, *rf_args(rf), env=rf_env())
    assert "cycle" in p.stdout and "ForceOff" in p.stdout
    p = cli("-q", "power", "off", rf.host, *rf_args(rf), env=rf_env())
    assert p.returncode == 0 and p.stdout == "" and p.stderr == ""


def test_ipmi(cli, ipmi_sim, openapi_checker):
    bmc = ipmi_sim(power=0)
    args = [f"{bmc.host}:{bmc.port}", "-u", "admin", "--protocol", "ipmi",
            "--cipher-suite", 3]
    env = {"BMC_PASSWORD": IPMI_PASSWORD}
    (obj,) = cli.json_lines(openapi_checker, "POST", "/action", "power", "on",
                            *args, env=env)
    assert obj["data"]["message"] == "Chassis Power Control: Up/On"
    assert bmc.power() == 1
    p = cli("power", "status", *args, env=env)
    assert p.returncode == 0 and p.stdout.split()[-1] == "on"
    p = cli("users", "list", *args, env=env)
    assert re.search(r"^127\.\S+\s+2\s+admin\s+", p.stdout, re.M), p.stdout
    p = cli("firmware", *args, env=env)
    assert p.returncode == 0 and "FIRMWARE" in p.stdout
    p = cli("validate", *args, env=env)
    assert p.returncode == 0 and p.stdout.split()[-1] == "yes"


# ---- several targets --------------------------------------------------------

def service_has_bulk():
    return "/action/bulk" in json.loads(SPEC_PATH.read_text())["paths"]


def test_power_cycle_forty_bmcs(cli, redfish_sim, openapi_checker):
    """The acceptance line: a range of 40 BMCs power-cycled with one
    command, no password on the command line, every one watched to its
    end; one JSON line per target, in order."""
    sim = redfish_sim(profile="dmtf", addresses="127.0.1.1-127.0.1.40",
                      users=[f"admin:{PASSWORD}:Administrator"],
                      transition_seconds=0.2, initial_power="On")
    path = "/action/bulk" if service_has_bulk() else "/action/async"
    lines = cli.json_lines(openapi_checker, "POST", path, "power", "cycle",
                           "127.0.1.[1-40]", *rf_args(sim), "--wait",
                           env=rf_env())
    assert len(lines) == 40
    assert [l["ip"] for l in lines] == [f"127.0.1.{i}" for i in range(1, 41)]
    assert all(l["status"] == "success" for l in lines), lines
    assert all(l["result"]["data"]["power_state_stable"] for l in lines)
    for i in (1, 17, 40):
        posts = [r for r in sim.requests(f"127.0.1.{i}") if r["method"] == "POST"]
        assert posts, i
        assert power_of(sim, f"127.0.1.{i}") == "On"


def test_fallback_to_async_calls(cli, redfish_sim, svc):
    """Without a bulk endpoint (this service answers 404/4040 for it, or
    --no-bulk) every target is its own async task, polled to its end."""
    sim = redfish_sim(profile="dmtf", addresses="127.0.1.41-127.0.1.43",
                      users=[f"admin:{PASSWORD}:Administrator"],
                      transition_seconds=0.1, initial_power="Off")
    runs = [["--no-bulk"]] + ([] if service_has_bulk() else [[]])
    for extra in runs:
        p = cli("power", "on", "127.0.1.41-127.0.1.43", *rf_args(sim), "--json",
                *extra, env=rf_env())
        assert p.returncode == 0, p.stderr
        lines = [json.loads(l) for l in p.stdout.splitlines()]
        ids = {l["task_id"] for l in lines}
        assert len(ids) == 3
        for l in lines:
            assert l["data"]["method"] == "run_action" and l["status"] == "success"
    if not service_has_bulk():
        r = svc.post("/action/bulk", {"targets": []})
        assert r.status_code == 404 and r.json()["error_code"] == 4040


def test_targets_from_file_and_stdin(cli, redfish_sim, tmp_path):
    sim = redfish_sim(profile="dmtf", addresses="127.0.1.44-127.0.1.46",
                      users=[f"admin:{PASSWORD}:Administrator"])
    hosts = tmp_path / "hosts"
    hosts.write_text("# rack 3\n127.0.1.44 127.0.1.45\n127.0.1.46  # spare\n")
    p = cli("power", "status", "-f", hosts, *rf_args(sim), env=rf_env())
    assert p.returncode == 0, p.stderr
    assert [l.split()[0] for l in p.stdout.splitlines()[1:]] == \
        ["127.0.1.44", "127.0.1.45", "127.0.1.46"]
    p = cli("power", "status", "-", *rf_args(sim), env=rf_env(),
            stdin="127.0.1.[44-46],-127.0.1.45\n")
    assert [l.split()[0] for l in p.stdout.splitlines()[1:]] == \
        ["127.0.1.44", "127.0.1.46"]
    p = cli("power", "status", "localhost", *rf_args(sim), env=rf_env(),
            stdin="")
    assert p.returncode == 4 or p.returncode == 0, p.stdout  # resolved to 127.0.0.1


# ---- exit statuses ----------------------------------------------------------

@pytest.mark.slow  # behaviour/timing; not run in the sanitizer pass
def test_exit_statuses(cli, rf, redfish_sim, ipmi_sim):
    # 1: the BMC said no (no ResetType for a graceful shutdown)
    plain = redfish_sim(profile="dmtf", addresses="127.0.1.47",
                        users=[f"admin:{PASSWORD}:Administrator"],
                        reset_types="On,ForceOff")
    p = cli("power", "soft", plain.host, *rf_args(plain), env=rf_env())
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "not supported" in p.stdout
    # 2: usage
    for args in (["power"], ["power", "sideways", "h"], ["power", "on"],
                 ["power", "on", "n[3-1]", "-u", "x"],
                 ["power", "on", "h", "--password", "x"],
                 ["power", "on", "h", "--persistent", "-u", "x"],
                 ["nosuch"], ["health", "extra-host"]):
        p = cli(*args, env=rf_env())
        assert p.returncode == 2, (args, p.stderr)
    # 3: authentication (the BMC's)
    p = cli("power", "status", rf.host, *rf_args(rf), env={"BMC_PASSWORD": "wrong"})
    assert p.returncode == 3, p.stdout
    # 4: connection to the BMC
    bmc = ipmi_sim()
    bmc.freeze()
    try:
        p = cli("power", "status", f"{bmc.host}:{bmc.port}", "-u", "admin",
                "--protocol", "ipmitool", "--cipher-suite", 3,
                env={"BMC_PASSWORD": IPMI_PASSWORD})
    finally:
        bmc.thaw()
    assert p.returncode == 4, (p.stdout, p.stderr)
    # several targets: the worst one (a good one and one refused)
    p = cli("power", "status", f"{rf.host},127.0.1.48", *rf_args(rf),
            env=rf_env())
    assert p.returncode == 4, (p.stdout, p.stderr)
    assert re.search(rf"^{re.escape(rf.host)}\s+Off", p.stdout, re.M)
    assert re.search(r"^127\.0\.1\.48\s+error 100[25]", p.stdout, re.M)
    # 5: no service there
    p = cli("power", "status", rf.host, *rf_args(rf), "--url",
            f"http://127.0.0.1:{free_port()}", env=rf_env())
    assert p.returncode == 5 and "no answer from the service" in p.stdout
    p = cli("task", "01000000-0000-7000-8000-000000000000")
    assert p.returncode == 5 and "error 3005: Task" in p.stdout


def test_task_and_health(cli, rf, svc, openapi_checker):
    r = svc.post("/action/async", {"ip": rf.host, "port": rf.port, "username":
                                   "admin", "password": PASSWORD,
                                   "protocol": "redfish", "action": "on"})
    tid = r.json()["task_id"]
    (t,) = cli.json_lines(openapi_checker, "GET", f"/tasks/{tid}", "task", tid,
                          "--wait")
    assert t["status"] == "success" and t["task_id"] == tid
    p = cli("task", tid)
    assert p.returncode == 0 and "success" in p.stdout and "run_action" in p.stdout
    (h,) = cli.json_lines(openapi_checker, "GET", "/health", "health")
    assert h["status"] == "healthy"
    p = cli("health")
    assert p.returncode == 0 and "healthy" in p.stdout


# ---- configuration and credentials -----------------------------------------

def test_config_file(cli, rf, tmp_path):
    conf = tmp_path / "home" / ".config" / "bmcctl"
    conf.mkdir(parents=True)
    f = conf / "config"
    f.write_text(f"url = {cli.svc.url}\nusername = admin\npassword = {PASSWORD}\n"
                 f"port = {rf.port}\n")
    f.chmod(0o644)
    env = {"BMC_URL": ""}
    p = cli("power", "status", rf.host, env=env)
    assert p.returncode == 2 and "others can read it" in p.stderr
    f.chmod(0o600)
    p = cli("power", "status", rf.host, env=env)
    assert p.returncode == 0, p.stderr
    f.write_text(f"url = {cli.svc.url}\nusername = admin\n")
    f.chmod(0o644)  # no secret: fine to share
    p = cli("power", "status", rf.host, "--port", rf.port, env=rf_env())
    assert p.returncode == 0, p.stderr
    p = cli("power", "status", rf.host, "--port", rf.port, "--config",
            tmp_path / "absent", env=rf_env())
    assert p.returncode == 2


def read_until(fd, pattern, timeout=60):
    out = b""
    deadline = time.monotonic() + timeout
    while not re.search(pattern, out):
        if time.monotonic() > deadline:
            raise TimeoutError(out)
        r, _, _ = select.select([fd], [], [], 1)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out


def test_password_prompt_through_a_pty(cli, rf):
    """No BMC_PASSWORD: bmcctl asks on the terminal without echo."""
    env = dict(cli.env)
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(str(BMCCTL), [str(BMCCTL), "power", "status", rf.host,
                                *map(str, rf_args(rf))], env)
    try:
        read_until(fd, rb"Password for admin: ")
        os.write(fd, PASSWORD.encode() + b"\n")
        rest = read_until(fd, rb"HOST.*\n.*Off")
    finally:
        deadline, status = time.monotonic() + 30, None
        while status is None:
            wpid, st = os.waitpid(pid, os.WNOHANG)
            if wpid:
                status = st
            elif time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)  # ours: never leave it waiting
            time.sleep(0.05)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
    assert PASSWORD.encode() not in rest, "the password was echoed"
    # without a terminal and without BMC_PASSWORD: a usage error, no hang
    p = subprocess.run([str(BMCCTL), "power", "status", rf.host, *map(str, rf_args(rf))],
                       env=env, capture_output=True, text=True, timeout=30,
                       start_new_session=True, stdin=subprocess.DEVNULL)
    assert p.returncode == 2 and "BMC_PASSWORD" in p.stderr


def test_password_never_in_a_command_line(cli, redfish_sim, svc):
    """While bmcctl, the service and the BMCs work, no /proc/*/cmdline
    holds the password, nor bmcctl's /proc/PID/environ once read."""
    sim = redfish_sim(profile="dmtf", addresses="127.0.1.49-127.0.1.50",
                      users=[f"admin:{PASSWORD}:Administrator"],
                      latency_ms=400)
    e = dict(cli.env, BMC_PASSWORD=PASSWORD)
    proc = subprocess.Popen([str(BMCCTL), "power", "status", "127.0.1.[49-50]",
                             *map(str, rf_args(sim))], env=e,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = wiped = 0
    try:
        while proc.poll() is None:
            for cmdline in pathlib.Path("/proc").glob("[0-9]*/cmdline"):
                if cmdline.parent.name == str(sim.pid):
                    continue  # the simulated BMC is told its accounts
                try:
                    data = cmdline.read_bytes()
                except OSError:
                    continue
                assert PASSWORD.encode() not in data, cmdline
                seen += 1
            if sim.requests():  # bmcctl has read the password by now
                try:
                    environ = pathlib.Path(f"/proc/{proc.pid}/environ").read_bytes()
                except OSError:
                    environ = b""
                assert PASSWORD.encode() not in environ, "BMC_PASSWORD not wiped"
                if b"BMC_PASSWORD=" in environ:
                    wiped += 1
            time.sleep(0.05)
    finally:
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert seen > 0 and wiped > 0
    assert PASSWORD not in out.decode() + err.decode() + svc.log()


# ---- a real terminal --------------------------------------------------------

@pytest.fixture
def tmux(tmp_path):
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (scripts/lib.sh PKGS_TEST has it)")
    sock = tmp_path / "tmux.sock"
    base = ["tmux", "-S", str(sock), "-f", "/dev/null"]
    yield base
    subprocess.run(base + ["kill-server"], capture_output=True)


def capture(tmux, session, escapes=False):
    return subprocess.run(tmux + ["capture-pane", "-p", "-J"] + (["-e"] if escapes else [])
                          + ["-t", session], capture_output=True, text=True).stdout


def run_in_tmux(tmux, session, cli, tmp_path, argv, extra_env=None):
    """Run ARGV in a new tmux session (its own window, 160x40); earlier
    sessions stay, so the server never exits between two runs."""
    env = dict(cli.env, BMC_PASSWORD=PASSWORD, TERM="xterm-256color", **(extra_env or {}))
    script = tmp_path / f"run-{session}.sh"
    exports = "".join(f"export {k}='{v}'\n" for k, v in env.items())
    script.write_text("#!/bin/sh\n" + exports + " ".join(f"'{a}'" for a in argv)
                      + "\necho \"EXIT=$?\"\nsleep 600\n")
    script.chmod(0o700)
    subprocess.run(tmux + ["new-session", "-d", "-s", session, "-x", "160", "-y", "40",
                           str(script)], check=True)


def test_terminal_progress_line_and_table(cli, redfish_sim, tmux, tmp_path):
    sim = redfish_sim(profile="dmtf", addresses="127.0.1.51-127.0.1.53",
                      users=[f"admin:{PASSWORD}:Administrator"],
                      transition_seconds=3, initial_power="Off")
    argv = [str(BMCCTL), "power", "on", "127.0.1.[51-53]", *map(str, rf_args(sim)),
            "--wait"]
    run_in_tmux(tmux, "t1", cli, tmp_path, argv)
    progress = re.compile(r"power on: [0-3]/3 done, [0-3] failed, \d+\.\ds")
    wait_until(lambda: progress.search(capture(tmux, "t1")), timeout=60,
               what="the progress line")
    wait_until(lambda: "EXIT=" in capture(tmux, "t1"), timeout=60, what="bmcctl's end")
    screen = capture(tmux, "t1")
    assert "EXIT=0" in screen, screen
    assert not progress.search(screen), "the progress line is cleared at the end"
    rows = [l for l in screen.splitlines() if l.startswith(("HOST", "127.0.1."))]
    assert len(rows) == 4, screen
    header = rows[0]
    cols = [m.start() for m in re.finditer(r"(?<=  )\S", header)] 
    assert cols, header
    for row in rows[1:]:
        for c in cols:
            assert row[c - 2:c] == "  " and row[c] != " ", (header, row)
    colored = capture(tmux, "t1", escapes=True)
    assert re.search(r"\x1b\[32mOn\x1b\[(0|39)?m", colored), colored
    # NO_COLOR: the same table without escapes
    argv = [str(BMCCTL), "power", "status", "127.0.1.[51-53]", *map(str, rf_args(sim))]
    run_in_tmux(tmux, "t2", cli, tmp_path, argv, {"NO_COLOR": "1"})
    wait_until(lambda: "EXIT=" in capture(tmux, "t2"), timeout=60, what="bmcctl's end")
    assert "\x1b[32m" not in capture(tmux, "t2", escapes=True)
    assert "EXIT=0" in capture(tmux, "t2")


# ---- service tokens and credential references --------------------------------

def test_service_token_and_credential(service_factory, rf, tmp_path, openapi_checker):
    """--credential sends no password (none asked, none in the body);
    --token, BMC_TOKEN and the config file's token reach the service; its
    4009/4010 and an unknown credential's 4011 are exit status 3."""
    import hashlib
    tokens = {"view": ("viewer", "v" * 40), "op": ("operator", "o" * 40)}
    tf = tmp_path / "tokens"
    tf.write_text("".join(f"{n} {role} {hashlib.sha256(t.encode()).hexdigest()}\n"
                          for n, (role, t) in tokens.items()))
    tf.chmod(0o600)
    cf = tmp_path / "credentials"
    cf.write_text(f"[lab]\nusername = admin\npassword = {PASSWORD}\n"
                  f"protocol = redfish\nport = {rf.port}\ntargets = {rf.host}/32\n")
    cf.chmod(0o600)
    svc = service_factory({"BMC_AUTH": "token", "BMC_TOKENS_FILE": str(tf),
                           "BMC_CREDENTIALS_FILE": str(cf)})
    home = tmp_path / "home2"
    home.mkdir()
    cli = Cli(svc, home)
    p = cli("power", "status", rf.host, "--credential", "lab")
    assert p.returncode == 3 and "4009" in p.stdout, p.stdout
    (obj,) = cli.json_lines(openapi_checker, "POST", "/power-state", "power", "status",
                            rf.host, "--credential", "lab",
                            env={"BMC_TOKEN": tokens["view"][1]})
    assert obj["success"] is True
    p = cli("power", "on", rf.host, "--credential", "lab", "--token", tokens["view"][1])
    assert p.returncode == 3 and "4010" in p.stdout, p.stdout
    p = cli("power", "status", rf.host, "--credential", "nosuch",
            env={"BMC_TOKEN": tokens["view"][1]})
    assert p.returncode == 3 and "4011" in p.stdout, p.stdout
    conf = home / ".config" / "bmcctl"
    conf.mkdir(parents=True)
    (conf / "config").write_text(f"token = {tokens['op'][1]}\ncredential = lab\n")
    (conf / "config").chmod(0o600)
    p = cli("power", "on", rf.host, "--wait")
    assert p.returncode == 0, p.stdout + p.stderr
    assert power_of(rf) == "On"
    p = cli("health")
    assert p.returncode == 0
