"""Fixture `receiver`: a real HTTP callback receiver (http.server on a
127.0.0.x address) that records every request and answers from a script
of statuses, so a test can make it fail, hang or recover.

    def test_x(receiver):
        r = receiver(statuses=[500, 500, 200])   # fails twice, then accepts
        ... r.url("/hook") ... r.requests        # [{path, headers, body}]
"""
import http.server
import threading

import pytest

HOST = "127.0.0.61"


class Receiver:
    """Answers STATUSES in turn (the last one repeats), after waiting on
    `release` for up to DELAY s; Location for a 3xx."""

    def __init__(self, host=HOST, statuses=(200,), delay=0, tls=None,
                 status=None):
        self.requests = []
        self.statuses = [status] if status is not None else list(statuses)
        self.delay = delay
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.host = host
        self.server = http.server.ThreadingHTTPServer((host, 0),
                                                      self._handler())
        self.server.daemon_threads = True
        if tls:
            self.server.socket = tls.wrap_socket(self.server.socket,
                                                 server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def url(self, path="/hook", scheme="http"):
        return f"{scheme}://{self.host}:{self.port}{path}"

    def next_status(self):
        with self.lock:
            return self.statuses.pop(0) if len(self.statuses) > 1 \
                else self.statuses[0]

    def _handler(self):
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                status = receiver.next_status()
                receiver.requests.append({"path": self.path,
                                          "headers": dict(self.headers),
                                          "body": self.rfile.read(n),
                                          "status": status})
                if receiver.delay:
                    receiver.release.wait(receiver.delay)
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        return Handler

    def accepted(self):
        return [q for q in self.requests if 200 <= q["status"] < 300]

    def stop(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(host=HOST, **kw):
        r = Receiver(host, **kw)
        made.append(r)
        return r

    yield make
    for r in made:
        r.stop()
