#!/usr/bin/python3
"""loadgen.py - fleet load against redfish_sim.py, to measure its capacity.

Every client opens ONE TLS connection to its own BMC address and sends
--requests GETs on it (keep-alive), all clients at once (a barrier releases
them together). Prints one JSON line: wall time, failures, latency
percentiles. Example:

  redfish_sim.py --addresses 127.0.1.1-127.0.4.232 --port 8443 \
      --latency-ms 100 &
  loadgen.py --addresses 127.0.1.1-127.0.4.232 --port 8443 --requests 4
"""

import argparse
import base64
import http.client
import ipaddress
import json
import multiprocessing
import ssl
import threading
import time

PATHS = ["/redfish/v1", "/redfish/v1/Systems", None, "/redfish/v1/Managers"]


def expand(text):
    out = []
    for item in text.split(","):
        lo, sep, hi = item.strip().partition("-")
        a = int(ipaddress.IPv4Address(lo))
        b = int(ipaddress.IPv4Address(hi)) if sep else a
        out.extend(str(ipaddress.IPv4Address(i)) for i in range(a, b + 1))
    return out


def client(ctx, addr, port, nreq, auth, barrier, results, idx):
    barrier.wait()
    t0 = time.monotonic()
    ok = 0
    err = None
    try:
        c = http.client.HTTPSConnection(addr, port, context=ctx, timeout=60)
        system = None
        for i in range(nreq):
            path = PATHS[i % len(PATHS)]
            if path is None:
                path = system or "/redfish/v1/Systems"
            c.request("GET", path, headers={"Authorization": auth})
            r = c.getresponse()
            body = r.read()
            if r.status != 200:
                raise RuntimeError("HTTP %d on %s" % (r.status, path))
            if path == "/redfish/v1/Systems":
                system = json.loads(body)["Members"][0]["@odata.id"]
            ok += 1
        c.close()
    except Exception as e:  # counted and reported, not raised
        err = "%s: %s" % (type(e).__name__, e)
    results[idx] = (time.monotonic() - t0, ok, err)


def run_chunk(args, addrs, q, go):
    auth = "Basic " + base64.b64encode(
        ("%s:%s" % (args.user, args.password)).encode()).decode()
    results = [None] * len(addrs)
    barrier = threading.Barrier(len(addrs) + 1)
    threading.stack_size(256 * 1024)
    # One context for all: loading the CA store per client costs ~18 ms.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    threads = [threading.Thread(target=client, args=(
        ctx, a, args.port, args.requests, auth, barrier, results, i), daemon=True)
        for i, a in enumerate(addrs)]
    for t in threads:
        t.start()
    q.put("ready")
    go.wait()
    barrier.wait()
    for t in threads:
        t.join()
    q.put(results)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addresses", required=True)
    ap.add_argument("--port", type=int, default=8443)
    ap.add_argument("--requests", type=int, default=4)
    ap.add_argument("--clients-per-address", type=int, default=1)
    ap.add_argument("--procs", type=int, default=2,
                    help="client processes (threads split among them)")
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password", default="password")
    args = ap.parse_args()
    addrs = expand(args.addresses) * args.clients_per_address
    chunks = [addrs[i::args.procs] for i in range(args.procs)]
    ctx = multiprocessing.get_context("fork")
    queues = [ctx.Queue() for _ in chunks]
    go = ctx.Event()
    procs = [ctx.Process(target=run_chunk, args=(args, c, q, go))
             for c, q in zip(chunks, queues)]
    for p in procs:
        p.start()
    for q in queues:
        q.get()  # every thread is created and waiting at its barrier
    t0 = time.monotonic()
    go.set()
    results = []
    for q in queues:
        results.extend(q.get())
    wall = time.monotonic() - t0
    for p in procs:
        p.join()
    lat = sorted(r[0] for r in results)
    errs = [r[2] for r in results if r[2]]
    out = {
        "clients": len(results), "requests_each": args.requests,
        "ok_requests": sum(r[1] for r in results),
        "failed_clients": len(errs), "first_errors": errs[:3],
        "wall_s": round(wall, 3),
        "client_p50_s": round(lat[len(lat) // 2], 3),
        "client_p99_s": round(lat[int(len(lat) * 0.99) - 1], 3),
        "client_max_s": round(lat[-1], 3),
    }
    print(json.dumps(out))
    return 1 if errs else 0


if __name__ == "__main__":
    raise SystemExit(main())
