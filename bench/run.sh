#!/usr/bin/env bash
# bench/run.sh runs the same loads against switchboard and then against
# Kamailio 5.6 (+ rtpengine for media) on loopback, one after the other, and
# prints each figure for both with the ratio. See bench/README.md.
#
#  1. signalling, no media: e2e BenchmarkRegisterThroughBinary and
#     BenchmarkCallThroughBinary, SIG_OPS ops each (switchboard: the binary
#     the test builds; Kamailio: bench/kamailio/run.sh, SB_BENCH_* set);
#  2. media: sbload with MEDIA_CALLS concurrent WebRTC calls (each count in
#     turn) for MEDIA_WINDOW, against the switchboard binary started here, then
#     against Kamailio + rtpengine (run.sh rtpengine); gateway CPU is summed
#     over Kamailio's processes and rtpengine's.
#
# Environment: SIG_OPS (20000), MEDIA_CALLS ("100 200"), MEDIA_WINDOW (10s),
# SBLOAD (a prebuilt sbload binary; default: built from ./cmd/sbload),
# OUT (directory for logs and JSON; default: a new temporary one).
# Needs root the first time (run.sh installs the Debian packages). About 3–4
# minutes on 2 cores. Run nothing else meanwhile: the load and the gateway
# share the cores.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
sig_ops=${SIG_OPS:-20000}
media_calls=${MEDIA_CALLS:-"100 200"}
window=${MEDIA_WINDOW:-10s}
out=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/switchboard-bench.XXXXXX")}
mkdir -p "$out"
results=$out/results.tsv
: >"$results"

# Ports away from the defaults, so that a gateway someone else runs on
# 5060/15060 does not receive this load.
export KAMAILIO_UDP_PORT=25060 KAMAILIO_WS_PORT=28080 KAMAILIO_STATE=$out/kamailio
sb_udp=127.0.0.1:25070
sb_http=127.0.0.1:28090

log() { echo "bench: $*" >&2; }

busy=$(ps -eo pid=,args= | grep -E 'go test .*-bench|\.test .*-test\.bench|sbload ' | grep -v grep || true)
if [[ -n $busy ]]; then
	log "another load is running; try again when it is done:"
	echo "$busy" >&2
	exit 1
fi

sb_pid=
cleanup() {
	if [[ -n $sb_pid ]] && kill -0 "$sb_pid" 2>/dev/null; then
		kill -TERM "$sb_pid"
		wait "$sb_pid" 2>/dev/null || true
	fi
	bench/kamailio/run.sh stop 2>/dev/null || true
}
trap cleanup EXIT

# (a) builds: the gateway, sbload and the e2e test binary (which builds the
# gateway again for the signalling benchmarks, from the same tree).
log "building into $out"
go build -o "$out/switchboard" ./cmd/switchboard
if [[ -n ${SBLOAD:-} ]]; then
	cp "$SBLOAD" "$out/sbload"
else
	go build -o "$out/sbload" ./cmd/sbload
fi
go test -c -o "$out/e2e.test" ./e2e/
mode_flag=()
if "$out/sbload" -h 2>&1 | grep -q -- '^ *-mode'; then
	mode_flag=(-mode media)
fi

# record NAME GATEWAY VALUE
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$results"; }

# signalling GATEWAY: the two ThroughBinary benchmarks, SIG_OPS ops each.
signalling() {
	local gw=$1 file=$out/signalling-$1.txt
	(cd e2e && "$out/e2e.test" -test.run '^$' -test.bench ThroughBinary \
		-test.benchtime="${sig_ops}x" -test.count=1) | tee "$file" >&2
	local reg call
	reg=$(grep '^BenchmarkRegisterThroughBinary' "$file" | tail -1)
	call=$(grep '^BenchmarkCallThroughBinary' "$file" | tail -1)
	[[ -n $reg && -n $call ]] || { log "signalling benchmark failed for $gw"; exit 1; }
	record "REGISTER/s" "$gw" "$(awk '{for(i=2;i<=NF;i++) if($i=="registers/s") print $(i-1)}' <<<"$reg")"
	record "REGISTER CPU µs/op" "$gw" "$(awk '{for(i=2;i<=NF;i++) if($i=="gateway-cpu-µs/op") print $(i-1)}' <<<"$reg")"
	record "calls/s (no media)" "$gw" "$(awk '{for(i=2;i<=NF;i++) if($i=="calls/s") print $(i-1)}' <<<"$call")"
	record "call CPU µs/op" "$gw" "$(awk '{for(i=2;i<=NF;i++) if($i=="gateway-cpu-µs/op") print $(i-1)}' <<<"$call")"
}

