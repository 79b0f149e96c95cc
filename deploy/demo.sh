#!/usr/bin/env bash
# Runs the demo that `deploy/setup.sh demo` prepares: vigil serve on the embedded default,
# a demo webhook receiver, a sample alert, and the service's logs until Ctrl-C.
set -euo pipefail
bin="$1"
root="$(cd "$(dirname "$0")/.." && pwd)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

"$bin" serve &
pids+=($!)
for _ in $(seq 1 100); do
  curl -fsS "http://$VIGIL_LISTEN/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://$VIGIL_LISTEN/readyz" >/dev/null || { echo "demo: vigil did not become ready" >&2; exit 1; }

echo "demo: adding the demo subscriber (a Belarus desk in config/demo-subscriber.json)" >&2
"$bin" subscribers add --file "$root/config/demo-subscriber.json"
echo "demo: the example desks, delegations and NGOs of config/subscribers.json were seeded at start:" >&2
"$bin" subscribers list >&2

echo "demo: filing the sample alert in config/sample-alert.json" >&2
id=$("$bin" alert send --file "$root/config/sample-alert.json")
echo "demo: accepted as $id; it reads back as:" >&2
curl -fsS -H "Authorization: Bearer $VIGIL_TOKEN" "http://$VIGIL_LISTEN/v1/alerts/$id" >&2; echo >&2
sleep 0.3
echo "demo: the router made these deliveries of it:" >&2
curl -fsS -H "Authorization: Bearer $VIGIL_TOKEN" "http://$VIGIL_LISTEN/v1/alerts/$id/deliveries" >&2; echo >&2
cat >&2 <<MSG
demo: Vigil is running at http://$VIGIL_LISTEN with data in $VIGIL_DATA_DIR.
demo: try   VIGIL_URL=http://$VIGIL_LISTEN VIGIL_TOKEN=$VIGIL_TOKEN $bin tail --from-beginning
demo: Ctrl-C stops it.
MSG
wait "${pids[0]}"
