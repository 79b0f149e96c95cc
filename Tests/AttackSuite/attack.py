#!/usr/bin/env python3
"""A raw-socket attack suite against a running `vigil serve` (issue 17).

Python standard library only. Every probe is one small function that prints
`PASS name` or `FAIL name: reason`; the run ends with the line `N passed, N failed` and
exits non-zero when any probe failed. Loopback only; every socket operation has a timeout.

Two services are involved:
  --url            the main target, started WITHOUT allow_private_webhooks and with a short
                   request_timeout_seconds (framing, slow clients, auth, limits, SSRF);
  --redaction-url  a second one WITH allow_private_webhooks and quick retries, so a hostile
                   receiver on 127.0.0.1 can take its webhooks (the redaction/erasure probe).

    attack.py --url http://127.0.0.1:8080 --token BOOTSTRAP [--reader-token T] ...
    attack.py --list
    attack.py --only framing_two_host_headers,auth_no_token ...
"""

import argparse
import http.server
import json
import os
import select
import socket
import sys
import threading
import time
import urllib.parse

# ---------------------------------------------------------------------------------------
# Settings (filled from the command line)

options = argparse.Namespace()

SOCKET_TIMEOUT = 5.0


class ProbeFailure(Exception):
    """A probe saw behaviour other than what issue 17 asks for."""


def expect(condition, reason):
    if not condition:
        raise ProbeFailure(reason)


def address(url):
    parsed = urllib.parse.urlsplit(url)
    return parsed.hostname, parsed.port or 80


# ---------------------------------------------------------------------------------------
# Raw HTTP over a socket


class Reply:
    """One HTTP response as read off the wire."""

    def __init__(self, status, headers, body, raw):
        self.status = status
        self.headers = headers
        self.body = body
        self.raw = raw

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "%s %s" % (self.status, self.text[:300])


def connect(url=None, timeout=SOCKET_TIMEOUT, receive_buffer=None):
    host, port = address(url or options.url)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(timeout)
    sock.connect((host, port))
    return sock


def send_quietly(sock, data):
    """Sends what the server will take; a server that answers early and closes is fine."""
    try:
        sock.sendall(data)
        return True
    except (BrokenPipeError, ConnectionResetError, socket.timeout, OSError):
        return False


def read_reply(sock, timeout=SOCKET_TIMEOUT):
    """Reads one response (status line, headers, Content-Length body); None when the
    connection closed or nothing arrived before `timeout`."""
    deadline = time.monotonic() + timeout
    data = b""

    def more():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("no complete response within %.1f s" % timeout)
        sock.settimeout(remaining)
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError
        return chunk

    try:
        while b"\r\n\r\n" not in data:
            data += more()
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ")[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            rest += more()
        return Reply(status, headers, rest[:length], head)
    except (EOFError, ConnectionResetError, socket.timeout, OSError):
        return None


