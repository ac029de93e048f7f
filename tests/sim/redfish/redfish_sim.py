#!/usr/bin/python3
"""redfish_sim.py - an HTTPS Redfish BMC simulator (Python standard library).

One process serves one or many simulated BMCs: every listening address is an
independent BMC with its own power state, sessions, accounts lockout state,
faults, latency and request log. Vendor profiles reproduce the ResetType
sets, publishing style (inline AllowableValues or ActionInfo), reset status
codes and error bodies of real services (see README.md for the sources).

Threading model: one selector thread accepts on every listening socket; each
accepted connection gets its own thread (TLS handshake, keep-alive request
loop, latency sleeps), so idle listeners cost nothing and a sleep never holds
a lock. State of one BMC is guarded by that BMC's own lock, held only for
short, non-blocking updates.

A plain-HTTP control API on 127.0.0.1 (--control-port) changes faults,
latency and power states at run time and reports what each BMC received.
Run `redfish_sim.py --help` for the command line.
"""

import argparse
import base64
import binascii
import collections
import ipaddress
import itertools
import json
import multiprocessing
import os
import secrets
import selectors
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import zlib
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sim_provisioning as prov  # noqa: E402  (boot override, virtual media)
import sim_health  # machine health: Chassis, sensors, logs, LED, BMC reset

# ---------------------------------------------------------------------------
# Constants

STANDARD_RESET_TYPES = (
    "On", "ForceOff", "GracefulShutdown", "GracefulRestart", "ForceRestart",
    "Nmi", "ForceOn", "PushPowerButton", "PowerCycle", "Suspend", "Pause",
    "Resume", "FullPowerCycle",
)
ROLES = ("Administrator", "Operator", "ReadOnly")
FAULTS = (
    "http500", "hang", "hang_accept", "reset", "malformed_json", "tls_fail",
    "task202", "ifmatch", "session_limit", "ignore_soft", "slow",
    # a write (POST/PATCH/DELETE) is carried out, then its answer comes
    # --slow-ms late (late_answer) or never: the connection is reset
    # (drop_reply). Each is what a client cannot tell from "not received".
    "late_answer", "drop_reply",
    "huge_accounts", "static_next_link", "clear_task",
) + prov.FAULTS
# "huge_accounts": this many extra accounts, each with a UserName this long
# (together well over the service's 1 MiB task result limit).
HUGE_ACCOUNTS = 256
HUGE_NAME_BYTES = 4608
MAX_LINE = 8192
MAX_HEADERS = 100
MAX_BODY = 1 << 20
LOG_MAX_PER_BMC = 20000
STATUS_TEXT = {
    100: "Continue", 200: "OK", 201: "Created", 202: "Accepted",
    204: "No Content", 400: "Bad Request", 401: "Unauthorized",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    409: "Conflict", 411: "Length Required", 412: "Precondition Failed",
    413: "Payload Too Large", 428: "Precondition Required",
    431: "Request Header Fields Too Large", 500: "Internal Server Error",
    501: "Not Implemented", 503: "Service Unavailable",
}

# ---------------------------------------------------------------------------
# Vendor profiles. Values follow public documentation and mockups (README.md
# lists them); where a vendor's exact wording is not public, the message is
# shaped like that vendor's registry but written here.

PROFILES = {
    "dmtf": {
        "vendor": "Contoso", "product": "DMTF public-rackmount1 mockup",
        "system_ids": lambda i: "437XR1138R2" if i == 1 else "437XR1138R2-%d" % i,
        "system_name": "WebFrontEnd483", "model": "3500",
        "manager_id": "BMC", "firmware": "1.45.455b66-rev4",
        "bios": "P79 v1.45 (12/06/2017)",
        "reset_types": ["On", "ForceOff", "GracefulShutdown", "GracefulRestart",
                        "ForceRestart", "Nmi", "ForceOn", "PushPowerButton"],
        "publish": "inline", "reset_status": 204, "conflict": None,
        "session_limit": 16, "session_limit_status": 503,
        "base": "Base.1.16", "error_style": "general", "server": None,
        "account_slots": 0, "redfish_version": "1.15.0", "context": False,
    },
    "dell": {
        "vendor": "Dell", "product": "Integrated Dell Remote Access Controller",
        "system_ids": lambda i: "System.Embedded.%d" % i,
        "system_name": "System", "model": "PowerEdge R640",
        "manager_id": "iDRAC.Embedded.1", "firmware": "7.00.00.171",
        "bios": "2.19.1",
        "reset_types": ["On", "ForceOff", "ForceRestart", "GracefulRestart",
                        "GracefulShutdown", "PushPowerButton", "Nmi",
                        "PowerCycle"],
        "publish": "inline", "reset_status": 204, "conflict": 409,
        "session_limit": 8, "session_limit_status": 503,
        "base": "Base.1.12", "oem_registry": "IDRAC.2.8",
        "error_style": "general", "server": "Apache",
        "account_slots": 16, "redfish_version": "1.17.0", "context": True,
    },
    "hpe": {
        "vendor": "HPE", "product": "ProLiant DL360 Gen10",
        "system_ids": lambda i: "%d" % i,
        "system_name": "Computer System", "model": "ProLiant DL360 Gen10",
        "manager_id": "1", "firmware": "iLO 5 v2.78",
        "bios": "U32 v2.68 (07/14/2022)",
        "reset_types": ["On", "ForceOff", "GracefulShutdown", "ForceRestart",
                        "Nmi", "PushPowerButton", "GracefulRestart"],
        "publish": "inline", "reset_status": 200, "conflict": 400,
        "session_limit": 16, "session_limit_status": 400,
        "base": "Base.1.4", "oem_registry": "iLO.2.15",
        "error_style": "hpe", "server": "HPE-iLO-Server/1.30",
        "account_slots": 0, "redfish_version": "1.6.0", "context": True,
    },
    "supermicro": {
        "vendor": "Supermicro", "product": "X12DPi-NT6",
        "system_ids": lambda i: "%d" % i,
        "system_name": "System", "model": "SYS-120U-TNR",
        "manager_id": "1", "firmware": "01.01.10", "bios": "1.4a",
        "reset_types": ["On", "ForceOff", "GracefulShutdown", "GracefulRestart",
                        "ForceRestart", "Nmi", "ForceOn"],
        "publish": "inline", "reset_status": 200, "conflict": None,
        "session_limit": 8, "session_limit_status": 400,
        "base": "Base.1.10", "error_style": "general", "server": None,
        "account_slots": 0, "redfish_version": "1.11.0", "context": True,
    },
    "lenovo": {
        "vendor": "Lenovo", "product": "ThinkSystem SR650",
        "system_ids": lambda i: "%d" % i,
        "system_name": "ThinkSystem SR650", "model": "7X06CTO1WW",
        "manager_id": "1", "firmware": "CDI3A4E 9.93", "bios": "IVE176I-3.30",
        "reset_types": ["On", "ForceOff", "GracefulShutdown", "GracefulRestart",
                        "ForceRestart", "Nmi", "ForceOn"],
        "publish": "inline", "reset_status": 204, "conflict": None,
        "session_limit": 16, "session_limit_status": 400,
        "base": "Base.1.8", "error_style": "general", "server": "XCC Web Server",
        "account_slots": 0, "redfish_version": "1.8.0", "context": True,
    },
    "openbmc": {
        "vendor": "OpenBMC", "product": "OpenBMC bmcweb",
        "system_ids": lambda i: "system" if i == 1 else "system%d" % i,
        "system_name": "system", "model": "evb",
        "manager_id": "bmc", "firmware": "2.16.0-dev-1234-gabcdef0",
        "bios": "bios-2.4",
        "reset_types": ["On", "ForceOff", "ForceOn", "ForceRestart",
                        "GracefulRestart", "GracefulShutdown", "PowerCycle",
                        "Nmi"],
        "publish": "actioninfo", "reset_status": 200, "conflict": None,
        "session_limit": 64, "session_limit_status": 503,
        "base": "Base.1.19", "error_style": "first", "server": None,
        "account_slots": 0, "redfish_version": "1.17.0", "context": False,
    },
}
# DMTF public-telemetry mockup: same set, published through ActionInfo only.
PROFILES["dmtf-telemetry"] = dict(PROFILES["dmtf"], publish="actioninfo",
                                  product="DMTF public-telemetry mockup")
# AMI MegaRAC SP-X as ASRockRack ships it: Supermicro-like behaviour,
# system and manager "Self" (DMTF Redfish-Tacklebox issue #144).
PROFILES["ami"] = dict(PROFILES["supermicro"], vendor="AMI",
                       product="ASRockRack ROMED8-2T (MegaRAC SP-X)",
                       system_ids=lambda i: "Self" if i == 1 else "Self%d" % i,
                       model="ROMED8-2T", manager_id="Self",
                       firmware="01.04.00", bios="P3.50")

