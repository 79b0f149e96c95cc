#!/usr/bin/env bash
# Runs the demo that `deploy/setup.sh demo` prepares: vigil serve on the embedded default with
# the example subscribers of config/subscribers.json, a demo desk whose webhook goes to a
# receiver on this machine that verifies every signature with the standardwebhooks package,
# a mail catcher for email, and the sample alert flowing to them. Ctrl-C stops everything.
set -euo pipefail
bin="$1"
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${VIGIL_PYTHON:-$root/.venv/bin/python3}"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM

wait_ready() {  # file with "READY <port>" → port
  for _ in $(seq 1 100); do
    port=$(sed -n 's/^READY \([0-9]*\)$/\1/p' "$1" | head -n1)
    [ -n "$port" ] && { echo "$port"; return 0; }
    sleep 0.1
  done
  echo "demo: a receiver did not start: $(cat "$1")" >&2; exit 1
}

"$python" -u "$root/deploy/receivers/webhook_receiver.py" "$work/webhooks.jsonl" >"$work/webhook.out" 2>&1 &
pids+=($!)
"$python" -u "$root/deploy/receivers/smtp_receiver.py" "$work/mail.jsonl" >"$work/smtp.out" 2>&1 &
pids+=($!)
hook_port=$(wait_ready "$work/webhook.out")
smtp_port=$(wait_ready "$work/smtp.out")
export VIGIL_SMTP_URL="smtp://127.0.0.1:$smtp_port"

"$bin" serve &
pids+=($!)
for _ in $(seq 1 100); do curl -fsS "http://$VIGIL_LISTEN/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://$VIGIL_LISTEN/readyz" >/dev/null || { echo "demo: vigil did not become ready" >&2; exit 1; }

echo "demo: subscribers seeded from config/subscribers.json:" >&2
"$bin" subscribers list >&2
echo "demo: adding the demo desk (config/demo-subscriber.json), its webhook on 127.0.0.1:$hook_port" >&2
sed "s#http://127.0.0.1:8090/hooks/vigil#http://127.0.0.1:$hook_port/ok#" "$root/config/demo-subscriber.json" >"$work/demo-subscriber.json"
"$bin" subscribers add --file "$work/demo-subscriber.json" --json >"$work/created.json"
"$python" -c 'import json,sys; print(json.dumps([c["secret"] for c in json.load(open(sys.argv[1]))["channels"] if c.get("secret")]))' "$work/created.json" \
  | curl -fsS -X POST --data-binary @- "http://127.0.0.1:$hook_port/_secrets"

echo "demo: filing the sample alert in config/sample-alert.json" >&2
id=$("$bin" alert send --file "$root/config/sample-alert.json")
echo "demo: accepted as $id" >&2
for _ in $(seq 1 50); do [ -s "$work/webhooks.jsonl" ] && break; sleep 0.1; done
echo "demo: the demo desk's receiver got (verified with the standardwebhooks package):" >&2
"$python" -c 'import json,sys
for line in open(sys.argv[1]):
    r = json.loads(line); d = r["payload"]["data"]
    print("  webhook-id", r["id"], "verified:", r["verified"], "|", d["severity"], d["country"], d["threat"], "| defender:", d["defender"]["name"])' "$work/webhooks.jsonl" >&2
echo "demo: every delivery of the alert (the example.org desks cannot be reached from here and are retried):" >&2
curl -fsS -H "Authorization: Bearer $VIGIL_TOKEN" "http://$VIGIL_LISTEN/v1/alerts/$id/deliveries" \
  | "$python" -c 'import json,sys
for d in json.load(sys.stdin)["deliveries"]: print("  ", d["state"].ljust(10), d["channel_type"].ljust(8), d["subscriber_id"], d.get("last_error") or "")' >&2
invite=$("$bin" users invite --email "admin-$(date +%s)@demo.invalid" --role admin --org vigil-demo --json \
  | "$python" -c 'import json,sys; print(json.load(sys.stdin)["url"])')
cat >&2 <<MSG
demo: the web console is at http://$VIGIL_LISTEN/console/
demo: make its first admin account with this one-time invitation (valid 72 h; it asks for a password and an authenticator app):
demo:   $invite
demo: Vigil is running at http://$VIGIL_LISTEN with data in $VIGIL_DATA_DIR; emails go to a catcher on port $smtp_port.
demo: try   VIGIL_URL=http://$VIGIL_LISTEN VIGIL_TOKEN=$VIGIL_TOKEN $bin tail --from-beginning
demo: Ctrl-C stops it.
MSG
wait "${pids[2]}"