def is_closed(sock, within=1.0):
    """Whether the server closes the connection (EOF or reset) within `within` seconds,
    discarding anything else it sends meanwhile."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if not sock.recv(65536):
                return True
        except socket.timeout:
            return False
        except (ConnectionResetError, OSError):
            return True
    return False


def exchange(data, url=None, timeout=SOCKET_TIMEOUT, check_closed=False):
    """Sends raw bytes on a fresh connection; returns (reply or None, whether the server
    closed the connection within a second afterwards, when `check_closed`)."""
    sock = connect(url)
    try:
        send_quietly(sock, data)
        reply = read_reply(sock, timeout)
        closed = check_closed and (reply is None or is_closed(sock, 1.0))
        return reply, closed
    finally:
        sock.close()


def raw_request(method, path, body=b"", token=None, headers=(), url=None):
    """The bytes of a well-formed request, with `headers` added."""
    host, port = address(url or options.url)
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: %s:%d" % (host, port), "Connection: close"]
    if token:
        lines.append("Authorization: Bearer %s" % token)
    if body or method in ("POST", "PUT"):
        lines.append("Content-Type: application/json")
        lines.append("Content-Length: %d" % len(body))
    lines.extend(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def api(method, path, body=None, token="default", url=None, headers=(), timeout=SOCKET_TIMEOUT):
    """One API call; `body` may be bytes, text or a JSON-encodable value."""
    if token == "default":
        token = options.token
    if body is None:
        data = b""
    elif isinstance(body, bytes):
        data = body
    elif isinstance(body, str):
        data = body.encode("utf-8")
    else:
        data = json.dumps(body).encode("utf-8")
    reply, _ = exchange(raw_request(method, path, data, token, headers, url), url, timeout)
    return reply


def status_of(reply):
    return None if reply is None else reply.status


def healthy(url=None):
    try:
        reply = api("GET", "/healthz", token=None, url=url, timeout=3)
        return reply is not None and reply.status == 200
    except OSError:
        return False


def expect_still_up():
    expect(healthy(), "the service no longer answers /healthz (crashed or wedged)")


def expect_refused(reply, statuses, naming=None):
    expect(reply is not None, "no response (the connection closed or hung)")
    expect(reply.status in statuses, "expected %s, got %r" % ("/".join(map(str, statuses)), reply))
    if naming:
        expect(naming in reply.text, "the refusal does not name '%s': %r" % (naming, reply))


# ---------------------------------------------------------------------------------------
# Probe registry

PROBES = []


def probe(function):
    PROBES.append((function.__name__, function))
    return function


def alert_body(**changes):
    """A valid test alert (status test: routed and recorded, never delivered)."""
    body = {"country": "BY", "threat": "arrest", "severity": "low", "certainty": "observed",
            "status": "test", "summary": "Attack suite probe.", "defender": {"name": "Probe Person"}}
    body.update(changes)
    return body


# ---------------------------------------------------------------------------------------
# Request framing


@probe
def framing_two_host_headers():
    reply, closed = exchange(b"GET /healthz HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n", check_closed=True)
    expect_refused(reply, [400])
    expect(closed, "the connection stayed open after the 400")


@probe
def framing_two_authorization_headers():
    auth = "Authorization: Bearer %s" % options.token
    reply, _ = exchange(raw_request("GET", "/v1/alerts?limit=1", headers=[auth, auth]))
    expect_refused(reply, [400])


@probe
def framing_bare_lf_line_endings():
    # Refused at once, not after the request deadline.
    reply, _ = exchange(b"GET /healthz HTTP/1.1\nHost: a\n\n", timeout=min(2.0, options.request_timeout - 0.5))
    expect_refused(reply, [400])


def content_length_probe(*lengths):
    head = "".join("Content-Length: %s\r\n" % length for length in lengths)
    data = ("POST /v1/alerts HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/json\r\n%s\r\n" % (options.token, head)).encode() + b"{}"
    reply, _ = exchange(data, timeout=3)
    expect_refused(reply, [400, 413])
    expect_still_up()


@probe
def framing_content_length_overflow():
    content_length_probe("99999999999999999999")


@probe
def framing_content_length_negative():
    content_length_probe("-1")


@probe
def framing_content_length_plus_sign():
    content_length_probe("+5")


@probe
def framing_content_length_conflicting():
    content_length_probe("2", "3")


@probe
def framing_chunked_post():
    data = raw_request("POST", "/v1/alerts", token=options.token).replace(
        b"Content-Length: 0\r\n", b"Transfer-Encoding: chunked\r\n") + b"2\r\n{}\r\n0\r\n\r\n"
    reply, _ = exchange(data)
    expect_refused(reply, [400, 411])
    expect_still_up()


@probe
def framing_header_over_16_kib():
    reply, _ = exchange(raw_request("GET", "/healthz", headers=["X-Pad: " + "a" * (17 * 1024)]))
    expect_refused(reply, [431])


@probe
def framing_body_over_1_mib():
    # Only the head is sent: the refusal must come from the declared length.
    head = raw_request("POST", "/v1/alerts", token=options.token).replace(
        b"Content-Length: 0", b"Content-Length: %d" % (1024 * 1024 + 1))
    reply, _ = exchange(head, timeout=3)
    expect_refused(reply, [413])


@probe
def framing_nul_in_request_line():
    reply, _ = exchange(b"GET /heal\x00thz HTTP/1.1\r\nHost: a\r\n\r\n")
    expect_refused(reply, [400])


@probe
def framing_non_ascii_in_request_line():
    reply, _ = exchange("GET /caf\u00e9 HTTP/1.1\r\nHost: a\r\n\r\n".encode("utf-8"))
    expect_refused(reply, [400])


@probe
def framing_http_0_9_request():
    # `GET /` with no version: a 400 or a close, before the request deadline.
    sock = connect()
    try:
        sock.sendall(b"GET /\r\n")
        reply = read_reply(sock, timeout=min(2.0, options.request_timeout - 0.5))
        if reply is None:
            expect(is_closed(sock, 0.1), "neither a 400 nor a close before the request deadline")
        else:
            expect(reply.status == 400, "expected 400 or a close, got %r" % reply)
    finally:
        sock.close()


# ---------------------------------------------------------------------------------------
# Slow clients


def trickle_until_closed(sock, started):
    """Sends one byte a second of a request that never ends; returns the seconds from
    `started` to the server closing the connection, or None when it was still open at the
    probe's own bound (twice the request deadline plus 4 s)."""
    trickle = b"ET /healthz HTTP/1.1\r\nHost: a\r\nX-Slow: " + b"a" * 1000
    bound = started + 2 * options.request_timeout + 4
    for byte in trickle:
        if time.monotonic() > bound:
            return None
        if not send_quietly(sock, bytes([byte])):
            return time.monotonic() - started
        readable, _, _ = select.select([sock], [], [], 1.0)
        if readable:
            sock.settimeout(1)
            try:
                if not sock.recv(65536) or is_closed(sock, 1.0):
                    return time.monotonic() - started
            except (ConnectionResetError, OSError):
                return time.monotonic() - started
    return None