# Base registry message texts (DSP8011), %N replaced by arguments.
BASE_MESSAGES = {
    "Success": ("Successfully Completed Request", "OK", "None"),
    "GeneralError": ("A general error has occurred. See Resolution for "
                     "information on how to resolve the error.", "Critical",
                     "None."),
    "InternalError": ("The request failed due to an internal service error.  "
                      "The service is still operational.", "Critical",
                      "Resubmit the request.  If the problem persists, "
                      "consider resetting the service."),
    "MalformedJSON": ("The request body submitted was malformed JSON and "
                      "could not be parsed by the receiving service.",
                      "Critical", "Ensure that the request body is valid "
                      "JSON and resubmit the request."),
    "ResourceMissingAtURI": ("The resource at the URI '%1' was not found.",
                             "Critical", "Place a valid resource at the URI "
                             "or correct the URI and resubmit the request."),
    "ActionParameterUnknown": ("The action '%1' was submitted with the "
                               "invalid parameter '%2'.", "Warning",
                               "Correct the invalid parameter and resubmit "
                               "the request if the operation failed."),
    "ActionParameterMissing": ("The action '%1' requires the parameter '%2' "
                               "to be present in the request body.",
                               "Critical", "Supply the action with the "
                               "required parameter in the request body when "
                               "the request is resubmitted."),
    "ActionParameterValueNotInList": ("The value '%1' for the parameter '%2' "
                                      "in the action '%3' is not in the list "
                                      "of acceptable values.", "Warning",
                                      "Choose a value from the enumeration "
                                      "list that the implementation can "
                                      "support and resubmit the request if "
                                      "the operation failed."),
    "ActionParameterValueTypeError": ("The value '%1' for the parameter '%2' "
                                      "in the action '%3' is of a different "
                                      "type than the parameter can accept.",
                                      "Warning", "Correct the value for the "
                                      "parameter in the request body and "
                                      "resubmit the request if the operation "
                                      "failed."),
    "InsufficientPrivilege": ("There are insufficient privileges for the "
                              "account or credentials associated with the "
                              "current session to perform the requested "
                              "operation.", "Critical", "Either abandon the "
                              "operation or change the associated access "
                              "rights and resubmit the request if the "
                              "operation failed."),
    "ResourceAtUriUnauthorized": ("While accessing the resource at '%1', the "
                                  "service received an authorization error "
                                  "'%2'.", "Critical", "Ensure that the "
                                  "appropriate access is provided for the "
                                  "service in order for it to access the "
                                  "URI."),
    "NoValidSession": ("There is no valid session established with the "
                       "implementation.", "Critical", "Establish a session "
                       "before attempting any operations."),
    "SessionLimitExceeded": ("The session establishment failed due to the "
                             "number of simultaneous sessions exceeding the "
                             "limit of the implementation.", "Critical",
                             "Reduce the number of other sessions before "
                             "trying to establish the session or increase "
                             "the limit of simultaneous sessions (if "
                             "supported)."),
    "PreconditionRequired": ("A precondition header or annotation is "
                             "required to change the resource.", "Critical",
                             "Try the request again with the ETag in an "
                             "If-Match header."),
    "PreconditionFailed": ("The ETag supplied did not match the ETag "
                           "required to change this resource.", "Critical",
                           "Try the operation again using the appropriate "
                           "ETag."),
    "OperationNotAllowed": ("The HTTP method is not allowed on this "
                            "resource.", "Critical", "None."),
    "PropertyValueConflict": ("The property '%1' could not be written "
                              "because its value would conflict with the "
                              "value of the '%2' property.", "Warning",
                              "No resolution is required."),
    "PropertyValueFormatError": ("The value '%1' for the property '%2' is "
                                 "of a different format than the property "
                                 "can accept.", "Warning", "Correct the "
                                 "value for the property in the request "
                                 "body and resubmit the request if the "
                                 "operation failed."),
    "PropertyValueNotInList": ("The value '%1' for the property '%2' is not "
                               "in the list of acceptable values.", "Warning",
                               "Choose a value from the enumeration list "
                               "that the implementation can support and "
                               "resubmit the request if the operation "
                               "failed."),
    "PropertyUnknown": ("The property '%1' is not in the list of valid "
                        "properties for the resource.", "Warning", "Remove "
                        "the unknown property from the request body and "
                        "resubmit the request if the operation failed."),
    "PropertyMissing": ("The property '%1' is a required property and must "
                        "be included in the request.", "Warning", "Ensure "
                        "that the property is in the request body and has a "
                        "valid value and resubmit the request if the "
                        "operation failed."),
    "ResourceAlreadyExists": ("The requested resource of type '%1' with the "
                              "property '%2' with the value '%3' already "
                              "exists.", "Critical", "Do not repeat the "
                              "create operation as the resource has already "
                              "been created."),
    "ResetNotAllowed": ("The reset '%1' is not allowed while the system is "
                        "in the power state '%2'.", "Warning",
                        "Check the power state and resubmit the request."),
}


def msg_text(template, args):
    for i, a in enumerate(args, 1):
        template = template.replace("%%%d" % i, str(a))
    return template


# ---------------------------------------------------------------------------
# Simulated BMC state


class System:
    """One ComputerSystem: power state plus scheduled transition steps."""

    def __init__(self, sid, power):
        self.id = sid
        self.state = power
        self.steps = []  # [(monotonic time, state)], ascending

    def current(self, now):
        while self.steps and self.steps[0][0] <= now:
            self.state = self.steps.pop(0)[1]
        return self.state

    def target(self, now):
        self.current(now)
        return self.steps[-1][1] if self.steps else self.state

    def schedule(self, now, seq):
        """seq: [(delay after previous step, state)]."""
        self.steps = []
        t = now
        for delay, st in seq:
            t += delay
            self.steps.append((t, st))
        self.current(now)

    def force(self, power):
        self.steps = []
        self.state = power


class Account:
    def __init__(self, slot, name, password, role):
        self.slot = slot
        self.name = name
        self.password = password
        self.role = role
        self.enabled = bool(name)
        self.failures = 0
        self.locked = False


class Bmc:
    """One simulated BMC, reachable at one address:port."""

    def __init__(self, sim, addr, port, index):
        self.sim = sim
        self.addr = addr
        self.port = port
        self.index = index
        self.lock = threading.Lock()
        self.faults = set(sim.args.fault)
        self.latency_ms = sim.args.latency_ms
        self.transition = sim.args.transition_seconds
        p = sim.profile
        self.systems = collections.OrderedDict()
        for i in range(1, sim.args.systems + 1):
            sid = p["system_ids"](i)
            self.systems[sid] = System(sid, sim.args.initial_power)
        self.accounts = []
        slot = 1
        if p["account_slots"]:  # iDRAC: slot 1 is reserved and empty
            self.accounts.append(Account(1, "", "", "None"))
            slot = 2
        for name, pw, role in sim.users:
            self.accounts.append(Account(slot, name, pw, role))
            slot += 1
        while slot <= p["account_slots"]:  # iDRAC lists every empty slot
            self.accounts.append(Account(slot, "", "", "None"))
            slot += 1
        self.sessions = collections.OrderedDict()  # token -> session dict
        self.session_seq = itertools.count(1)
        self.tasks = {}
        self.task_seq = itertools.count(1)
        self.log = collections.deque(maxlen=LOG_MAX_PER_BMC)
        self.n_requests = 0
        self.n_connections = 0
        self.n_handshakes = 0
        self.n_resumed = 0
        self.n_open = 0
        self.uuid = "%08x-5ce7-4a3b-9e1c-%012x" % (
            zlib.crc32(addr.encode()), (index << 16) | (port & 0xFFFF))
        prov.attach(self)

    # -- helpers used under self.lock --------------------------------------

    def account(self, name):
        for a in self.accounts:
            if a.name and a.name == name:
                return a
        return None

    def session_limit(self):
        if "session_limit" in self.faults:
            return 2
        if self.sim.args.session_limit is not None:
            return self.sim.args.session_limit
        return self.sim.profile["session_limit"]

    def expire_sessions(self, now):
        timeout = self.sim.args.session_timeout
        for tok in [t for t, s in self.sessions.items()
                    if now - s["last"] > timeout]:
            del self.sessions[tok]

    def record(self, entry):
        self.n_requests += 1
        self.log.append(entry)

    def stats(self):
        return {
            "requests": self.n_requests, "connections": self.n_connections,
            "tls_handshakes": self.n_handshakes,
            "tls_resumed": self.n_resumed, "open_connections": self.n_open,
            "sessions": len(self.sessions),
        }

    def reset_stats(self):
        self.log.clear()
        self.n_requests = self.n_connections = 0
        self.n_handshakes = self.n_resumed = 0


# ---------------------------------------------------------------------------
# HTTP plumbing


class HttpError(Exception):
    pass


class Request:
    __slots__ = ("method", "target", "path", "query", "version", "headers",
                 "body", "keep_alive")


