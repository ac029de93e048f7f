"""Scale-out: three bmc-manager nodes (BMC_NODE_ID 0, 1, 2; each its own
bmc-managerd and nginx, started by fixtures_service.Service) behind the
front nginx rendered by scripts/render-front (conf/nginx/front.conf.in),
against simulated Redfish BMCs.

POSTs spread over the nodes; GET /tasks/{id} reaches the node named by the
id's node byte; a node that is down answers the 503 envelope naming it
while the others keep working; a power action whose connection broke
after it was sent is never replayed on another node; the front never
answers HTML."""
import collections
import concurrent.futures
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import requests

from fixtures_redfish import start_redfish_sim
from fixtures_service import (DAEMON, REPO, Service, children_of, free_port,
                              wait_until)

PASSWORD = "nodes-Pa55word"
NODES = 3
ACTIONS = 300
BMCS = 100  # 127.0.5.1-127.0.5.100: three actions each
JSON = {"Accept": "application/json"}  # /metrics as the envelope


def node_of(task_id):
    """The node byte of a task id (src/taskid.h: string characters 21-22)."""
    return int(task_id[21:23], 16)


def is_json_envelope(r):
    assert r.headers.get("Content-Type", "").startswith("application/json"), \
        (r.status_code, r.headers, r.text[:200])
    body = r.json()
    assert isinstance(body, dict) and "success" in body, r.text[:200]
    return body