def slowloris(pipelined):
    sock = connect()
    try:
        first = b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
        # Pipelined: the second request's first byte rides with the first request.
        sock.sendall(first + (b"G" if pipelined else b""))
        started = time.monotonic()
        reply = read_reply(sock)
        expect(reply is not None and reply.status == 200, "the first request was not answered: %r" % reply)
        if not pipelined:
            started = time.monotonic()
            sock.sendall(b"G")
        took = trickle_until_closed(sock, started)
        limit = options.request_timeout + 2
        expect(took is not None, "still open %.0f s after the second request's first byte (request_timeout_seconds is %g)"
               % (2 * options.request_timeout + 4, options.request_timeout))
        expect(took <= limit, "closed after %.1f s, more than request_timeout_seconds (%g) + 2" % (took, options.request_timeout))
    finally:
        sock.close()


@probe
def slow_trickled_second_request():
    slowloris(pipelined=False)


@probe
def slow_trickled_pipelined_request():
    slowloris(pipelined=True)


@probe
def slow_reader_never_reads():
    # A small receive window and a pipeline of cheap requests whose answers (about 13 MB)
    # outgrow every socket buffer, never read: the server must give up on the connection
    # within its write deadline.
    sock = connect(receive_buffer=4096, timeout=3)
    try:
        send_quietly(sock, b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n" * 120000)
        time.sleep(options.write_timeout + 3)
        # Drain: a closed connection ends (EOF or reset) quickly; an open one keeps sending.
        closed = is_closed(sock, 3.0)
        expect(closed, "still open %g s after the server stopped being able to write" % (options.write_timeout + 3))
    finally:
        sock.close()
    expect_still_up()


@probe
def slow_idle_connections_do_not_block_new_clients():
    idle = []
    try:
        for index in range(200):
            sock = connect(timeout=2)
            if index % 4 == 0:
                send_quietly(sock, b"GET /healthz HTTP/1.1\r\n")  # half a request
            idle.append(sock)
        reply = api("GET", "/healthz", token=None, timeout=5)
        expect(reply is not None and reply.status == 200, "a new client beside 200 idle connections got %r" % reply)
    finally:
        for sock in idle:
            sock.close()


# ---------------------------------------------------------------------------------------
# Authentication and authorization


@probe
def auth_no_token():
    expect_refused(api("GET", "/v1/alerts?limit=1", token=None), [401])


@probe
def auth_wrong_token():
    expect_refused(api("GET", "/v1/alerts?limit=1", token="not-a-token-0123456789abcdef"), [401])


@probe
def auth_expect_continue_with_bad_token():
    head = ("POST /v1/alerts HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer wrong-token-0123456789\r\n"
            "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 900000\r\n\r\n").encode()
    sock = connect()
    try:
        sock.sendall(head)
        reply = read_reply(sock, timeout=3)
        expect(reply is not None, "no answer to the head")
        expect(reply.status != 100, "the server sent 100 Continue before authenticating")
        expect(reply.status == 401, "expected 401, got %r" % reply)
    finally:
        sock.close()


@probe
def auth_insufficient_scope():
    expect(options.reader_token, "needs --reader-token (an alerts:read token)")
    body = {"name": "Desk", "kind": "diplomatic_desk", "organisation": "FPS", "contact": "d@example.org",
            "channels": [{"type": "email", "address": "d@example.org"}],
            "subscriptions": [{"countries": ["BY"], "min_severity": "low"}]}
    expect_refused(api("POST", "/v1/subscribers", body, token=options.reader_token), [403])


@probe
def auth_subscriber_clearance_above_token():
    expect(options.low_admin_token, "needs --low-admin-token (subscribers:admin with restricted clearance)")
    body = {"name": "Desk", "kind": "diplomatic_desk", "organisation": "FPS", "contact": "d@example.org",
            "clearance": "confidential", "channels": [{"type": "email", "address": "d@example.org"}],
            "subscriptions": [{"countries": ["BY"], "min_severity": "low"}]}
    reply = api("POST", "/v1/subscribers", body, token=options.low_admin_token)
    if reply is not None and reply.status == 201:
        api("DELETE", "/v1/subscribers/%s" % reply.json().get("id"))
    expect_refused(reply, [403])


# ---------------------------------------------------------------------------------------
# JSON and field limits


@probe
def json_deep_nesting():
    reply = api("POST", "/v1/alerts", b"[" * 100000)
    expect_refused(reply, [400, 422])
    expect_still_up()


def huge_number_probe(number):
    text = json.dumps(alert_body()).replace('"status": "test"', '"status": "test", "occurred_at": %s' % number)
    expect_refused(api("POST", "/v1/alerts", text), [422])
    expect_still_up()


@probe
def json_number_1e400():
    huge_number_probe("1e400")


@probe
def json_number_minus_1e400():
    huge_number_probe("-1e400")


@probe
def json_number_past_int64():
    huge_number_probe("9223372036854775808")


@probe
def json_replay_offsets_out_of_range():
    for number in ("9223372036854775808", "1e400"):  # the JSON parser may refuse these itself
        expect_refused(api("POST", "/v1/replays", '{"from_offset": %s, "dry_run": true}' % number), [400, 422])
    expect_refused(api("POST", "/v1/replays", '{"from_offset": -1, "dry_run": true}'), [400, 422], naming="from_offset")
    reply = api("POST", "/v1/replays", '{"from_offset": 9223372036854775807, "dry_run": true}')
    expect(reply is not None and reply.status < 500, "from_offset Int64.max: %r" % reply)
    expect_still_up()


@probe
def field_name_with_combining_marks():
    name = "A" + "\u0301" * 3000
    expect_refused(api("POST", "/v1/alerts", alert_body(defender={"name": name})), [422], naming="defender.name")


@probe
def field_ten_thousand_tags():
    tags = ["t%d" % index for index in range(10000)]
    expect_refused(api("POST", "/v1/alerts", alert_body(tags=tags)), [422], naming="tags")


@probe
def field_unknown_fields():
    reply = api("POST", "/v1/alerts", alert_body(sevrity="high", zz_unknown=1))
    expect_refused(reply, [422], naming="sevrity")
    expect("zz_unknown" in reply.text, "the refusal does not name zz_unknown: %r" % reply)


@probe
def query_limit_negative():
    expect_refused(api("GET", "/v1/alerts?limit=-1"), [400], naming="limit")


@probe
def query_limit_1e30():
    expect_refused(api("GET", "/v1/alerts?limit=1e30"), [400], naming="limit")


@probe
def query_wait_huge():
    expect_refused(api("GET", "/v1/alerts?wait=999999999", timeout=3), [400], naming="wait")


# ---------------------------------------------------------------------------------------
# SSRF literals: refused when the channel is created (https, so only the address decides)

SSRF_URLS = [
    ("loopback_v4", "https://127.0.0.1/"),
    ("loopback_v6", "https://[::1]/"),
    ("metadata", "https://169.254.169.254/"),
    ("nat64", "https://[64:ff9b::7f00:1]/"),
    ("6to4", "https://[2002:7f00:1::]/"),
    ("ipv4_compatible", "https://[::127.0.0.1]/"),
    ("ipv4_mapped", "https://[::ffff:127.0.0.1]/"),
    ("site_local", "https://[fec0::1]/"),
    ("decimal", "https://2130706433/"),
    ("short_hex", "https://0x7f.1/"),
    ("userinfo_confusion", "https://a@127.0.0.1@example.org/"),
]


def ssrf_probe(url):
    body = {"name": "Desk", "kind": "diplomatic_desk", "organisation": "FPS", "contact": "d@example.org",
            "channels": [{"type": "webhook", "url": url}],
            "subscriptions": [{"countries": ["BY"], "min_severity": "low"}]}
    reply = api("POST", "/v1/subscribers", body)
    if reply is not None and reply.status == 201:
        api("DELETE", "/v1/subscribers/%s" % reply.json().get("id"))
    expect_refused(reply, [422], naming="channels[0].url")


def register_ssrf_probes():
    for label, url in SSRF_URLS:
        def run(url=url):
            ssrf_probe(url)
        run.__name__ = "ssrf_" + label
        probe(run)


register_ssrf_probes()


# ---------------------------------------------------------------------------------------
# Redaction and erasure (against --redaction-url, with a hostile receiver on 127.0.0.1)

NAME = "Zarina\u00a0Oktyabrskaya"  # a no-break space must split the name too
ORGANISATION = "Lantern Legal Aid"
ROLE = "Defence Counsel"
SUMMARY = "Zarina Oktyabrskaya, Defence Counsel at Lantern Legal Aid, was taken to the Okrestina facility."
SUMMARY_PUBLIC = "A lawyer (Oktyabrskaya, of Lantern Legal Aid) was detained in Minsk."
REGION = "Pervomaisky district"
LINK = "https://example.org/cases/zarina-oktyabrskaya"
TAGS = ["zarina-oktyabrskaya", "lantern-legal-aid"]
ECHO_MARK = "HOSTILE-ECHO"
# Nothing of these may reach a reader below the alert's confidentiality, nor anyone after
# erasure (compared case-insensitively, also with JSON's escaped slashes undone).
SECRETS = ["Zarina", "Oktyabrskaya", ORGANISATION, "Lantern", ROLE, "Okrestina", "Pervomaisky",
           "example.org/cases", "lantern-legal-aid"]


def leaks(text):
    """The secrets found in `text`."""
    folded = text.replace("\\/", "/").replace("\\u00a0", " ").lower()
    return [secret for secret in SECRETS if secret.lower() in folded]


class HostileReceiver:
    """A webhook receiver on 127.0.0.1 that answers every delivery with an error: a 500
    echoing the request body, or with `retry_after` (a list, one value per attempt, the
    last repeated) a 503 carrying that `Retry-After`."""

    def __init__(self, retry_after=None):
        self.bodies = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            timeout = 5  # every read of the service's request is bounded

            def do_POST(self):
                length = min(int(self.headers.get("Content-Length", "0") or 0), 1 << 20)
                body = self.rfile.read(length)
                attempt = len(receiver.bodies)
                receiver.bodies.append(body.decode("utf-8", "replace"))
                reply = ECHO_MARK.encode() + b" " + body
                self.send_response(503 if retry_after else 500)
                if retry_after:
                    self.send_header("Retry-After", retry_after[min(attempt, len(retry_after) - 1)])
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d/hook" % self.server.server_address[1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def wait_for(condition, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def file_confidential_alert(url, problems):
    body = alert_body(status="actual", severity="critical", confidentiality="confidential", summary=SUMMARY,
                      summary_public=SUMMARY_PUBLIC, region=REGION, links=[LINK], tags=TAGS,
                      defender={"name": NAME, "organisation": ORGANISATION, "role": ROLE})
    reply = api("POST", "/v1/alerts", body, url=url)
    if reply is not None and reply.status == 422 and "summary_public" in reply.text:
        problems.append("summary_public is refused as an unknown field")
        del body["summary_public"]
        reply = api("POST", "/v1/alerts", body, url=url)
    expect(reply is not None and reply.status == 202, "filing the alert failed: %r" % reply)
    return reply.json()["id"]


def check_clean(where, text, problems):
    found = leaks(text)
    if found:
        problems.append("%s shows %s" % (where, ", ".join(found)))


def last_errors(url, alert):
    reply = api("GET", "/v1/alerts/%s/deliveries" % alert, url=url)
    if reply is None or reply.status != 200:
        return None, reply
    return [delivery.get("last_error") or "" for delivery in reply.json().get("deliveries", [])], reply


@probe
def redaction_and_erasure():
    url = options.redaction_url
    expect(url, "needs --redaction-url (a service with allow_private_webhooks)")
    expect(options.redaction_reader_token, "needs --redaction-reader-token (alerts:read, restricted clearance)")
    reader = options.redaction_reader_token
    receiver = HostileReceiver()
    problems = []
    subscriber = None
    try:
        created = api("POST", "/v1/subscribers", {
            "name": "Hostile desk", "kind": "diplomatic_desk", "organisation": "Hostile", "contact": "h@example.org",
            "clearance": "restricted", "channels": [{"type": "webhook", "url": receiver.url}],
            "subscriptions": [{"countries": ["BY"], "min_severity": "low"}]}, url=url)
        expect(created is not None and created.status == 201, "creating the subscriber failed: %r" % created)
        subscriber = created.json()["id"]
        alert = file_confidential_alert(url, problems)

        expect(wait_for(lambda: receiver.bodies, 20), "no webhook reached the receiver in 20 s")
        expect(wait_for(lambda: any((last_errors(url, alert)[0] or [])), 10), "no delivery recorded a last_error in 10 s")
        errors, deliveries = last_errors(url, alert)
        check_clean("the deliveries' last_error", " ".join(errors), problems)
        if any(ECHO_MARK in error for error in errors):
            problems.append("last_error stores the receiver's reply body")
        check_clean("the deliveries listing", deliveries.text, problems)
        read = api("GET", "/v1/alerts/%s" % alert, token=reader, url=url)
        expect(read is not None and read.status == 200, "the restricted read failed: %r" % read)
        check_clean("a restricted-clearance read", read.text, problems)
        listing = api("GET", "/v1/alerts?limit=100", token=reader, url=url)
        check_clean("a restricted-clearance listing", listing.text if listing else "", problems)

        erased = api("POST", "/v1/erasures", {"alert_id": alert}, url=url)
        expect(erased is not None and erased.status == 200, "the erasure failed: %r" % erased)
        time.sleep(1.5)  # let a retry or two go out after the erasure
        admin = api("GET", "/v1/alerts/%s" % alert, url=url)
        expect(admin is not None and admin.status == 200, "the admin read after erasure failed: %r" % admin)
        check_clean("the admin read after erasure", admin.text, problems)
        after = api("GET", "/v1/alerts/%s/deliveries" % alert, url=url)
        check_clean("the deliveries after erasure", after.text if after else "", problems)
        for index, body in enumerate(list(receiver.bodies)):
            check_clean("webhook body %d" % (index + 1), body, problems)
        if options.redaction_data_dir:
            check_store_files(options.redaction_data_dir, problems)
    finally:
        if subscriber:
            api("DELETE", "/v1/subscribers/%s" % subscriber, url=url)
        receiver.close()
    expect(not problems, "; ".join(problems))


def check_store_files(directory, problems):
    """Every vigil* file of the data directory (the store, its WAL, the key file), raw."""
    for name in sorted(os.listdir(directory)):
        if not name.startswith("vigil"):
            continue
        with open(os.path.join(directory, name), "rb") as handle:
            raw = handle.read()
        check_clean("%s after erasure" % name, raw.decode("latin-1"), problems)


# ---------------------------------------------------------------------------------------
# Last: what killed the service on c1ebd4d (so one crash does not hide every other probe),
# throttling (it may lock this address out for a while), then liveness


@probe
def hostile_receiver_absurd_retry_after():
    url = options.redaction_url
    expect(url, "needs --redaction-url (a service with allow_private_webhooks)")
    receiver = HostileReceiver(retry_after=["9223372036854775807", "-5", "Fri, 31 Dec 9999 23:59:59 GMT", "1e400"])
    subscriber = None
    try:
        created = api("POST", "/v1/subscribers", {
            "name": "Busy desk", "kind": "diplomatic_desk", "organisation": "Busy", "contact": "b@example.org",
            "channels": [{"type": "webhook", "url": receiver.url}],
            "subscriptions": [{"countries": ["CO"], "min_severity": "low"}]}, url=url)
        expect(created is not None and created.status == 201, "creating the subscriber failed: %r" % created)
        subscriber = created.json()["id"]
        filed = api("POST", "/v1/alerts", alert_body(status="actual", country="CO"), url=url)
        expect(filed is not None and filed.status == 202, "filing the alert failed: %r" % filed)
        expect(wait_for(lambda: receiver.bodies, 20), "no webhook reached the receiver in 20 s")
        wait_for(lambda: len(receiver.bodies) >= 4, 4)  # the later, absurd values too, if retries come soon
        time.sleep(0.5)
        expect(healthy(url), "the service died after a receiver answered Retry-After values %s"
               % ", ".join(["9223372036854775807", "-5", "a date in 9999", "1e400"][:len(receiver.bodies)]))
    finally:
        if subscriber and healthy(url):
            api("DELETE", "/v1/subscribers/%s" % subscriber, url=url)
        receiver.close()


@probe
def query_after_int64_max():
    reply = api("GET", "/v1/alerts?after=9223372036854775807")
    expect_still_up()
    expect_refused(reply, [400], naming="after")


@probe
def auth_throttled_after_bad_tokens():
    statuses = []
    for attempt in range(20):
        reply = api("GET", "/v1/alerts?limit=1", token="bad-token-%02d-0123456789" % attempt, timeout=3)
        statuses.append(status_of(reply))
        if reply is not None and reply.status == 429:
            retry = reply.headers.get("retry-after", "")
            expect(retry.isdigit() and int(retry) >= 1, "429 without a usable Retry-After: %r" % retry)
            return
    raise ProbeFailure("20 bad tokens from one address were never throttled: %s" % statuses)


@probe
def final_service_still_alive():
    expect(healthy(), "the main service no longer answers /healthz")
    if options.redaction_url:
        expect(healthy(options.redaction_url), "the redaction service no longer answers /healthz")


# ---------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="the main service (no private webhooks)")
    parser.add_argument("--token", default=os.environ.get("VIGIL_TOKEN", ""), help="a bootstrap (admin) token")
    parser.add_argument("--reader-token", help="an alerts:read token of the main service")
    parser.add_argument("--low-admin-token", help="a subscribers:admin token with restricted clearance")
    parser.add_argument("--request-timeout", type=float, default=10, help="the service's request_timeout_seconds")
    parser.add_argument("--write-timeout", type=float, default=30, help="the service's write deadline in seconds")
    parser.add_argument("--redaction-url", help="a service with allow_private_webhooks, for the redaction probe")
    parser.add_argument("--redaction-reader-token", help="an alerts:read token with restricted clearance there")
    parser.add_argument("--redaction-data-dir", help="its data directory (embedded backend), scanned after erasure")
    parser.add_argument("--only", help="comma-separated probe names")
    parser.add_argument("--list", action="store_true", help="list the probes and exit")
    global options
    options = parser.parse_args()

    if options.list:
        for name, _ in PROBES:
            print(name)
        return 0
    for url in filter(None, [options.url, options.redaction_url]):
        host = address(url)[0]
        if host not in ("127.0.0.1", "::1", "localhost"):
            print("refusing to attack %s: loopback only" % url, file=sys.stderr)
            return 2
    selected = PROBES
    if options.only:
        wanted = [name.strip() for name in options.only.split(",") if name.strip()]
        unknown = sorted(set(wanted) - {name for name, _ in PROBES})
        if unknown:
            print("unknown probes: %s (see --list)" % ", ".join(unknown), file=sys.stderr)
            return 2
        selected = [(name, function) for name, function in PROBES if name in wanted]

    passed = failed = 0
    started = time.monotonic()
    for name, function in selected:
        try:
            function()
            print("PASS %s" % name, flush=True)
            passed += 1
        except ProbeFailure as failure:
            print("FAIL %s: %s" % (name, failure), flush=True)
            failed += 1
        except Exception as error:  # a socket error or a reply that is not what was asked is a failure too
            print("FAIL %s: %s: %s" % (name, type(error).__name__, error), flush=True)
            failed += 1
    print("took %.1f s" % (time.monotonic() - started), file=sys.stderr)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