def read_request(rfile, send_continue):
    """Read one HTTP/1.x request; None at a clean end of stream."""
    line = rfile.readline(MAX_LINE + 1)
    while line in (b"\r\n", b"\n"):  # tolerate stray CRLF between requests
        line = rfile.readline(MAX_LINE + 1)
    if not line:
        return None
    if len(line) > MAX_LINE:
        raise HttpError(431)
    parts = line.decode("latin-1").rstrip("\r\n").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpError(400)
    req = Request()
    req.method, req.target, req.version = parts
    req.headers = {}
    for _ in range(MAX_HEADERS + 1):
        h = rfile.readline(MAX_LINE + 1)
        if not h:
            return None
        if len(h) > MAX_LINE:
            raise HttpError(431)
        if h in (b"\r\n", b"\n"):
            break
        name, sep, value = h.decode("latin-1").partition(":")
        if not sep:
            raise HttpError(400)
        key = name.strip().lower()
        value = value.strip()
        if key in req.headers:
            req.headers[key] += ", " + value
        else:
            req.headers[key] = value
    else:
        raise HttpError(431)
    conn_hdr = req.headers.get("connection", "").lower()
    if req.version == "HTTP/1.0":
        req.keep_alive = "keep-alive" in conn_hdr
    else:
        req.keep_alive = "close" not in conn_hdr
    if req.headers.get("expect", "").lower() == "100-continue":
        send_continue()
    te = req.headers.get("transfer-encoding", "").lower()
    if "chunked" in te:
        chunks = []
        total = 0
        while True:
            size_line = rfile.readline(MAX_LINE + 1)
            if not size_line:
                return None
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while rfile.readline(MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
                    pass
                break
            total += size
            if total > MAX_BODY:
                raise HttpError(413)
            chunks.append(rfile.read(size))
            rfile.readline(MAX_LINE + 1)
        req.body = b"".join(chunks)
    else:
        length = req.headers.get("content-length")
        if length is None:
            req.body = b""
        else:
            try:
                n = int(length)
            except ValueError:
                raise HttpError(400)
            if n < 0:
                raise HttpError(400)
            if n > MAX_BODY:
                raise HttpError(413)
            req.body = rfile.read(n)
            if len(req.body) != n:
                return None
    split = urllib.parse.urlsplit(req.target)
    req.path = urllib.parse.unquote(split.path)
    req.query = urllib.parse.parse_qs(split.query)
    return req


class Response:
    def __init__(self, status, body=None, headers=None):
        self.status = status
        self.body = body  # dict/list (JSON) or bytes or None
        self.headers = headers or []


# ---------------------------------------------------------------------------
# The Redfish service (one instance per process, state per Bmc)


sim_health.Response = Response


class Service:
    def __init__(self, sim):
        self.sim = sim
        self.p = sim.profile

    # -- error bodies --------------------------------------------------------

    def message(self, msg_id, args=(), registry=None, text=None,
                severity=None, resolution=None):
        reg = registry or self.p["base"]
        base = BASE_MESSAGES.get(msg_id, ("%s" % msg_id, "Warning", "None."))
        m = {
            "@odata.type": "#Message.v1_1_1.Message",
            "MessageId": "%s.%s" % (reg, msg_id),
            "Message": text or msg_text(base[0], args),
            "MessageArgs": [str(a) for a in args],
            "Severity": severity or base[1],
            "Resolution": resolution or base[2],
        }
        if self.p["error_style"] == "hpe":
            m.pop("@odata.type")
        return m

    def error(self, status, msg_id, args=(), headers=None, **kw):
        m = self.message(msg_id, args, **kw)
        style = self.p["error_style"]
        if style == "first":  # bmcweb: code and message of the first message
            err = {"code": m["MessageId"], "message": m["Message"]}
        elif style == "hpe":
            err = {"code": "%s.ExtendedInfo" % self.p["oem_registry"],
                   "message": "See @Message.ExtendedInfo for more "
                              "information."}
        else:
            err = {"code": "%s.GeneralError" % self.p["base"],
                   "message": "A general error has occurred. See "
                              "ExtendedInfo for more information."}
        err["@Message.ExtendedInfo"] = [m]
        return Response(status, {"error": err}, headers)

    def success_body(self):
        if self.p["error_style"] == "hpe":
            return {"error": {
                "code": "%s.ExtendedInfo" % self.p["oem_registry"],
                "message": "See @Message.ExtendedInfo for more information.",
                "@Message.ExtendedInfo": [
                    {"MessageId": "%s.Success" % self.p["base"]}]}}
        return {"@Message.ExtendedInfo": [self.message("Success")]}

    def unauthorized(self, path, why):
        r = self.error(401, "ResourceAtUriUnauthorized", (path, why))
        r.headers.append(("WWW-Authenticate",
                          'Basic realm="%s"' % self.sim.realm))
        return r

    # -- resources -----------------------------------------------------------

    def odata(self, oid, otype, body):
        d = collections.OrderedDict()
        if self.p["context"]:
            kind = otype.lstrip("#").split(".")
            d["@odata.context"] = "/redfish/v1/$metadata#%s.%s" % (
                kind[0], kind[-1])
        d["@odata.id"] = oid
        d["@odata.type"] = otype
        d.update(body)
        return d

    def collection(self, req, oid, otype, name, members):
        total = len(members)
        skip = 0
        try:
            skip = max(0, int(req.query.get("$skip", ["0"])[0]))
        except ValueError:
            pass
        page = self.sim.args.page_size
        top = None
        if "$top" in req.query:
            try:
                top = max(0, int(req.query["$top"][0]))
            except ValueError:
                top = None
        limit = total - skip
        if page:
            limit = min(limit, page)
        if top is not None:
            limit = min(limit, top)
        chosen = members[skip:skip + max(0, limit)]
        body = {"Name": name,
                "Members": [{"@odata.id": m} for m in chosen],
                "Members@odata.count": total}
        if page and top is None and skip + len(chosen) < total:
            body["Members@odata.nextLink"] = "%s?$skip=%d" % (
                oid, skip + len(chosen))
        return Response(200, self.odata(oid, otype, body))

    def service_root(self, bmc):
        p = self.p
        body = {
            "Id": "RootService", "Name": "Root Service",
            "RedfishVersion": p["redfish_version"], "UUID": bmc.uuid,
            "Vendor": p["vendor"], "Product": p["product"],
            "Systems": {"@odata.id": "/redfish/v1/Systems"},
            "Managers": {"@odata.id": "/redfish/v1/Managers"},
            "SessionService": {"@odata.id": "/redfish/v1/SessionService"},
            "AccountService": {"@odata.id": "/redfish/v1/AccountService"},
            "Tasks": {"@odata.id": "/redfish/v1/TaskService"},
            "Links": {"Sessions": {
                "@odata.id": "/redfish/v1/SessionService/Sessions"}},
        }
        sim_health.root_links(self, body)
        return Response(200, self.odata(
            "/redfish/v1", "#ServiceRoot.v1_5_0.ServiceRoot", body))

    def system_body(self, bmc, sysobj, now):
        p = self.p
        sid = sysobj.id
        base = "/redfish/v1/Systems/%s" % sid
        reset = {"target": base + "/Actions/ComputerSystem.Reset"}
        publish = self.sim.args.publish or p["publish"]
        if publish in ("inline", "both"):
            reset["ResetType@Redfish.AllowableValues"] = list(
                self.sim.reset_types)
        if publish in ("actioninfo", "both"):
            reset["@Redfish.ActionInfo"] = base + "/ResetActionInfo"
        body = {
            "Id": sid, "Name": p["system_name"], "SystemType": "Physical",
            "Manufacturer": p["vendor"], "Model": p["model"],
            "SerialNumber": "SIM%05d%s" % (bmc.index, sid[-1:]),
            "UUID": bmc.uuid, "PowerState": sysobj.current(now),
            "BiosVersion": p["bios"],
            "Status": {"State": "Enabled", "Health": "OK"},
            "Links": {"ManagedBy": [{"@odata.id": "/redfish/v1/Managers/%s"
                                     % p["manager_id"]}]},
        }
        if not self.sim.args.no_reset_action:
            body["Actions"] = {"#ComputerSystem.Reset": reset}
        prov.system_fields(self, bmc, sysobj, body)
        sim_health.system_links(self, body, base)
        return self.odata(base, "#ComputerSystem.v1_13_0.ComputerSystem",
                          body)

    def system_etag(self, bmc, sysobj, now):
        """Weak ETag from everything in the resource that can change."""
        raw = "%s|%s|%s|%s|%s" % (bmc.uuid, sysobj.id, sysobj.current(now),
                                  self.sim.args.publish,
                                  prov.etag_part(bmc, sysobj))
        return 'W/"%08X"' % (zlib.crc32(raw.encode()) & 0xFFFFFFFF)

    def get_system(self, bmc, sysobj, now):
        body = self.system_body(bmc, sysobj, now)
        etag = self.system_etag(bmc, sysobj, now)
        body["@odata.etag"] = etag
        return Response(200, body, [("ETag", etag)])

    def action_info(self, sid):
        body = {
            "Id": "ResetActionInfo", "Name": "Reset Action Info",
            "Parameters": [{"Name": "ResetType", "Required": True,
                            "DataType": "String",
                            "AllowableValues": list(self.sim.reset_types)}],
        }
        return Response(200, self.odata(
            "/redfish/v1/Systems/%s/ResetActionInfo" % sid,
            "#ActionInfo.v1_1_2.ActionInfo", body))

    def manager(self, bmc):
        p = self.p
        mid = p["manager_id"]
        body = {
            "Id": mid, "Name": "Manager", "ManagerType": "BMC",
            "FirmwareVersion": p["firmware"], "Model": p["product"],
            "Status": {"State": "Enabled", "Health": "OK"},
            "Links": {"ManagerForServers": [
                {"@odata.id": "/redfish/v1/Systems/%s" % s}
                for s in self.sim.system_ids]},
        }
        prov.manager_fields(bmc, body)
        sim_health.manager_links(self, body)
        return Response(200, self.odata("/redfish/v1/Managers/%s" % mid,
                                        "#Manager.v1_10_0.Manager", body))

    def account_body(self, a):
        body = {
            "Id": str(a.slot), "Name": "User Account",
            "UserName": a.name, "RoleId": a.role, "Enabled": a.enabled,
            "Locked": a.locked, "Password": None,
            "Links": {"Role": {"@odata.id": "/redfish/v1/AccountService/"
                               "Roles/%s" % a.role}},
        }
        return self.odata("/redfish/v1/AccountService/Accounts/%d" % a.slot,
                          "#ManagerAccount.v1_4_0.ManagerAccount", body)

    def session_body(self, s):
        return self.odata(
            "/redfish/v1/SessionService/Sessions/%s" % s["id"],
            "#Session.v1_3_0.Session",
            {"Id": s["id"], "Name": "User Session",
             "UserName": s["user"]})

    def task_body(self, bmc, tid, task):
        done = task["done"]
        body = {
            "Id": str(tid), "Name": "Task %d" % tid,
            "TaskState": "Completed" if done else "Running",
            "TaskStatus": "OK",
            "PercentComplete": 100 if done else 50,
            "StartTime": task["start"],
            "TaskMonitor": "/redfish/v1/TaskService/TaskMonitors/%d" % tid,
            "Messages": [self.message("Success")] if done else [],
        }
        if done:
            body["EndTime"] = task.get("end") or task["start"]
        return self.odata("/redfish/v1/TaskService/Tasks/%d" % tid,
                          "#Task.v1_4_3.Task", body)

    # -- authentication ------------------------------------------------------

    def authenticate(self, bmc, req, now):
        """-> (account or None, how, failure Response or None)."""
        token = req.headers.get("x-auth-token")
        if token is not None:
            with bmc.lock:
                bmc.expire_sessions(now)
                s = bmc.sessions.get(token)
                if s is not None:
                    a = bmc.account(s["user"])
                    if a is not None and a.enabled and not a.locked:
                        s["last"] = now
                        return a, "session", None
            return None, "session", self.error(401, "NoValidSession")
        auth = req.headers.get("authorization")
        if not auth:
            return None, "none", self.unauthorized(req.path,
                                                   "No credentials")
        scheme, _, blob = auth.partition(" ")
        if scheme.lower() != "basic":
            return None, "none", self.unauthorized(req.path,
                                                   "Unsupported scheme")
        try:
            user, _, pw = base64.b64decode(blob.strip(), validate=True) \
                .decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None, "basic", self.unauthorized(req.path,
                                                    "Malformed credentials")
        a = self.check_password(bmc, user, pw)
        if a is None:
            return user, "basic", self.unauthorized(
                req.path, "Invalid username or password")
        return a, "basic", None

    def check_password(self, bmc, user, pw):
        lockout = self.sim.args.lockout
        with bmc.lock:
            a = bmc.account(user)
            if a is None:
                return None
            if a.locked or not a.enabled:
                return None
            if secrets.compare_digest(a.password.encode(), pw.encode()):
                a.failures = 0
                return a
            a.failures += 1
            if lockout and a.failures >= lockout:
                a.locked = True
            return None

    # -- dispatch ------------------------------------------------------------

    def handle(self, bmc, req, entry):
        now = time.monotonic()
        path = req.path
        if len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/")
        req.path = path
        m = req.method
        if m == "HEAD":
            m = "GET"
        faults = bmc.faults
        public_get = path in ("/redfish", "/redfish/v1", "/redfish/v1/odata",
                              "/redfish/v1/$metadata")
        session_post = (m == "POST" and
                        path == "/redfish/v1/SessionService/Sessions")
        if (public_get and m == "GET") or session_post:
            entry["auth"] = "none"
            entry["auth_ok"] = None
            if "http500" in faults:
                return self.error(500, "InternalError")
            if session_post:
                return self.create_session(bmc, req, entry, now)
            if path == "/redfish":
                return Response(200, {"v1": "/redfish/v1/"})
            if path == "/redfish/v1/$metadata":
                return Response(200, b'<?xml version="1.0" encoding="UTF-8"?>'
                                b'<edmx:Edmx Version="4.0"/>',
                                [("Content-Type", "application/xml")])
            if path == "/redfish/v1/odata":
                return Response(200, {"@odata.context": "/redfish/v1/$metadata",
                                      "value": []})
            return self.service_root(bmc)
        acct, how, fail = self.authenticate(bmc, req, now)
        entry["auth"] = how
        if fail is not None:
            entry["auth_ok"] = False
            entry["user"] = acct if isinstance(acct, str) else None
            return fail
        entry["auth_ok"] = True
        entry["user"] = acct.name
        if "http500" in faults:
            return self.error(500, "InternalError")
        return self.route(bmc, req, m, path, acct, now)

    def route(self, bmc, req, m, path, acct, now):
        p = self.p
        parts = path.split("/")[1:]  # ["redfish","v1",...]
        if parts[:2] != ["redfish", "v1"]:
            return self.error(404, "ResourceMissingAtURI", (path,))
        rest = parts[2:]
        n = len(rest)

        def only(*methods):
            if m in methods:
                return None
            return self.error(405, "OperationNotAllowed",
                              headers=[("Allow", ", ".join(methods))])

        if rest[:1] == ["Chassis"]:
            return sim_health.chassis_route(self, bmc, req, m, rest, path,
                                            only)
        if "LogServices" in rest:
            log = sim_health.log_route(self, bmc, req, m, path, only)
            if log is not None:
                return log
        if rest[:1] == ["Managers"] and n == 4 and \
                rest[2:] == ["Actions", "Manager.Reset"]:
            if acct is None or getattr(acct, "role", None) != "Administrator":
                return self.error(403, "InsufficientPrivilege")
            return only("POST") or sim_health.manager_reset(self, bmc, req)
        if rest[:1] == ["Systems"]:
            if n == 1:
                return only("GET") or self.collection(
                    req, "/redfish/v1/Systems",
                    "#ComputerSystemCollection.ComputerSystemCollection",
                    "Computer System Collection",
                    ["/redfish/v1/Systems/%s" % s
                     for s in self.sim.system_ids])
            sysobj = bmc.systems.get(rest[1])
            if sysobj is None:
                return self.error(404, "ResourceMissingAtURI", (path,))
            if n == 2:
                if m == "GET":
                    with bmc.lock:
                        return self.get_system(bmc, sysobj, now)
                if m == "PATCH":
                    return prov.patch_system(self, bmc, sysobj, req, acct,
                                             now)
                return only("GET", "PATCH")
            if n == 3 and rest[2] == "ResetActionInfo":
                publish = self.sim.args.publish or p["publish"]
                if publish not in ("actioninfo", "both"):
                    return self.error(404, "ResourceMissingAtURI", (path,))
                return only("GET") or self.action_info(sysobj.id)
            if n == 4 and rest[2:] == ["Actions", "ComputerSystem.Reset"] \
                    and not self.sim.args.no_reset_action:
                return only("POST") or self.reset(bmc, sysobj, req, acct, now)
            r = prov.route_system(self, bmc, req, m, rest, sysobj, acct, now,
                                  only)
            return r or self.error(404, "ResourceMissingAtURI", (path,))
        if rest[:1] == ["Managers"]:
            if n == 1:
                return only("GET") or self.collection(
                    req, "/redfish/v1/Managers",
                    "#ManagerCollection.ManagerCollection",
                    "Manager Collection",
                    ["/redfish/v1/Managers/%s" % p["manager_id"]])
            if n == 2 and rest[1] == p["manager_id"]:
                return only("GET") or self.manager(bmc)
            r = None
            if n > 2 and rest[1] == p["manager_id"]:
                r = prov.route_manager(self, bmc, req, m, rest, acct, only)
            return r or self.error(404, "ResourceMissingAtURI", (path,))
        if rest[:1] == ["AccountService"]:
            if n == 1:
                return only("GET") or Response(200, self.odata(
                    "/redfish/v1/AccountService",
                    "#AccountService.v1_5_0.AccountService",
                    {"Id": "AccountService", "Name": "Account Service",
                     "ServiceEnabled": True,
                     "AccountLockoutThreshold": self.sim.args.lockout,
                     "Accounts": {"@odata.id":
                                  "/redfish/v1/AccountService/Accounts"}}))
            if rest[1] != "Accounts":
                return self.error(404, "ResourceMissingAtURI", (path,))
            return self.accounts_route(bmc, req, m, rest, path, acct, only)
        if rest[:1] == ["SessionService"]:
            if n == 1:
                return only("GET") or Response(200, self.odata(
                    "/redfish/v1/SessionService",
                    "#SessionService.v1_1_8.SessionService",
                    {"Id": "SessionService", "Name": "Session Service",
                     "ServiceEnabled": True,
                     "SessionTimeout": self.sim.args.session_timeout,
                     "Sessions": {"@odata.id":
                                  "/redfish/v1/SessionService/Sessions"}}))
            if rest[1] != "Sessions":
                return self.error(404, "ResourceMissingAtURI", (path,))
            if n == 2:
                with bmc.lock:
                    bmc.expire_sessions(now)
                    ids = [s["id"] for s in bmc.sessions.values()]
                return only("GET", "POST") or self.collection(
                    req, "/redfish/v1/SessionService/Sessions",
                    "#SessionCollection.SessionCollection",
                    "Session Collection",
                    ["/redfish/v1/SessionService/Sessions/%s" % i
                     for i in ids])
            if n == 3:
                return only("GET", "DELETE") or self.one_session(
                    bmc, m, rest[2], acct, now)
            return self.error(404, "ResourceMissingAtURI", (path,))
        if rest[:1] == ["TaskService"]:
            return self.task_route(bmc, req, m, rest, path, only)
        return self.error(404, "ResourceMissingAtURI", (path,))

    # -- accounts ------------------------------------------------------------
    # Two models, as real services have them: a collection that takes POST
    # and DELETE (DMTF, OpenBMC/bmcweb, HPE, Supermicro, Lenovo), and
    # iDRAC's 16 fixed slots that are PATCHed to create or clear an account
    # (collection Allow: GET only; DELETE answers 405). Writes need an
    # Administrator; passwords follow a policy (8-20 characters, a digit
    # and a letter) answered as PropertyValueFormatError, as bmcweb and
    # iDRAC do; PATCH honours If-Match against the account's ETag.

    ACCOUNT_ROLES = ("Administrator", "Operator", "ReadOnly")

    def account_etag(self, a):
        return 'W/"%08x"' % zlib.crc32(
            ("%s|%s|%s|%s" % (a.name, a.role, a.enabled, a.password)).encode())

    def account_response(self, a, status=200):
        body = self.account_body(a)
        body["@odata.etag"] = self.account_etag(a)
        return Response(status, body, [("ETag", self.account_etag(a))])

    def password_error(self, pw):
        if not isinstance(pw, str) or not (8 <= len(pw) <= 20) or \
                not any(c.isdigit() for c in pw) or \
                not any(c.isalpha() for c in pw):
            return self.error(400, "PropertyValueFormatError",
                              ("<hidden>", "Password"),
                              text="The password does not meet the policy: "
                                   "8 to 20 characters with a letter and a "
                                   "digit.")
        return None

    def account_fields(self, data, require_all):
        """Check a POST/PATCH body -> (fields dict, error Response)."""
        allowed = {"UserName", "Password", "RoleId", "Enabled"}
        if not isinstance(data, dict) or not data:
            return None, self.error(400, "MalformedJSON")
        for k in data:
            if k not in allowed:
                return None, self.error(400, "PropertyUnknown", (k,))
        if require_all and not {"UserName", "Password", "RoleId"} <= set(data):
            return None, self.error(400, "PropertyMissing", ("UserName",))
        if "RoleId" in data and data["RoleId"] not in self.ACCOUNT_ROLES + (
                ("None",) if self.p["account_slots"] else ()):
            return None, self.error(400, "PropertyValueNotInList",
                                    (str(data["RoleId"]), "RoleId"))
        if "Password" in data:
            bad = self.password_error(data["Password"])
            if bad:
                return None, bad
        if "UserName" in data and (not isinstance(data["UserName"], str) or
                                   len(data["UserName"]) > 16):
            return None, self.error(400, "PropertyValueFormatError",
                                    (str(data["UserName"]), "UserName"))
        return data, None

    def apply_account(self, a, f):
        if "UserName" in f:
            a.name = f["UserName"]
        if "Password" in f:
            a.password = f["Password"]
        if "RoleId" in f:
            a.role = f["RoleId"]
        if "Enabled" in f:
            a.enabled = bool(f["Enabled"])
        if not a.name:  # a cleared slot
            a.password, a.role, a.enabled = "", "None", False
        a.failures, a.locked = 0, False

    def accounts_route(self, bmc, req, m, rest, path, acct, only):
        n = len(rest)
        slots = self.p["account_slots"]
        if n == 2:
            bad = only("GET") if slots else only("GET", "POST")
            if bad:
                return bad
            if m == "POST":
                return self.create_account(bmc, req, acct)
            with bmc.lock:
                members = ["/redfish/v1/AccountService/Accounts/%d" % a.slot
                           for a in bmc.accounts]
            if "huge_accounts" in bmc.faults:  # results over 1 MiB
                members += ["/redfish/v1/AccountService/Accounts/huge%d" % i
                            for i in range(HUGE_ACCOUNTS)]
            resp = self.collection(
                req, "/redfish/v1/AccountService/Accounts",
                "#ManagerAccountCollection.ManagerAccountCollection",
                "Accounts Collection", members)
            resp.headers.append(("Allow", "GET" if slots else "GET, POST"))
            return resp
        if n != 3:
            return self.error(404, "ResourceMissingAtURI", (path,))
        if "huge_accounts" in bmc.faults and rest[2].startswith("huge"):
            return only("GET") or Response(200, self.odata(
                "/redfish/v1/AccountService/Accounts/" + rest[2],
                "#ManagerAccount.v1_4_0.ManagerAccount",
                {"Id": rest[2], "Name": "User Account",
                 "UserName": (rest[2] + "-").ljust(HUGE_NAME_BYTES, "x"),
                 "RoleId": "ReadOnly", "Enabled": False,
                 "Locked": False, "Password": None}))
        with bmc.lock:
            a = next((x for x in bmc.accounts if str(x.slot) == rest[2]),
                     None)
        if a is None:
            return self.error(404, "ResourceMissingAtURI", (path,))
        bad = only("GET", "PATCH") if slots else only("GET", "PATCH",
                                                      "DELETE")
        if bad:
            return bad
        if m == "GET":
            with bmc.lock:
                return self.account_response(a)
        if not getattr(acct, "role", None) == "Administrator":
            return self.error(403, "InsufficientPrivilege")
        if m == "DELETE":
            with bmc.lock:
                bmc.accounts.remove(a)
            return Response(204)
        return self.patch_account(bmc, req, a)

    def create_account(self, bmc, req, acct):
        if not getattr(acct, "role", None) == "Administrator":
            return self.error(403, "InsufficientPrivilege")
        try:
            data = json.loads(req.body.decode("utf-8") or "null")
        except (ValueError, UnicodeDecodeError):
            return self.error(400, "MalformedJSON")
        f, bad = self.account_fields(data, True)
        if bad:
            return bad
        with bmc.lock:
            if bmc.account(f["UserName"]):
                return self.error(409, "ResourceAlreadyExists",
                                  ("ManagerAccount", "UserName",
                                   f["UserName"]))
            slot = max([a.slot for a in bmc.accounts] + [0]) + 1
            a = Account(slot, "", "", "None")
            self.apply_account(a, dict({"Enabled": True}, **f))
            bmc.accounts.append(a)
            resp = self.account_response(a, 201)
        resp.headers.append(
            ("Location", "/redfish/v1/AccountService/Accounts/%d" % slot))
        return resp

    def patch_account(self, bmc, req, a):
        try:
            data = json.loads(req.body.decode("utf-8") or "null")
        except (ValueError, UnicodeDecodeError):
            return self.error(400, "MalformedJSON")
        f, bad = self.account_fields(data, False)
        if bad:
            return bad
        with bmc.lock:
            want = req.headers.get("if-match")
            if want and want != "*" and want != self.account_etag(a):
                return self.error(412, "PreconditionFailed")
            if "UserName" in f and f["UserName"] and \
                    bmc.account(f["UserName"]) not in (None, a):
                return self.error(409, "ResourceAlreadyExists",
                                  ("ManagerAccount", "UserName",
                                   f["UserName"]))
            self.apply_account(a, f)
        return Response(204)

    # -- sessions ------------------------------------------------------------

    def create_session(self, bmc, req, entry, now):
        try:
            data = json.loads(req.body.decode("utf-8") or "null")
        except (ValueError, UnicodeDecodeError):
            return self.error(400, "MalformedJSON")
        if not isinstance(data, dict):
            return self.error(400, "MalformedJSON")
        user = data.get("UserName")
        pw = data.get("Password")
        if not isinstance(user, str) or not isinstance(pw, str):
            return self.error(400, "ActionParameterMissing",
                              ("Sessions", "UserName/Password"))
        entry["user"] = user
        a = self.check_password(bmc, user, pw)
        if a is None:
            entry["auth_ok"] = False
            return self.unauthorized(req.path,
                                     "Invalid username or password")
        entry["auth_ok"] = True
        with bmc.lock:
            bmc.expire_sessions(now)
            if len(bmc.sessions) >= bmc.session_limit():
                return self.session_limit_error()
            sid = str(next(bmc.session_seq))
            token = secrets.token_hex(16)
            s = {"id": sid, "user": a.name, "last": now}
            bmc.sessions[token] = s
        loc = "/redfish/v1/SessionService/Sessions/%s" % sid
        return Response(201, self.session_body(s),
                        [("X-Auth-Token", token), ("Location", loc)])

    def session_limit_error(self):
        status = self.p["session_limit_status"]
        if self.p.get("oem_registry", "").startswith("IDRAC"):
            return self.error(
                status, "RAC0218", registry=self.p["oem_registry"],
                text="The maximum number of user sessions is reached.",
                severity="Informational",
                resolution="Close one or more sessions before opening "
                           "another session.")
        if self.p["error_style"] == "hpe":
            return self.error(
                status, "CreateLimitReachedForResource",
                registry=self.p["base"],
                text="The create operation failed because the resource has "
                     "reached the limit of possible resources.",
                severity="Critical",
                resolution="Either delete resources and resubmit the "
                           "request if the operation failed or do not "
                           "resubmit the request.")
        return self.error(status, "SessionLimitExceeded")

    def one_session(self, bmc, m, sid, acct, now):
        with bmc.lock:
            bmc.expire_sessions(now)
            for tok, s in bmc.sessions.items():
                if s["id"] == sid:
                    break
            else:
                return self.error(404, "ResourceMissingAtURI",
                                  ("/redfish/v1/SessionService/Sessions/%s"
                                   % sid,))
            if m == "GET":
                return Response(200, self.session_body(s))
            if s["user"] != acct.name and acct.role != "Administrator":
                return self.error(403, "InsufficientPrivilege")
            del bmc.sessions[tok]
        return Response(200, self.success_body())

    # -- tasks ---------------------------------------------------------------

    def task_route(self, bmc, req, m, rest, path, only):
        n = len(rest)
        if n == 1:
            return only("GET") or Response(200, self.odata(
                "/redfish/v1/TaskService", "#TaskService.v1_1_4.TaskService",
                {"Id": "TaskService", "Name": "Task Service",
                 "ServiceEnabled": True,
                 "Tasks": {"@odata.id": "/redfish/v1/TaskService/Tasks"}}))
        if n == 2 and rest[1] == "Tasks":
            with bmc.lock:
                ids = sorted(bmc.tasks)
            return only("GET") or self.collection(
                req, "/redfish/v1/TaskService/Tasks",
                "#TaskCollection.TaskCollection", "Task Collection",
                ["/redfish/v1/TaskService/Tasks/%d" % i for i in ids])
        if n == 3 and rest[1] in ("Tasks", "TaskMonitors"):
            try:
                tid = int(rest[2])
            except ValueError:
                tid = -1
            bad = only("GET")
            if bad:
                return bad
            with bmc.lock:
                task = bmc.tasks.get(tid)
                if task is None:
                    return self.error(404, "ResourceMissingAtURI", (path,))
                if rest[1] == "Tasks":
                    return Response(200, self.task_body(bmc, tid, task))
                if task["polls_left"] > 0:
                    task["polls_left"] -= 1
                    mon = "/redfish/v1/TaskService/TaskMonitors/%d" % tid
                    return Response(202, self.task_body(bmc, tid, task),
                                    [("Location", mon),
                                     ("Retry-After", "1")])
                if not task["done"]:
                    task["done"] = True
                    task["end"] = iso_now()
                return Response(200, self.task_body(bmc, tid, task))
        return self.error(404, "ResourceMissingAtURI", (path,))

    # -- reset ---------------------------------------------------------------

    def reset(self, bmc, sysobj, req, acct, now):
        if acct.role not in ("Administrator", "Operator"):
            return self.error(403, "InsufficientPrivilege")
        try:
            data = json.loads(req.body.decode("utf-8") or "null")
        except (ValueError, UnicodeDecodeError):
            return self.error(400, "MalformedJSON")
        if not isinstance(data, dict) or "ResetType" not in data:
            return self.error(400, "ActionParameterMissing",
                              ("ComputerSystem.Reset", "ResetType"))
        rtype = data["ResetType"]
        if not isinstance(rtype, str):
            return self.error(400, "ActionParameterValueTypeError",
                              (json.dumps(rtype), "ResetType",
                               "ComputerSystem.Reset"))
        if rtype not in STANDARD_RESET_TYPES:
            return self.error(400, "ActionParameterUnknown",
                              ("ComputerSystem.Reset", rtype))
        if rtype not in self.sim.reset_types:
            if self.p.get("oem_registry", "").startswith("IDRAC"):
                return self.error(
                    400, "PropertyValueNotInList", registry=self.p["base"],
                    text="The value '%s' for the property ResetType is not "
                         "in the list of acceptable values." % rtype,
                    resolution="Choose a value from the enumeration list "
                               "that the implementation can support and "
                               "resubmit the request if the operation "
                               "failed.")
            return self.error(400, "ActionParameterValueNotInList",
                              (rtype, "ResetType", "ComputerSystem.Reset"))
        with bmc.lock:
            if "ifmatch" in bmc.faults:
                want = self.system_etag(bmc, sysobj, now)
                got = req.headers.get("if-match")
                if got is None:
                    return self.error(428, "PreconditionRequired")
                if got.strip() != "*" and want not in \
                        [g.strip() for g in got.split(",")]:
                    return self.error(412, "PreconditionFailed")
            conflict = self.apply_reset(bmc, sysobj, rtype, now)
            if conflict is not None:
                return self.conflict(rtype, conflict)
            if "task202" in bmc.faults:
                tid = next(bmc.task_seq)
                bmc.tasks[tid] = {"polls_left": self.sim.args.task_polls,
                                  "done": False, "start": iso_now()}
                body = self.task_body(bmc, tid, bmc.tasks[tid])
                mon = "/redfish/v1/TaskService/TaskMonitors/%d" % tid
                return Response(202, body, [("Location", mon)])
        status = self.p["reset_status"]
        if status == 204:
            return Response(204)
        return Response(status, self.success_body())

    def apply_reset(self, bmc, sysobj, rtype, now):
        """Change the power state; return the state name on a conflict."""
        conflict_mode = self.sim.conflict
        target = sysobj.target(now)
        on = target in ("On", "PoweringOn")
        T = bmc.transition
        brief = T / 2.0
        soft_ignored = "ignore_soft" in bmc.faults
        seq = None
        if rtype in ("On", "ForceOn"):
            if on:
                return target if conflict_mode else None
            seq = [(0, "PoweringOn"), (T, "On")]
        elif rtype == "ForceOff":
            if not on:
                return target if conflict_mode else None
            seq = [(0, "Off")]
        elif rtype == "GracefulShutdown":
            if not on:
                return target if conflict_mode else None
            if not soft_ignored:
                seq = [(0, "PoweringOff"), (T, "Off")]
        elif rtype in ("ForceRestart", "PowerCycle", "FullPowerCycle"):
            if not on:  # a reset of a machine that is off leaves it off
                return target if conflict_mode else None
            seq = [(0, "Off"), (brief, "PoweringOn"), (T, "On")]
        elif rtype == "GracefulRestart":
            if not on:
                return target if conflict_mode else None
            if not soft_ignored:
                seq = [(0, "PoweringOff"), (T, "Off"), (brief, "PoweringOn"),
                       (T, "On")]
        elif rtype == "PushPowerButton":
            if on:
                if not soft_ignored:
                    seq = [(0, "PoweringOff"), (T, "Off")]
            else:
                seq = [(0, "PoweringOn"), (T, "On")]
        elif rtype == "Nmi":
            if not on and conflict_mode:
                return target
        # Suspend/Pause/Resume: accepted without a state change.
        if seq is not None:
            sysobj.schedule(now, seq)
            prov.on_reset(bmc, sysobj, rtype, seq[-1][1] == "On")
        return None

    def conflict(self, rtype, state):
        status = self.sim.conflict
        if self.p.get("oem_registry", "").startswith("IDRAC"):
            on = state in ("On", "PoweringOn")
            return self.error(
                status, "PSU501" if on else "PSU502",
                registry=self.p["oem_registry"],
                text="Unable to perform the %s operation because the server "
                     "is already powered %s." % (rtype, "on" if on else "off"),
                resolution="Check the server power state and retry the "
                           "operation if necessary.",
                severity="Warning")
        if self.p["error_style"] == "hpe":
            return self.error(
                status, "InvalidOperationForSystemState",
                (("Power is on" if state in ("On", "PoweringOn")
                  else "Power is off"),),
                registry=self.p["oem_registry"],
                text="The operation cannot be performed because the system "
                     "is in the wrong state: %s." % state,
                severity="Warning",
                resolution="Change the system power state and retry.")
        return self.error(status, "ResetNotAllowed", (rtype, state))


prov.Response = Response


def iso_now():
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())


