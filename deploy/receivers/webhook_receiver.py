"""A webhook receiver for Vigil's end-to-end tests and its demo.

Every request is checked with the `standardwebhooks` package (an implementation Vigil did
not write) against the secrets set through POST /_secrets; a request that does not verify
is answered 401. The first path segment chooses the behaviour (/ok/a and /ok/b both
answer 200, as two endpoints):
  /ok           200
  /outage       503 while an outage is on (POST /_outage with true or false), else 200
  /recovering   503 while an outage is on, else 200 after 0.2 s (a slow desk back up)
  /flaky        500 the first time a webhook-id is seen, then 200
  /gone         410
  /hang         sleeps HANG seconds, then 200
  /busy         429 with Retry-After: 1 the first time a webhook-id is seen, then 200
Each request is written as one JSON line to the log file given as the first argument,
with how many requests to its path were in progress when it arrived, itself included.
Prints "READY <port>" once listening on 127.0.0.1.
"""
import json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from standardwebhooks.webhooks import Webhook

log_path = sys.argv[1]
HANG = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
secrets = []
seen = set()
outage = [False]
in_progress = {}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.path == "/_secrets":
            with lock:
                secrets[:] = json.loads(body)
            return self.answer(204)
        if self.path == "/_outage":
            with lock:
                outage[0] = bool(json.loads(body))
            return self.answer(204)
        headers = {k.lower(): v for k, v in self.headers.items()}
        verified = False
        with lock:
            candidates = list(secrets)
        for secret in candidates:
            try:
                Webhook(secret).verify(body, headers)
                verified = True
                break
            except Exception:
                pass
        wid = headers.get("webhook-id", "")
        with lock:
            first = (self.path, wid) not in seen
            seen.add((self.path, wid))
            in_progress[self.path] = in_progress.get(self.path, 0) + 1
            concurrent = in_progress[self.path]
        try:
            self.handle_webhook(body, headers, wid, verified, first, concurrent)
        finally:
            with lock:
                in_progress[self.path] -= 1

    def handle_webhook(self, body, headers, wid, verified, first, concurrent):
        # The first path segment picks the behaviour, so /ok/desk-a and /ok/desk-b are two
        # endpoints that both answer 200.
        behaviour = "/" + self.path.split("?")[0].split("/")[1]
        with lock:
            down = outage[0]
        if not verified:
            status, extra = 401, {}
        elif behaviour == "/ok":
            status, extra = 200, {}
        elif behaviour == "/outage":
            status, extra = (503, {}) if down else (200, {})
        elif behaviour == "/recovering":
            if not down:
                time.sleep(0.2)
            status, extra = (503, {}) if down else (200, {})
        elif behaviour == "/flaky":
            status, extra = (500, {}) if first else (200, {})
        elif behaviour == "/gone":
            status, extra = 410, {}
        elif behaviour == "/busy":
            status, extra = (429, {"Retry-After": "1"}) if first else (200, {})
        elif behaviour == "/hang":
            time.sleep(HANG)
            status, extra = 200, {}
        else:
            status, extra = 404, {}
        try:
            payload = json.loads(body)
        except Exception:
            payload = None
        record = {"path": self.path, "id": wid, "verified": verified, "status": status,
                  "signatures": len(headers.get("webhook-signature", "").split(" ")),
                  "exercise": headers.get("vigil-exercise"), "replay": headers.get("vigil-replay"),
                  "payload": payload, "at": time.time(), "concurrent": concurrent}
        with lock:
            with open(log_path, "a") as f:
                f.write(json.dumps(record) + "\n")
        self.answer(status, extra)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print("READY", server.server_address[1], flush=True)
server.serve_forever()
