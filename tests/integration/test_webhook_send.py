"""One callback delivery (src/webhook.c) through tests/tools/webhook_send
against real receivers: Python http.server on 127.0.0.x, plain and TLS
(a certificate from a throwaway CA made here with openssl).

The build directory comes from BMC_BUILD_DIR (default: <repo>/build).
"""
import hashlib
import hmac
import http.server
import json
import os
import pathlib
import ssl
import subprocess

import pytest

from fixtures_service import DAEMON, WRAPPER
from fixtures_webhook import HOST  # the receivers' address (fixture `receiver`)

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("BMC_BUILD_DIR", REPO / "build"))
SEND = BUILD / "tests" / "tools" / "webhook_send"
SECRET = "wh-Secret-7f3a9c1e-do-not-leak"
BODY = ('{"task_id":"t-1","status":"success","note":"caf\u00e9 \u00fc"}'
        "\n").encode()
TLS_HOST = "127.0.0.62"

pytestmark = pytest.mark.skipif(not SEND.exists(),
                                reason="build webhook_send first (make check)")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A throwaway CA and a server certificate it signed for TLS_HOST."""
    d = tmp_path_factory.mktemp("webhook_pki")

    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True,
                       capture_output=True, stdin=subprocess.DEVNULL)

    openssl("req", "-x509", "-new", "-nodes", "-newkey", "rsa:2048",
            "-days", "2", "-subj", "/CN=webhook test CA", "-keyout",
            "ca.key", "-out", "ca.pem", "-addext",
            "basicConstraints=critical,CA:TRUE", "-addext",
            "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-new", "-nodes", "-newkey", "rsa:2048", "-subj",
            "/CN=%s" % TLS_HOST, "-keyout", "srv.key", "-out", "srv.csr")
    (d / "ext.cnf").write_text(
        "subjectAltName=IP:%s\nbasicConstraints=critical,CA:FALSE\n"
        "extendedKeyUsage=serverAuth\n" % TLS_HOST)
    openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey",
            "ca.key", "-CAcreateserial", "-days", "2", "-sha256",
            "-extfile", "ext.cnf", "-out", "srv.pem")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(d / "srv.pem", d / "srv.key")
    return {"ca": str(d / "ca.pem"), "ctx": ctx}


def send(url, allowed, task_id="t-1", delivery_id="d-1", body=BODY,
         secret=SECRET, **env):
    """Run webhook_send once: (outcome, exit status). The secret must not
    show in anything it writes."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("BMC_")}
    e["BMC_WEBHOOK_ALLOWED"] = allowed
    if secret is not None:
        e["BMC_WEBHOOK_SECRET"] = secret
    e.update(env)
    p = subprocess.run(WRAPPER + [str(SEND), url, task_id, delivery_id],
                       input=body, env=e, capture_output=True, timeout=60)
    out, err = p.stdout.decode(), p.stderr.decode()
    for text in (out, err):
        assert SECRET not in text and (secret or SECRET) not in text
    assert p.returncode in (0, 1), (p.returncode, out, err)
    outcome = json.loads(out)
    assert outcome["ok"] is (p.returncode == 0)
    return outcome, p.returncode


def signature_ok(request, secret=SECRET):
    sig = request["headers"].get("X-BMC-Signature", "")
    want = "sha256=" + hmac.new(secret.encode(), request["body"],
                                hashlib.sha256).hexdigest()
    return hmac.compare_digest(sig, want)


@pytest.mark.valgrind
def test_delivered_signed_with_every_header(receiver):
    r = receiver()
    url = "http://%s:%d/hooks/bmc?x=1" % (HOST, r.port)
    out, rc = send(url, "127.0.0.0/24, 10.0.0.0/8", task_id="0a1b-task",
                   delivery_id="dlv-42")
    assert rc == 0 and out == {"ok": True, "http_status": 200, "error": ""}
    assert len(r.requests) == 1
    req = r.requests[0]
    assert req["path"] == "/hooks/bmc?x=1"
    assert req["body"] == BODY
    assert signature_ok(req)
    assert not signature_ok(req, secret=SECRET + "x")
    h = req["headers"]
    assert h["Content-Type"] == "application/json"
    assert h["X-BMC-Delivery"] == "dlv-42"
    assert h["X-BMC-Task"] == "0a1b-task"
    assert h["User-Agent"].startswith("bmc-manager/")
    assert "Expect" not in h


def test_secret_file_is_the_key(receiver, tmp_path):
    r = receiver()
    key = tmp_path / "webhook.key"
    key.write_text("file-key-0123\n")
    key.chmod(0o600)
    out, rc = send("http://%s:%d/" % (HOST, r.port), HOST, secret=None,
                   BMC_WEBHOOK_SECRET_FILE=str(key))
    assert rc == 0
    assert signature_ok(r.requests[0], secret="file-key-0123")


def test_server_error_is_a_failed_attempt(receiver):
    r = receiver(status=500)
    out, rc = send("http://%s:%d/" % (HOST, r.port), HOST)
    assert rc == 1
    assert out["http_status"] == 500 and out["error"] == "HTTP 500"
    assert len(r.requests) == 1


def test_redirect_is_not_followed(receiver):
    r = receiver(status=302)
    out, rc = send("http://%s:%d/first" % (HOST, r.port), HOST)
    assert rc == 1 and out["http_status"] == 302
    assert "redirects are not followed" in out["error"]
    assert [q["path"] for q in r.requests] == ["/first"]


