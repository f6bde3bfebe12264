#!/usr/bin/env bash
# bench/media-ab.sh compares the media CPU of two switchboard binaries, or of
# one binary under two environments, by loading both at the same time: two
# gateways, each driven by its own sbload with the same parameters, so that
# whatever else the machine runs weighs on both alike. Sequential runs of
# one binary on a shared 2-core machine differ by as much as half in CPU
# per packet; two copies of one binary loaded together agree within 1.5%.
#
#   bench/media-ab.sh BINARY_A BINARY_B
#
# Each pair is run twice per round, A started first and then B, to cancel
# any advantage of the first one. Environment:
#   ROUNDS [2]     rounds (each is two pairs)
#   CALLS [200]    calls per gateway (200 each keeps sbload unsaturated on 2 cores)
#   DURATION [15s] steady window
#   ENV_A, ENV_B   extra environment for gateway A or B, e.g. "GOMAXPROCS=1"
#   SBLOAD         a prebuilt sbload (default: built from ./cmd/sbload)
#   OUT            where logs and JSON reports go (default: a new temporary directory)
#
# It prints, per gateway and pair, its CPU (cores), µs of CPU per relayed
# packet, calls per gateway core and loss, then B's CPU per packet against
# A's for each pair. Hold the shared lock on a shared machine:
#   flock /tmp/sb-heavy.lock bench/media-ab.sh old/switchboard bin/switchboard
set -euo pipefail

[[ $# == 2 ]] || { sed -n '2,/^set /p' "$0" | sed 's/^# \{0,1\}//;$d' >&2; exit 2; }
bin_a=$(realpath "$1") bin_b=$(realpath "$2")
rounds=${ROUNDS:-2} calls=${CALLS:-200} duration=${DURATION:-15s}
out=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/media-ab.XXXXXX")}
cd "$(dirname "$0")/.."
sbload=${SBLOAD:-$out/sbload}
[[ -n ${SBLOAD:-} ]] || go build -o "$sbload" ./cmd/sbload

# start DIR BINARY ENV: a gateway on loopback ports of its own, as
# bench/run.sh starts it; sets gw_pid, gw_ws and gw_udp.
start() {
	local dir=$1 bin=$2 env=$3 line=
	mkdir -p "$dir"
	# shellcheck disable=SC2086 # env is a list of assignments
	env $env "$bin" -config bench/switchboard.yaml 2>"$dir/switchboard.log" &
	gw_pid=$!
	for _ in $(seq 100); do
		line=$(grep -m1 '"msg":"listening"' "$dir/switchboard.log" || true)
		[[ -n $line ]] && break
		sleep 0.1
	done
	[[ -n $line ]] || { cat "$dir/switchboard.log" >&2; exit 1; }
	gw_ws=ws://$(sed -E 's/.*"http":"([^"]+)".*/\1/' <<<"$line")/ws
	gw_udp=$(sed -E 's/.*"udp":"([^"]+)".*/\1/' <<<"$line")
}

# pair NAME FIRST SECOND: loads gateways A and B at once, FIRST (A or B)
# started first.
pair() {
	local name=$1 side dir gws=() loads=()
	declare -A bin=([A]=$bin_a [B]=$bin_b) env=([A]=${ENV_A:-} [B]=${ENV_B:-})
	for side in "$2" "$3"; do
		dir=$out/$name-$side
		start "$dir" "${bin[$side]}" "${env[$side]}"
		gws+=("$gw_pid")
		"$sbload" -mode media -baseline=false -ws "$gw_ws" -udp "$gw_udp" -calls "$calls" -rate 50 \
			-duration "$duration" -pid "$gw_pid" -json "$dir/media.json" \
			>"$dir/report.txt" 2>"$dir/sbload.log" &
		loads+=($!)
	done
	wait "${loads[@]}" || true
	kill -TERM "${gws[@]}"
	wait "${gws[@]}" 2>/dev/null || true
}

for r in $(seq "$rounds"); do
	pair "r$r-ab" A B
	pair "r$r-ba" B A
done

python3 - "$out" <<-'EOF'
	import json, pathlib, sys
	out = pathlib.Path(sys.argv[1])
	ratios = []
	for d in sorted(p for p in out.iterdir() if p.is_dir() and p.name.endswith("-A")):
	    name = d.name[:-2]
	    row = {}
	    for side in "AB":
	        g = json.load(open(out / f"{name}-{side}" / "media.json"))["gateway"]
	        us = 1e6 * g["gateway_cpu_cores"] / g["delivered_pps"]
	        row[side] = us
	        print(f"{name} {side}: cpu {g['gateway_cpu_cores']:.3f} cores, {us:.2f} µs/pkt, "
	              f"{g['calls_per_gateway_core']:.0f} calls/core, loss {g['loss_percent']:.3f}%, "
	              f"sbload saturated {g.get('saturated', False)}")
	    ratios.append(row["B"] / row["A"])
	    print(f"{name} B/A CPU per packet: {ratios[-1]:.3f}")
	ratios.sort()
	print(f"B/A over {len(ratios)} pairs: min {ratios[0]:.3f} median {ratios[len(ratios) // 2]:.3f} max {ratios[-1]:.3f}")
EOF
echo "logs and reports: $out"
