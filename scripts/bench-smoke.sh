#!/usr/bin/env bash
# scripts/bench-smoke.sh runs bench/run.sh with small loads, so that the
# side-by-side benchmark (switchboard beside Kamailio + rtpengine) keeps
# working: every figure must come out for both gateways. Its numbers mean
# nothing at this size. Needs root (bench/kamailio/run.sh installs Kamailio
# and rtpengine from Debian). About two minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-bench-smoke.XXXXXX")
trap 'rm -rf "$out"' EXIT
RUNS=1 SIG_OPS=2000 MEM_CLIENTS=200 RATE_START=100 RATE_MAX=200 RATE_BISECT=0 \
	RATE_WINDOW=2s MEDIA_CALLS=20 MEDIA_WINDOW=3s OUT=$out \
	bench/run.sh >"$out/table.md" 2>"$out/run.log" || { cat "$out/run.log" >&2; exit 1; }
cat "$out/table.md"
fail=0
for figure in "REGISTER/s" "memory per registered client" "highest sustained calls/s" \
	"20 media calls: under 0.5% loss, all up" "20 media calls: added latency p99"; do
	# A row: | figure | switchboard | reference | ratio |, both cells filled.
	if ! grep -F "| $figure" "$out/table.md" | awk -F'|' '$3 ~ /[0-9]/ && $4 ~ /[0-9]/ {ok=1} END {exit !ok}'; then
		echo "bench-smoke: no figure \"$figure\" for both gateways" >&2
		fail=1
	fi
done
if ! grep -F "20 media calls: under 0.5% loss, all up" "$out/table.md" | grep -q '1/1 runs.*1/1 runs'; then
	echo "bench-smoke: 20 media calls did not come up without loss through both gateways" >&2
	fail=1
fi
exit $fail