def test_slow_receiver_times_out(receiver):
    r = receiver(delay=30)
    out, rc = send("http://%s:%d/" % (HOST, r.port), HOST,
                   BMC_WEBHOOK_TIMEOUT="1")
    assert rc == 1 and out["error"] == "timeout after 1 s"
    assert out["http_status"] == 0


def test_https_verified_with_the_ca_file_only(receiver, pki):
    r = receiver(host=TLS_HOST, tls=pki["ctx"])
    url = "https://%s:%d/tls" % (TLS_HOST, r.port)
    out, rc = send(url, TLS_HOST, BMC_WEBHOOK_CA_FILE=pki["ca"])
    assert rc == 0, out
    assert len(r.requests) == 1 and signature_ok(r.requests[0])
    # without the CA the certificate is not trusted: nothing is sent
    out, rc = send(url, TLS_HOST)
    assert rc == 1 and "certificate" in out["error"].lower(), out
    assert len(r.requests) == 1


def test_https_name_must_match_the_certificate(receiver, pki):
    # the certificate names TLS_HOST only; localhost is allowed here, so
    # only the host check can refuse it
    r = receiver(host="127.0.0.1", tls=pki["ctx"])
    out, rc = send("https://localhost:%d/" % r.port, "localhost",
                   BMC_WEBHOOK_CA_FILE=pki["ca"])
    assert rc == 1 and out["http_status"] == 0, out
    assert "subject name" in out["error"] or "match" in out["error"], out
    assert r.requests == []


def test_name_resolving_into_allowed_cidr_is_delivered(receiver):
    r = receiver(host="127.0.0.1")
    out, rc = send("http://localhost:%d/" % r.port, "127.0.0.1/32")
    assert rc == 0, out
    assert len(r.requests) == 1 and signature_ok(r.requests[0])


def test_allowed_name_may_resolve_anywhere(receiver):
    r = receiver(host="127.0.0.1")
    out, rc = send("http://LocalHost:%d/" % r.port, "10.0.0.0/8,localhost.")
    assert rc == 0, out
    assert len(r.requests) == 1


def test_outside_the_list_nothing_is_sent(receiver):
    r = receiver(host="127.0.0.1")
    # a name that is not listed, resolving outside the CIDRs
    out, rc = send("http://localhost:%d/" % r.port, "127.0.0.2/32,10.0.0.0/8")
    assert rc == 1
    assert out["error"].startswith("refused: ")
    assert out["error"].endswith(" is outside BMC_WEBHOOK_ALLOWED")
    # an address literal outside the list (the submission check would
    # refuse it; delivery refuses it again)
    out, rc = send("http://127.0.0.1:%d/" % r.port, "127.0.0.2")
    assert rc == 1
    assert out["error"] == ("refused: 127.0.0.1 is outside "
                            "BMC_WEBHOOK_ALLOWED")
    assert r.requests == []


def test_not_configured_or_bad_url_sends_nothing(receiver):
    r = receiver()
    url = "http://%s:%d/" % (HOST, r.port)
    out, rc = send(url, "")
    assert rc == 1 and out["error"] == "callbacks are not configured"
    out, rc = send(url, HOST, secret=None)
    assert rc == 1 and out["error"] == "callbacks are not configured"
    out, rc = send("ftp://%s:%d/" % (HOST, r.port), HOST)
    assert rc == 1 and "scheme must be http or https" in out["error"]
    out, rc = send("http://u:%s@%s:%d/" % (SECRET, HOST, r.port), HOST)
    assert rc == 1 and "user information" in out["error"]
    out, rc = send(url, HOST, delivery_id="a\r\nX-Evil: 1")
    assert rc == 1 and out["error"] == "bad task or delivery id"
    assert r.requests == []


def check_config(**env):
    e = {k: v for k, v in os.environ.items() if not k.startswith("BMC_")}
    e.update(env)
    return subprocess.run([str(DAEMON), "--check-config"], env=e,
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("env, said", [
    ({"BMC_WEBHOOK_TIMEOUT": "0"}, "BMC_WEBHOOK_TIMEOUT"),
    ({"BMC_WEBHOOK_RETRY_SECONDS": "604801"}, "BMC_WEBHOOK_RETRY_SECONDS"),
    ({"BMC_WEBHOOK_BACKOFF_SECONDS": "0"}, "BMC_WEBHOOK_BACKOFF_SECONDS"),
    ({"BMC_WEBHOOK_ALLOWED": "10.0.0.0/33"}, "BMC_WEBHOOK_ALLOWED"),
    ({"BMC_WEBHOOK_CA_FILE": "/nonexistent/ca.pem"}, "BMC_WEBHOOK_CA_FILE"),
    ({"BMC_WEBHOOK_SECRET": SECRET, "BMC_WEBHOOK_SECRET_FILE": "/x"},
     "both set"),
])
def test_daemon_refuses_bad_settings(env, said):
    r = check_config(**env)
    assert r.returncode == 2 and said in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1 and SECRET not in r.stderr


def test_daemon_refuses_a_readable_secret_file(tmp_path):
    key = tmp_path / "webhook.key"
    key.write_text(SECRET + "\n")
    key.chmod(0o640)
    r = check_config(BMC_WEBHOOK_SECRET_FILE=str(key),
                     BMC_WEBHOOK_ALLOWED="10.0.0.0/8")
    assert r.returncode == 2 and "chmod 0600" in r.stderr, r.stderr
    assert SECRET not in r.stderr
    key.chmod(0o600)
    r = check_config(BMC_WEBHOOK_SECRET_FILE=str(key),
                     BMC_WEBHOOK_ALLOWED="10.0.0.0/8")
    assert r.returncode == 0 and r.stderr == "", r.stderr