class Front:
    """The front nginx over the nodes' own nginx listeners."""

    def __init__(self, nodes, balance="least_conn"):
        self.balance = balance
        self.root = pathlib.Path(tempfile.mkdtemp(prefix="bmc-front-", dir="/tmp"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.nodes = nodes
        self.proc = None
        self.session = requests.Session()

    def start(self):
        argv = [str(REPO / "scripts" / "render-front"), str(DAEMON),
                str(self.root / "nginx"), f"127.0.0.1:{self.port}"]
        argv += [f"{i}=127.0.0.1:{svc.port}" for i, svc in enumerate(self.nodes)]
        subprocess.run(argv, env=dict(self.nodes[0].env, BMC_FRONT_BALANCE=self.balance),
                       check=True)
        self.proc = subprocess.Popen(
            ["nginx", "-p", str(self.root / "nginx"), "-c",
             str(self.root / "nginx" / "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: self._answers(), what="front nginx")
        return self

    def _answers(self):
        try:
            return requests.get(self.url + "/health", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)

    def get(self, path, **kw):
        kw.setdefault("timeout", 30)
        return self.session.get(self.url + path, **kw)

    def post(self, path, body, **kw):
        kw.setdefault("timeout", 60)
        return requests.post(self.url + path, json=body, **kw)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    s = start_redfish_sim(tmp_path_factory.mktemp("nodes-sim"), profile="dmtf",
                          addresses=f"127.0.5.1-127.0.5.{BMCS}",
                          users=[f"admin:{PASSWORD}:Administrator"],
                          transition_seconds=0, initial_power="Off")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def cluster(sim):
    """Three started nodes and the front; torn down after the module."""
    nodes = []
    front = None
    try:
        for i in range(NODES):
            nodes.append(Service({"BMC_NODE_ID": i, "BMC_MAX_WORKERS": 2,
                                  "BMC_LIGHT_WORKERS": 2, "BMC_TIMEOUT": 30,
                                  "BMC_LOG_LEVEL": "INFO"}).start())
        front = Front(nodes).start()
        yield front
    finally:
        if front:
            front.stop()
        for svc in nodes:
            svc.stop()
            shutil.rmtree(svc.root, ignore_errors=True)


def action(sim, n, act="on"):
    return {"ip": f"127.0.5.{n % BMCS + 1}", "port": sim.port, "username": "admin",
            "password": PASSWORD, "protocol": "redfish", "action": act}


def submit(front, bodies, threads=16):
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda b: front.post("/action/async", b), bodies))


def wait_ended(front, ids, timeout=60):
    """Poll every task through the front until it ended -> {id: task}."""
    done = {}
    deadline = time.monotonic() + timeout
    while len(done) < len(ids) and time.monotonic() < deadline:
        for i in ids:
            if i in done:
                continue
            r = front.get(f"/tasks/{i}")
            if r.status_code == 200 and r.json().get("status") in ("success", "failed"):
                done[i] = r.json()
        if len(done) < len(ids):
            time.sleep(0.2)
    assert len(done) == len(ids), f"{len(ids) - len(done)} tasks did not end"
    return done


def tasks_stored(svc):
    return svc.get("/metrics", timeout=10, headers=JSON).json()["data"]["tasks_stored"]


@pytest.fixture(scope="module")
def spread(cluster, sim):
    """The 300 actions of the routing test, shared with the later tests."""
    answers = submit(cluster, [action(sim, n) for n in range(ACTIONS)])
    bad = [(r.status_code, r.text[:200]) for r in answers if r.status_code != 202]
    assert not bad, bad[:5]
    ids = [r.json()["task_id"] for r in answers]
    return ids, wait_ended(cluster, ids)


def test_actions_spread_and_tasks_routed_to_their_node(cluster, spread):
    ids, tasks = spread
    assert len(set(ids)) == ACTIONS
    per_node = collections.Counter(node_of(i) for i in ids)
    # least_conn over three equal nodes: each takes a real share.
    assert set(per_node) == {0, 1, 2}, per_node
    assert min(per_node.values()) >= ACTIONS // 10, per_node
    failed = {i: t for i, t in tasks.items() if t["status"] != "success"}
    assert not failed, list(failed.values())[:3]
    for i, t in tasks.items():
        assert t["task_id"] == i
    # The owner is the node the id names: it has the task, the others not.
    with requests.Session() as s:
        for i in ids:
            owner = node_of(i)
            for n, svc in enumerate(cluster.nodes):
                r = s.get(f"{svc.url}/tasks/{i}", timeout=10)
                assert r.status_code == (200 if n == owner else 404), (i, n, r.text[:200])


@pytest.mark.valgrind
def test_per_node_health_metrics_and_request_id(cluster):
    for n, svc in enumerate(cluster.nodes):
        rid = f"front-probe-{n}-{time.monotonic_ns()}"
        r = cluster.get(f"/nodes/{n}/health", headers={"X-Request-ID": rid})
        assert r.status_code == 200 and is_json_envelope(r)["status"] == "healthy"
        assert r.headers["X-Request-ID"] == rid
        # The client's id reached node n's daemon, and no other node's.
        wait_until(lambda: f"req={rid} " in svc.log(), timeout=5, what="request id in log")
        assert all(f"req={rid} " not in o.log() for o in cluster.nodes if o is not svc)
        m = cluster.get(f"/nodes/{n}/metrics", headers=JSON)
        assert m.status_code == 200
        assert is_json_envelope(m)["data"]["tasks_stored"] == tasks_stored(svc)
    # One X-Request-ID header, the front's own when the client sent none.
    raw = http_raw(cluster.port, b"GET /nodes/0/health HTTP/1.0\r\n\r\n")
    assert raw.count(b"\r\nX-Request-ID: ") == 1, raw[:600]
    r = cluster.get("/nodes/7/health")
    assert r.status_code == 404 and is_json_envelope(r)["error_code"] == 4040
    assert "nodes: 0, 1, 2" in r.json()["details"]


def http_raw(port, data):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall(data)
        out = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                return out
            out += chunk


def test_front_answers_json_only(cluster):
    # A well-formed id of a node no one runs: any node answers 404.
    r = cluster.get("/tasks/0190c3a2-1b2c-7d3e-8f07-0123456789ab")
    assert r.status_code == 404 and is_json_envelope(r)["error_code"] == 3005
    r = cluster.get("/tasks/not-a-task-id")
    assert r.status_code == 404 and is_json_envelope(r)["error_code"] == 3005
    r = requests.post(cluster.url + "/action/async", data=b"x" * 70000,
                      headers={"Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 413 and is_json_envelope(r)["error_code"] == 4130
    raw = http_raw(cluster.port, b"GARBAGE\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), raw[:300]
    assert json.loads(body)["error_code"] == 4000
    r = cluster.get("/no-such-path")
    assert r.status_code == 404 and is_json_envelope(r)["error_code"] == 4040


def running_node(cluster, timeout=20):
    """The index of the node with a task running, once one has."""
    found = []

    def look():
        for n, svc in enumerate(cluster.nodes):
            if svc.get("/metrics", timeout=5, headers=JSON).json()["data"]["tasks_running"] > 0:
                found.append(n)
                return True
        return False
    wait_until(look, timeout=timeout, interval=0.05, what="a running task")
    return found[0]


def test_power_action_never_sent_twice(cluster, sim, spread):
    """The node's nginx dies while it runs a synchronous power action: the
    request had been sent, so the front answers the 503 envelope and does
    not hand the action to another node."""
    bmc = "127.0.5.77"
    sim.control({"address": bmc, "latency_ms": 700})
    before = [tasks_stored(svc) for svc in cluster.nodes]
    resets = lambda: [e for e in sim.requests(bmc)  # noqa: E731
                      if e["method"] == "POST" and "Reset" in e["path"]]
    already = len(resets())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        fut = pool.submit(cluster.post, "/action",
                          dict(action(sim, 0, "off"), ip=bmc))
        n = running_node(cluster)
        victim = cluster.nodes[n]
        workers = children_of(victim.nginx.pid)
        for pid in workers:  # SIGKILL: the connection to the front breaks
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        r = fut.result(60)
    assert r.status_code == 503, r.text[:300]
    body = is_json_envelope(r)
    assert body["error_code"] == 3004 and f"127.0.0.1:{victim.port}" in body["details"]
    # The node's daemon finishes the action it had: one operation (one
    # connection) posted the reset, and no other node ran it.
    wait_until(lambda: len(resets()) > already, timeout=30, what="the reset at the BMC")
    wait_until(lambda: victim.get("/metrics", timeout=5, headers=JSON).json()["data"]["tasks_running"] == 0,
               timeout=30, what="the victim's task to end")
    time.sleep(1.0)
    assert len({e["connection"] for e in resets()[already:]}) == 1, resets()[already:]
    after = [tasks_stored(svc) for svc in cluster.nodes]
    assert [a - b for a, b in zip(after, before)] == [1 if i == n else 0 for i in range(NODES)]
    sim.control({"address": bmc, "latency_ms": 0})
    # nginx's master replaced the killed workers: the node serves again.
    wait_until(lambda: victim._answers(), what="victim nginx workers back")


def test_balance_by_bmc_sends_one_bmc_to_one_node(cluster, sim):
    """BMC_FRONT_BALANCE=bmc: a hash of the body's "ip" picks the node, so
    every call for one BMC meets the same per-BMC gate."""
    front = Front(cluster.nodes, balance="bmc").start()
    try:
        bmcs = 12
        bodies = [action(sim, n % bmcs) for n in range(4 * bmcs)]
        # Spacing and key order vary; the BMC is what counts.
        bodies = [json.dumps(b, indent=1 if k % 2 else None) for k, b in enumerate(bodies)]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda b: requests.post(
                front.url + "/action/async", data=b,
                headers={"Content-Type": "application/json"}, timeout=60), bodies))
        assert [a.status_code for a in answers] == [202] * len(bodies)
        nodes_of = collections.defaultdict(set)
        for b, a in zip(bodies, answers):
            nodes_of[json.loads(b)["ip"]].add(node_of(a.json()["task_id"]))
        assert all(len(n) == 1 for n in nodes_of.values()), nodes_of
        assert len(set().union(*nodes_of.values())) > 1, nodes_of  # still spread
        wait_ended(front, [a.json()["task_id"] for a in answers])
    finally:
        front.stop()


def test_node_down_then_back(cluster, sim, spread):
    ids, _ = spread
    by_node = collections.defaultdict(list)
    for i in ids:
        by_node[node_of(i)].append(i)
    down = cluster.nodes[1]
    down.stop()  # daemon and its nginx: the whole node
    try:
        for i in by_node[1][:20]:
            r = cluster.get(f"/tasks/{i}", headers={"X-Request-ID": "down-check"})
            assert r.status_code == 503, r.text[:300]
            body = is_json_envelope(r)
            assert body["error_code"] == 3004 and body["success"] is False
            assert body["method"] == "get_task_status"
            assert f"node 1 (127.0.0.1:{down.port})" in body["details"]
            assert r.headers["X-Request-ID"] == "down-check"
            assert r.headers["Retry-After"]
        for n in (0, 2):
            for i in by_node[n][:20]:
                assert cluster.get(f"/tasks/{i}").status_code == 200
        r = cluster.get("/nodes/1/health")
        assert r.status_code == 503 and "node 1 " in is_json_envelope(r)["details"]
        # New actions succeed, on the live nodes only.
        answers = submit(cluster, [action(sim, n, "off") for n in range(30)], threads=8)
        assert [a.status_code for a in answers] == [202] * 30, \
            [a.text[:200] for a in answers if a.status_code != 202][:3]
        new = [a.json()["task_id"] for a in answers]
        assert {node_of(i) for i in new} <= {0, 2}
        assert all(t["status"] == "success" for t in wait_ended(cluster, new).values())

        # Only the daemon of node 2 down, its nginx up: still the envelope
        # naming the node (the node's own 503 is replaced).
        half = cluster.nodes[2]
        half.stop_daemon()
        try:
            r = cluster.get(f"/tasks/{by_node[2][0]}")
            assert r.status_code == 503
            assert f"node 2 (127.0.0.1:{half.port})" in is_json_envelope(r)["details"]
        finally:
            half.start_daemon()
        wait_until(lambda: cluster.get(f"/tasks/{by_node[2][0]}").status_code == 200,
                   what="node 2 back")
    finally:
        down.start()  # same state directory, same port
    for i in by_node[1]:
        r = cluster.get(f"/tasks/{i}")
        assert r.status_code == 200 and r.json()["status"] == "success", r.text[:200]


def test_bulk_through_the_front(cluster, sim):
    """A bulk (a body far over 64 KiB) goes to one node whole; its parent,
    children and cancel are routed to that node by the ids' node byte."""
    pad = "p" * 600
    targets = [dict(action(sim, n), note=pad) for n in range(150)]
    for t in targets:
        del t["action"]
    r = cluster.post("/action/bulk", {"targets": targets, "action": "on"})
    assert r.status_code == 202, r.text[:300]
    parent, kids = r.json()["task_id"], r.json()["children"]
    assert {node_of(k) for k in kids} == {node_of(parent)}
    c = cluster.post(f"/tasks/{parent}/cancel", {})
    assert c.status_code == 200 and c.json()["method"] == "cancel_task", c.text
    done = wait_ended(cluster, [parent] + kids[:5] + kids[-5:], timeout=120)
    p = done[parent]
    assert p["data"]["progress"]["total"] == 150
    assert p["data"]["progress"]["queued"] == p["data"]["progress"]["running"] == 0
    big = cluster.post("/action/bulk", {"targets": [dict(targets[0], note="q" * 5000)] * 900,
                                        "action": "on"})
    assert big.status_code == 413 and is_json_envelope(big)["error_code"] == 4130