# ---------------------------------------------------------------------------
# Connection handling


class Simulator:
    def __init__(self, args):
        self.args = args
        self.profile = PROFILES[args.profile]
        self.reset_types = (args.reset_types.split(",") if args.reset_types
                            else list(self.profile["reset_types"]))
        self.system_ids = [self.profile["system_ids"](i)
                           for i in range(1, args.systems + 1)]
        if args.state_conflict == "none":
            self.conflict = None
        elif args.state_conflict:
            self.conflict = int(args.state_conflict)
        else:
            self.conflict = self.profile["conflict"]
        self.realm = "Redfish %s simulator" % args.profile
        self.users = args.users
        self.stop = threading.Event()
        self.bmcs = []  # in listen order
        self.by_fd = {}
        self.listeners = []
        self.conn_seq = itertools.count(1)
        self.service = Service(self)
        self.ctx = None

    # -- TLS -----------------------------------------------------------------

    def make_cert(self, state_dir, addrs):
        cert = os.path.join(state_dir, "cert.pem")
        key = os.path.join(state_dir, "key.pem")
        cnf = os.path.join(state_dir, "openssl.cnf")
        sans = ["DNS:localhost"] + ["IP:%s" % a for a in
                                    sorted(set(addrs),
                                           key=ipaddress.ip_address)]
        with open(cnf, "w") as f:
            f.write("[req]\ndistinguished_name=dn\nx509_extensions=ext\n"
                    "prompt=no\n[dn]\nCN=%s\nO=redfish_sim\n[ext]\n"
                    "subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=serverAuth\n" % (addrs[0],
                                                       ",".join(sans)))
        if self.args.key_type == "rsa":
            newkey = ["-newkey", "rsa:2048"]
        else:
            newkey = ["-newkey", "ec", "-pkeyopt",
                      "ec_paramgen_curve:prime256v1"]
        cmd = (["openssl", "req", "-x509", "-nodes", "-days", "825",
                "-sha256", "-config", cnf, "-keyout", key, "-out", cert]
               + newkey)
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise SystemExit("redfish_sim: openssl failed: %s"
                             % r.stderr.decode(errors="replace"))
        os.chmod(key, 0o600)
        self.cert, self.key = cert, key
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.args.tls_max == "1.2":
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.options |= ssl.OP_NO_COMPRESSION
        self.ctx = ctx

    # -- sockets -------------------------------------------------------------

    def bind_all(self, pairs):
        """pairs: [(addr, port)]; port 0 means one free port for all."""
        port0 = [p for a, p in pairs if p == 0]
        for attempt in range(50):
            socks = []
            chosen = 0
            try:
                for addr, port in pairs:
                    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind((addr, port or chosen))
                    if port == 0 and chosen == 0:
                        chosen = s.getsockname()[1]
                    s.listen(self.args.backlog)
                    s.setblocking(False)
                    socks.append(s)
                return socks
            except OSError as e:
                for s in socks:
                    s.close()
                if not port0 or e.errno != 98:  # EADDRINUSE: retry
                    raise SystemExit("redfish_sim: cannot listen: %s" % e)
        raise SystemExit("redfish_sim: no free port usable on all addresses")

    def adopt(self, socks):
        """Serve SOCKS: [(index, listening socket)], one BMC each."""
        for i, s in socks:
            addr, port = s.getsockname()
            bmc = Bmc(self, addr, port, i + 1)
            self.bmcs.append(bmc)
            self.by_fd[s.fileno()] = (s, bmc)
            self.listeners.append(s)
        t = threading.Thread(target=self.accept_loop, name="acceptor",
                             daemon=True)
        t.start()

    def accept_loop(self):
        sel = selectors.DefaultSelector()
        for s in self.listeners:
            sel.register(s, selectors.EVENT_READ)
        while not self.stop.is_set():
            for key, _ in sel.select(timeout=0.5):
                s, bmc = self.by_fd[key.fd]
                while True:
                    try:
                        conn, peer = s.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:
                        break
                    cid = next(self.conn_seq)
                    with bmc.lock:
                        bmc.n_connections += 1
                        bmc.n_open += 1
                    try:
                        threading.Thread(target=self.serve_conn,
                                         args=(bmc, conn, peer, cid),
                                         daemon=True).start()
                    except RuntimeError:
                        conn.close()
                        with bmc.lock:
                            bmc.n_open -= 1
        sel.close()

    def wait_closed(self, sock):
        """Keep SOCK open, answering nothing, until the peer closes."""
        sock.settimeout(0.5)
        while not self.stop.is_set():
            try:
                if not sock.recv(4096):
                    return
            except socket.timeout:
                continue
            except (OSError, ssl.SSLError):
                return

    @staticmethod
    def abort(sock):
        """Close SOCK with a TCP RST (SO_LINGER 0)."""
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack("ii", 1, 0))
        except OSError:
            pass
        sock.close()

    def serve_conn(self, bmc, raw, peer, cid):
        sock = raw
        try:
            raw.setblocking(True)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            faults = bmc.faults
            if "hang_accept" in faults:
                self.wait_closed(raw)
                return
            if "tls_fail" in faults:
                raw.settimeout(5)
                try:
                    raw.recv(16384)  # the ClientHello
                    # fatal alert: handshake_failure
                    raw.sendall(b"\x15\x03\x03\x00\x02\x02\x28")
                except OSError:
                    pass
                return
            raw.settimeout(self.args.handshake_timeout)
            sock = self.ctx.wrap_socket(raw, server_side=True,
                                        do_handshake_on_connect=False)
            sock.do_handshake()
            with bmc.lock:
                bmc.n_handshakes += 1
                if sock.session_reused:
                    bmc.n_resumed += 1
            sock.settimeout(self.args.idle_timeout)
            rfile = sock.makefile("rb", buffering=65536)

            def send_continue():
                sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

            while not self.stop.is_set():
                try:
                    req = read_request(rfile, send_continue)
                except HttpError as e:
                    sock.sendall(self.render(bmc, req_stub(),
                                             Response(e.args[0]), False))
                    return
                if req is None:
                    return
                if not self.serve_one(bmc, sock, req, peer, cid):
                    return
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            try:
                sock.close()
            except OSError:
                pass
            with bmc.lock:
                bmc.n_open -= 1

    def serve_one(self, bmc, sock, req, peer, cid):
        """Answer one request; False when the connection must end."""
        entry = {"method": req.method, "path": req.target, "user": None,
                 "auth": None, "auth_ok": None, "status": None,
                 "time": round(time.time(), 3), "connection": cid,
                 "peer": "%s:%d" % peer[:2]}
        if req.target.endswith(".Reset") and req.body:
            # a Reset's body is only its ResetType (never a password):
            # kept so a client can replay exactly what the service sent
            entry["body"] = req.body[:256].decode("utf-8", "replace")
        faults = bmc.faults
        if sim_health.is_down(bmc):  # resetting after Manager.Reset
            with bmc.lock:
                bmc.record(entry)
            self.abort(sock)
            return False
        if "hang" in faults or "reset" in faults:
            with bmc.lock:
                bmc.record(entry)
            if "hang" in faults:
                self.wait_closed(sock)
            else:
                self.abort(sock)
            return False
        delay = bmc.latency_ms / 1000.0
        if "slow" in faults:
            delay += self.args.slow_ms / 1000.0
        if delay > 0:
            time.sleep(delay)  # no lock held: each connection sleeps alone
        try:
            resp = self.service.handle(bmc, req, entry)
        except Exception as e:  # a simulator bug must not kill the server
            sys.stderr.write("redfish_sim: internal error: %r\n" % (e,))
            resp = self.service.error(500, "InternalError")
        entry["status"] = resp.status
        with bmc.lock:
            bmc.record(entry)
        if req.method in ("POST", "PATCH", "DELETE"):
            if "drop_reply" in faults:
                self.abort(sock)
                return False
            if "late_answer" in faults:
                time.sleep(self.args.slow_ms / 1000.0)
        keep = req.keep_alive and not self.stop.is_set()
        sock.sendall(self.render(bmc, req, resp, keep))
        return keep

    def render(self, bmc, req, resp, keep):
        body = resp.body
        ctype = "application/json; charset=utf-8"
        for k, v in resp.headers:
            if k.lower() == "content-type":
                ctype = v
        if body is None:
            raw = b""
        elif isinstance(body, bytes):
            raw = body
        else:
            raw = json.dumps(body, indent=None,
                             separators=(",", ":")).encode()
            if "malformed_json" in bmc.faults and raw:
                raw = raw[:max(1, len(raw) // 2)] + b'\x00"}garbage{'
        status = resp.status
        lines = ["HTTP/1.1 %d %s" % (status, STATUS_TEXT.get(status, "OK")),
                 "Date: %s" % formatdate(usegmt=True),
                 "OData-Version: 4.0",
                 "Cache-Control: no-cache",
                 "X-Frame-Options: DENY"]
        server = self.profile["server"]
        if server:
            lines.append("Server: %s" % server)
        if status != 204 and raw is not None:
            lines.append("Content-Type: %s" % ctype)
        lines.append("Content-Length: %d" % (0 if status == 204
                                             else len(raw)))
        for k, v in resp.headers:
            if k.lower() != "content-type":
                lines.append("%s: %s" % (k, v))
        if keep:
            lines.append("Connection: keep-alive")
            lines.append("Keep-Alive: timeout=%d"
                         % int(self.args.idle_timeout))
        else:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if req.method == "HEAD" or status == 204:
            return head
        return head + raw

    # -- control API helpers -------------------------------------------------

    def select(self, address):
        if address is None or address == "" or address == "all":
            return list(self.bmcs)
        out = [b for b in self.bmcs
               if address == b.addr or address == "%s:%d" % (b.addr, b.port)]
        return out

    def control(self, data):
        bmcs = self.select(data.get("address"))
        if not bmcs:
            return 404, {"error": "no BMC at that address"}
        if "fault" in data:
            f = data["fault"]
            fs = [] if f in (None, "", "none") else \
                ([f] if isinstance(f, str) else list(f))
            bad = [x for x in fs if x not in FAULTS]
            if bad:
                return 400, {"error": "unknown fault %s" % bad,
                             "faults": list(FAULTS)}
        if "power_state" in data and data["power_state"] not in (
                "On", "Off", "PoweringOn", "PoweringOff"):
            return 400, {"error": "power_state must be On or Off"}
        for key in ("latency_ms", "transition_seconds"):
            if key in data and (not isinstance(data[key], (int, float)) or
                                isinstance(data[key], bool) or data[key] < 0):
                return 400, {"error": "%s must be a number >= 0" % key}
        for b in bmcs:
            with b.lock:
                if "fault" in data:
                    b.faults = set(fs)
                if "latency_ms" in data:
                    b.latency_ms = data["latency_ms"]
                if "transition_seconds" in data:
                    b.transition = data["transition_seconds"]
                if "power_state" in data:
                    for sid, s in b.systems.items():
                        if data.get("system") in (None, sid):
                            s.force(data["power_state"])
                if "unlock" in data:
                    for a in b.accounts:
                        if data["unlock"] in (a.name, "*") and a.name:
                            a.locked = False
                            a.failures = 0
                if data.get("clear_sessions"):
                    b.sessions.clear()
        return 200, {"ok": True, "addresses": [b.addr for b in bmcs]}

    def requests(self, address):
        out = []
        for b in self.select(address):
            with b.lock:
                items = list(b.log)
            for e in items:
                e = dict(e)
                e["address"] = b.addr
                out.append(e)
        return out

    def stats(self, address):
        out = {}
        for b in self.select(address):
            with b.lock:
                out["%s:%d" % (b.addr, b.port)] = b.stats()
        return out

    def reset_all_stats(self, address):
        for b in self.select(address):
            with b.lock:
                b.reset_stats()
        return True

    def state(self, address):
        now = time.monotonic()
        out = {}
        for b in self.select(address):
            with b.lock:
                out["%s:%d" % (b.addr, b.port)] = {
                    "address": b.addr, "port": b.port,
                    "faults": sorted(b.faults), "latency_ms": b.latency_ms,
                    "power": {sid: s.current(now)
                              for sid, s in b.systems.items()},
                    "accounts": [{"name": a.name, "locked": a.locked,
                                  "failures": a.failures}
                                 for a in b.accounts if a.name],
                    "sessions": len(b.sessions),
                    "provisioning": prov.state(b),
                }
        return out


def req_stub():
    r = Request()
    r.method = "GET"
    return r


class ShardedBackend:
    """The control API's view of BMCs served by worker processes: every call
    goes to each worker over its pipe and the answers are merged."""

    def __init__(self, pipes):
        self.pipes = pipes  # [(lock, Connection)]

    def call(self, method, *args):
        out = []
        for lock, conn in self.pipes:
            with lock:
                conn.send((method, args))
                out.append(conn.recv())
        return out

    def control(self, data):
        results = self.call("control", data)
        for status, obj in results:
            if status == 400:
                return status, obj
        addrs = [a for status, obj in results if status == 200
                 for a in obj["addresses"]]
        if not addrs:
            return 404, {"error": "no BMC at that address"}
        return 200, {"ok": True, "addresses": addrs}

    def requests(self, address):
        return [e for part in self.call("requests", address) for e in part]

    def _merged(self, method, address):
        out = {}
        for part in self.call(method, address):
            out.update(part)
        return out

    def stats(self, address):
        return self._merged("stats", address)

    def state(self, address):
        return self._merged("state", address)

    def reset_all_stats(self, address):
        self.call("reset_all_stats", address)
        return True


class ControlHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    backend = None  # a Simulator or a ShardedBackend

    def log_message(self, *a):
        pass

    def reply(self, status, obj):
        raw = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def parsed(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        return u.path.rstrip("/") or "/", (q.get("address") or [None])[0]

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ValueError("body too large")
        raw = self.rfile.read(n) if n else b"{}"
        data = json.loads(raw or b"{}")
        if not isinstance(data, dict):
            raise ValueError("body must be a JSON object")
        return data

    def do_GET(self):
        be = self.backend
        path, address = self.parsed()
        if path == "/requests":
            out = be.requests(address)
            out.sort(key=lambda e: e["time"])
            return self.reply(200, out)
        if path == "/stats":
            per = be.stats(address)
            tot = collections.Counter()
            for st in per.values():
                tot.update(st)
            res = {k: tot.get(k, 0) for k in STATS_KEYS}
            if not address:
                res["per_address"] = per
            return self.reply(200, res)
        if path == "/state":
            return self.reply(200, be.state(address))
        if path == "/health":
            return self.reply(200, {"ok": True})
        return self.reply(404, {"error": "unknown path"})

    def do_POST(self):
        be = self.backend
        path, address = self.parsed()
        try:
            data = self.body()
        except ValueError as e:
            return self.reply(400, {"error": "bad JSON: %s" % e})
        if path == "/control":
            status, obj = be.control(data)
            return self.reply(status, obj)
        if path == "/reset-stats":
            be.reset_all_stats(data.get("address", address))
            return self.reply(200, {"ok": True})
        return self.reply(404, {"error": "unknown path"})


STATS_KEYS = ("requests", "connections", "tls_handshakes", "tls_resumed",
              "open_connections", "sessions")


# ---------------------------------------------------------------------------
# Command line


def parse_user(text):
    name, sep, rest = text.partition(":")
    pw, sep2, role = rest.rpartition(":")
    if not sep or not sep2 or not name or role not in ROLES:
        raise argparse.ArgumentTypeError(
            "--user wants NAME:PASSWORD:ROLE with ROLE one of %s"
            % ", ".join(ROLES))
    return (name, pw, role)


def loopback(addr):
    try:
        ip = ipaddress.IPv4Address(addr)
    except ValueError:
        raise argparse.ArgumentTypeError("%s is not an IPv4 address" % addr)
    if not ip.is_loopback:
        raise argparse.ArgumentTypeError(
            "%s is not a loopback address (127.0.0.0/8 only)" % addr)
    return str(ip)


def parse_listen(text):
    addr, sep, port = text.rpartition(":")
    if not sep:
        raise argparse.ArgumentTypeError("--listen wants ADDR:PORT")
    try:
        p = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError("bad port in %s" % text)
    if not 0 <= p <= 65535:
        raise argparse.ArgumentTypeError("bad port in %s" % text)
    return (loopback(addr), p)


def parse_addresses(text):
    """'127.0.1.1-127.0.4.232' or comma-separated addresses and ranges."""
    out = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        lo, sep, hi = item.partition("-")
        a = ipaddress.IPv4Address(loopback(lo))
        b = ipaddress.IPv4Address(loopback(hi)) if sep else a
        if b < a:
            raise argparse.ArgumentTypeError("empty range %s" % item)
        if int(b) - int(a) >= 65536:
            raise argparse.ArgumentTypeError("range %s too large" % item)
        out.extend(str(ipaddress.IPv4Address(i))
                   for i in range(int(a), int(b) + 1))
    if not out:
        raise argparse.ArgumentTypeError("no addresses")
    return out


def build_parser():
    ap = argparse.ArgumentParser(
        description="HTTPS Redfish BMC simulator: one or many BMCs, one "
                    "per loopback address.")
    g = ap.add_argument_group("where to listen")
    g.add_argument("--listen", action="append", type=parse_listen,
                   default=[], metavar="ADDR:PORT",
                   help="one BMC at ADDR:PORT (repeatable; port 0 = free)")
    g.add_argument("--addresses", type=parse_addresses, metavar="RANGE",
                   help="BMCs at each address, e.g. 127.0.1.1-127.0.4.232 "
                        "(commas allowed); with --port")
    g.add_argument("--port", type=int, default=8443,
                   help="port for --addresses (0 = one free port for all; "
                        "default 8443)")
    g.add_argument("--control-port", type=int, default=None,
                   help="plain-HTTP control API on 127.0.0.1:PORT "
                        "(0 = free port, see ready file)")
    g.add_argument("--state-dir", help="cert.pem/key.pem go here "
                   "(default: a temporary directory removed at exit)")
    g.add_argument("--ready-file", help="written (JSON) once every socket "
                   "listens")
    g = ap.add_argument_group("behaviour")
    g.add_argument("--profile", choices=sorted(PROFILES), default="dmtf")
    g.add_argument("--user", dest="users", action="append", type=parse_user,
                   default=[], metavar="NAME:PASSWORD:ROLE",
                   help="account (repeatable; default admin:password:"
                        "Administrator)")
    g.add_argument("--latency-ms", type=float, default=0.0,
                   help="added to every request")
    g.add_argument("--transition-seconds", type=float, default=1.0,
                   help="time spent in PoweringOn/PoweringOff (0 = none)")
    g.add_argument("--initial-power", choices=("On", "Off"), default="On")
    g.add_argument("--systems", type=int, default=1,
                   help="members of the Systems collection")
    g.add_argument("--fault", action="append", default=[],
                   choices=FAULTS, help="initial fault (repeatable)")
    g.add_argument("--lockout", type=int, default=0,
                   help="lock an account after N consecutive wrong "
                        "passwords (0 = never)")
    g.add_argument("--sensors", choices=("sensors", "subsystems", "legacy"),
                   default=None, help="sensor generation (default: the "
                   "profile's; see sim_health.py)")
    g.add_argument("--led", choices=("location", "indicator"), default=None,
                   help="identify LED property (default: the profile's)")
    g.add_argument("--sel-path", default=None, metavar="PATH",
                   help="the SEL LogService below /redfish/v1 (default: "
                   "the profile's)")
    g.add_argument("--publish", choices=("inline", "actioninfo", "both",
                                         "none"),
                   help="override how allowed ResetTypes are published")
    g.add_argument("--reset-types", metavar="A,B,...",
                   help="override the profile's ResetType list")
    g.add_argument("--state-conflict", choices=("none", "400", "409"),
                   help="answer to a reset into the current state "
                        "(default: per profile)")
    g.add_argument("--no-reset-action", action="store_true",
                   help="systems publish no #ComputerSystem.Reset")
    g.add_argument("--page-size", type=int, default=0,
                   help="page collections with Members@odata.nextLink "
                        "(0 = no paging)")
    g.add_argument("--session-limit", type=int, default=None,
                   help="override the profile's session limit")
    g.add_argument("--session-timeout", type=int, default=1800)
    g.add_argument("--task-polls", type=int, default=3,
                   help="task202: the monitor answers 202 this many times, "
                        "then 200 with the finished Task")
    g.add_argument("--slow-ms", type=float, default=3000.0,
                   help="extra latency of the 'slow' fault")
    g = ap.add_argument_group("transport")
    g.add_argument("--key-type", choices=("ec", "rsa"), default="ec")
    g.add_argument("--tls-max", choices=("1.2", "1.3"), default="1.3")
    g.add_argument("--idle-timeout", type=float, default=30.0,
                   help="close idle keep-alive connections after S seconds")
    g.add_argument("--handshake-timeout", type=float, default=10.0)
    g.add_argument("--backlog", type=int, default=1024)
    g.add_argument("--workers", type=int, default=0,
                   help="processes sharing the BMCs (each BMC lives in one; "
                        "0 = auto: 1 below 64 BMCs, else min(2 x CPUs, 4))")
    return ap


def main(argv=None):
    ap = build_parser()
    args = ap.parse_args(argv)
    pairs = list(args.listen)
    if args.addresses:
        if not 0 <= args.port <= 65535:
            ap.error("bad --port")
        pairs += [(a, args.port) for a in args.addresses]
    if not pairs:
        ap.error("give --listen ADDR:PORT or --addresses RANGE")
    if len(set(pairs)) != len(pairs):
        ap.error("duplicate listen address")
    if args.systems < 1:
        ap.error("--systems must be >= 1")
    if not args.users:
        args.users = [("admin", "password", "Administrator")]
    if len({u[0] for u in args.users}) != len(args.users):
        ap.error("duplicate --user name")
    if args.reset_types:
        for t in args.reset_types.split(","):
            if t not in STANDARD_RESET_TYPES:
                ap.error("unknown ResetType %s" % t)
    if args.lockout < 0 or args.page_size < 0:
        ap.error("negative value")

    made_state = False
    if args.state_dir:
        os.makedirs(args.state_dir, mode=0o700, exist_ok=True)
        state_dir = args.state_dir
    else:
        state_dir = tempfile.mkdtemp(prefix="redfish_sim.")
        made_state = True
    workers = args.workers
    if not workers:
        # threads of one process contend for its GIL (futex time grows
        # with 1,000 connections): a few processes per core serve faster
        workers = min(2 * (os.cpu_count() or 1), 4) if len(pairs) >= 64 \
            else 1
    workers = max(1, min(workers, len(pairs)))

    threading.stack_size(512 * 1024)
    sim = Simulator(args)
    stop = sim.stop

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    sim.make_cert(state_dir, [a for a, _ in pairs])
    socks = sim.bind_all(pairs)
    names = [s.getsockname() for s in socks]
    indexed = list(enumerate(socks))
    children = []
    if workers == 1:
        sim.adopt(indexed)
        backend = sim
    else:
        # Fork before any thread exists; each worker owns every
        # workers-th BMC, so no BMC state is ever shared between processes.
        pipes = []
        for k in range(workers):
            parent_end, child_end = multiprocessing.Pipe()
            pid = os.fork()
            if pid == 0:
                parent_end.close()
                for _, c in pipes:
                    c.close()  # so a dead parent reads as EOF in each worker
                for i, sk in indexed:
                    if i % workers != k:
                        sk.close()
                run_worker(sim, indexed[k::workers], child_end)
            child_end.close()
            children.append(pid)
            pipes.append((threading.Lock(), parent_end))
        for sk in socks:
            sk.close()
        for _, c in pipes:
            if not c.poll(60) or c.recv() != "ready":
                for pid in children:
                    os.kill(pid, signal.SIGKILL)
                raise SystemExit("redfish_sim: a worker did not start")
        backend = ShardedBackend(pipes)

    control = None
    control_port = None
    if args.control_port is not None:
        ControlHandler.backend = backend
        ThreadingHTTPServer.daemon_threads = True
        ThreadingHTTPServer.allow_reuse_address = True
        try:
            control = ThreadingHTTPServer(("127.0.0.1", args.control_port),
                                          ControlHandler)
        except OSError as e:
            stop_children(children)
            raise SystemExit("redfish_sim: control port: %s" % e)
        control_port = control.server_address[1]
        threading.Thread(target=control.serve_forever,
                         kwargs={"poll_interval": 0.2}, daemon=True).start()

    info = {
        "pid": os.getpid(), "profile": args.profile,
        "port": names[0][1],
        "addresses": [a for a, _ in names],
        "listen": ["%s:%d" % n for n in names],
        "control_port": control_port, "cert": sim.cert,
        "state_dir": state_dir, "workers": workers,
        "system_ids": sim.system_ids,
        "manager_id": sim.profile["manager_id"],
        "reset_types": sim.reset_types,
    }
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(info, f)
        os.replace(tmp, args.ready_file)
    sys.stderr.write("redfish_sim: %d BMC(s) from %s:%d, profile %s, "
                     "%d worker(s), control port %s\n"
                     % (len(names), names[0][0], names[0][1], args.profile,
                        workers, control_port))
    sys.stderr.flush()

    status = 0
    while not stop.wait(0.5):
        for pid in children:
            if os.waitpid(pid, os.WNOHANG)[0]:
                sys.stderr.write("redfish_sim: worker %d died\n" % pid)
                children.remove(pid)
                status = 1
                stop.set()
                break
    for s in sim.listeners:
        s.close()
    if control is not None:
        control.shutdown()
        control.server_close()
    stop_children(children)
    if made_state:
        shutil.rmtree(state_dir, ignore_errors=True)
    sys.stderr.flush()
    sys.stdout.flush()
    # Connection threads are daemons blocked in socket calls: leave at once
    # rather than let interpreter finalisation race them.
    os._exit(status)


def stop_children(children):
    for pid in children:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    for pid in children:
        while time.monotonic() < deadline:
            if os.waitpid(pid, os.WNOHANG)[0]:
                break
            time.sleep(0.05)
        else:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


WORKER_METHODS = ("control", "requests", "stats", "state", "reset_all_stats")


def run_worker(sim, shard, conn):
    """A worker process: serve SHARD's BMCs, answer control calls on CONN."""
    status = 0
    try:
        signal.signal(signal.SIGTERM, lambda *a: sim.stop.set())
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides
        sim.adopt(shard)
        conn.send("ready")

        def serve_pipe():
            while True:
                try:
                    method, args = conn.recv()
                except (EOFError, OSError):
                    sim.stop.set()  # the parent is gone
                    return
                res = None
                if method in WORKER_METHODS:
                    try:
                        res = getattr(sim, method)(*args)
                    except Exception as e:
                        sys.stderr.write("redfish_sim: worker: %r\n" % (e,))
                conn.send(res)

        threading.Thread(target=serve_pipe, daemon=True).start()
        while not sim.stop.wait(0.5):
            pass
        for s in sim.listeners:
            s.close()
    except BaseException as e:
        sys.stderr.write("redfish_sim: worker failed: %r\n" % (e,))
        status = 1
    finally:
        sys.stderr.flush()
        os._exit(status)


if __name__ == "__main__":
    main()