# media GATEWAY WS UDP PIDS(comma-separated): sbload at each MEDIA_CALLS.
media() {
	local gw=$1 ws=$2 udp=$3 pids=$4 n
	for n in $media_calls; do
		local json=$out/media-$gw-$n.json
		log "media: $gw, $n calls, $window"
		timeout 180 "$out/sbload" "${mode_flag[@]}" -baseline=false -ws "$ws" -udp "$udp" \
			-calls "$n" -rate 50 -duration "$window" -pid "$pids" -json "$json" \
			>"$out/media-$gw-$n.txt" 2>&1 || { cat "$out/media-$gw-$n.txt" >&2; exit 1; }
		tail -12 "$out/media-$gw-$n.txt" >&2
		python3 - "$json" "$n" "$gw" >>"$results" <<-'EOF'
			import json, sys
			path, n, gw = sys.argv[1:]
			g = json.load(open(path))["gateway"]
			rows = [
			    (f"{n} calls: up", g["calls_up"]),
			    (f"{n} calls: loss %", g["loss_percent"]),
			    (f"{n} calls: gateway CPU cores", g["gateway_cpu_cores"]),
			    (f"{n} calls: relayed pkt/s", g["delivered_pps"]),
			    (f"{n} calls: calls per gateway core", g["calls_per_gateway_core"]),
			    (f"{n} calls: RTT p50 µs", g["rtt_us"]["p50"]),
			    (f"{n} calls: RTT p99 µs", g["rtt_us"]["p99"]),
			    (f"{n} calls: setup p50 ms", g["setup_ms"]["p50"]),
			]
			for name, v in rows:
			    print(f"{name}\t{gw}\t{v}")
		EOF
	done
}

# 1. Signalling.
log "signalling: switchboard"
signalling switchboard
log "signalling: Kamailio"
eval "$(bench/kamailio/run.sh)"
SB_BENCH_WS=$KAMAILIO_WS SB_BENCH_UDP=$KAMAILIO_UDP SB_BENCH_PIDS=$KAMAILIO_PIDS signalling kamailio
bench/kamailio/run.sh stop

# 2. Media: switchboard, as BenchmarkMediaCalls configures it (registrar
# mode, no auth, no rate limit) but logging at info.
cat >"$out/switchboard.yaml" <<EOF
listen:
  http: $sb_http
  udp: $sb_udp
  tcp: ""
media:
  webrtc_listen: 127.0.0.1:0
registrar:
  auth: false
limits:
  requests_per_second_per_ip: 0
log:
  format: json
  level: info
EOF
"$out/switchboard" -config "$out/switchboard.yaml" 2>"$out/switchboard.log" &
sb_pid=$!
for _ in $(seq 100); do
	grep -q '"msg":"listening"' "$out/switchboard.log" && break
	kill -0 "$sb_pid" 2>/dev/null || { cat "$out/switchboard.log" >&2; exit 1; }
	sleep 0.1
done
grep -q '"msg":"listening"' "$out/switchboard.log" || { log "switchboard did not start"; exit 1; }
media switchboard "ws://$sb_http/ws" "$sb_udp" "$sb_pid"
kill -TERM "$sb_pid"
wait "$sb_pid" 2>/dev/null || true
sb_pid=

eval "$(bench/kamailio/run.sh rtpengine)"
media kamailio+rtpengine "$KAMAILIO_WS" "$KAMAILIO_UDP" "${GATEWAY_PIDS// /,}"
bench/kamailio/run.sh stop

# (c) The table.
python3 - "$results" <<'EOF'
import sys
rows, order = {}, []
for line in open(sys.argv[1]):
    name, gw, v = line.rstrip("\n").split("\t")
    if name not in rows:
        rows[name] = {}
        order.append(name)
    rows[name]["sb" if gw == "switchboard" else "ref"] = float(v)
# For costs (CPU, latency, loss) lower is better: the ratio is then
# reference ÷ switchboard, so that above 1 always means switchboard is better.
lower = ("CPU µs/op", "CPU cores", "loss", "RTT", "setup")
print("| figure | switchboard | Kamailio (+rtpengine for media) | ratio (>1: switchboard better) |")
print("| --- | ---: | ---: | ---: |")
for name in order:
    r = rows[name]
    sb, ref = r.get("sb"), r.get("ref")
    ratio = ""
    if sb is not None and ref is not None and not name.endswith(": up"):
        num, den = (ref, sb) if any(k in name for k in lower) else (sb, ref)
        ratio = f"{num / den:.2f}" if den else ("∞" if num else "")
    fmt = lambda x: "" if x is None else (f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}")
    print(f"| {name} | {fmt(sb)} | {fmt(ref)} | {ratio} |")
EOF
log "logs and JSON in $out"
