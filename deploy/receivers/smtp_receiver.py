"""An SMTP server (aiosmtpd) for Vigil's end-to-end tests and its demo.

Writes each message as one JSON line to the log file given as the first argument: the
envelope, the headers that matter, and the MIME parts with their decoded text.
Prints "READY <port>" once listening on 127.0.0.1.
"""
import json, socket, sys, time
from email import message_from_bytes, policy
from aiosmtpd.controller import Controller

log_path = sys.argv[1]


class Handler:
    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        parts = []
        for part in message.walk():
            if part.get_content_maintype() == "multipart":
                continue
            parts.append({"type": part.get_content_type(), "text": part.get_content()})
        record = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                  "subject": str(message["subject"]), "message_id": str(message["message-id"]),
                  "content_type": message.get_content_type(), "parts": parts, "at": time.time()}
        with open(log_path, "a") as f:
            f.write(json.dumps(record) + "\n")
        return "250 OK"


probe = socket.socket()
probe.bind(("127.0.0.1", 0))
port = probe.getsockname()[1]
probe.close()
controller = Controller(Handler(), hostname="127.0.0.1", port=port)
controller.start()
print("READY", port, flush=True)
while True:
    time.sleep(3600)
