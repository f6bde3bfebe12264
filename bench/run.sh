#!/usr/bin/env bash
# bench/run.sh runs the same loads against switchboard and against Kamailio
# 5.6 (alone, or + rtpengine where media is anchored) on loopback, RUNS
# times, and prints each figure for both, median and min–max over the runs,
# with the ratio of the medians. See bench/README.md for what each figure
# means and the criteria below.
#
#  signalling: e2e BenchmarkRegisterThroughBinary and
#     BenchmarkCallThroughBinary, SIG_OPS ops each (switchboard: the binary
#     the test builds; reference: Kamailio alone, SB_BENCH_* set);
#  memory: e2e BenchmarkIdleClientMemory, MEM_CLIENTS idle registered
#     WebSocket clients, PSS summed over the gateway's processes (reference:
#     Kamailio alone);
#  rate: the highest sustained rate of calls without media (`sbload -mode
#     calls`), searched step by step, and the gateway's CPU per call at it
#     (reference: Kamailio + rtpengine, which anchors media as switchboard
#     does);
#  media: sbload with MEDIA_CALLS concurrent WebRTC calls (each count in
#     turn) for MEDIA_WINDOW (reference: Kamailio + rtpengine).
#
# Environment (defaults in brackets):
#   RUNS [3]               runs of every figure; MEDIA_RUNS [RUNS] for media
#   FIGURES ["signalling memory rate media"]  which figures to run
#   SIG_OPS [20000]        ops per signalling benchmark
#   MEM_CLIENTS [2000]     clients in the memory benchmark
#   RATE_START [200]       first offered rate, calls/s; doubled while steps hold
#   RATE_MAX [25600]       highest rate offered
#   RATE_BISECT [3]        bisection steps after the first failed step
#   RATE_WINDOW [5s]       how long each step offers calls
#   RATE_HOLD_MS [200]     how long each call is held, ms
#   RATE_BUDGET [150]      seconds a search may take; no step starts after
#   MEDIA_CALLS ["200 500"], MEDIA_WINDOW [10s]
#   MEDIA_BASELINE [true]  run each media load without a gateway first, for
#                          the latency the gateway adds (sbload -baseline)
#   SBLOAD                 a prebuilt sbload (default: built from ./cmd/sbload)
#   OUT                    directory for logs and JSON (default: a new one)
# Needs root the first time (kamailio/run.sh installs the Debian packages).
# 12–15 minutes with the defaults on 2 cores. Run nothing else meanwhile:
# the load and the gateway share the cores.
set -euo pipefail

cd "$(dirname "$0")/.."
runs=${RUNS:-3}
media_runs=${MEDIA_RUNS:-$runs}
figures=${FIGURES:-"signalling memory rate media"}
sig_ops=${SIG_OPS:-20000}
mem_clients=${MEM_CLIENTS:-2000}
rate_start=${RATE_START:-200}
rate_max=${RATE_MAX:-25600}
rate_bisect=${RATE_BISECT:-3}
rate_window=${RATE_WINDOW:-5s}
rate_hold_ms=${RATE_HOLD_MS:-200}
rate_budget=${RATE_BUDGET:-150}
media_calls=${MEDIA_CALLS:-"200 500"}
media_baseline=${MEDIA_BASELINE:-true}
window=${MEDIA_WINDOW:-10s}
out=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/switchboard-bench.XXXXXX")}
mkdir -p "$out"
results=$out/results.tsv
steps=$out/rate-steps.tsv
: >"$results"
: >"$steps"

# A rate step holds when at least rate_completed % of the calls attempted
# completed (INVITE and BYE answered 200), calls were set up at at least
# rate_achieved of the offered rate, and the set-up time's p99 (INVITE →
# 200) stayed at or under rate_p99_ms. A media step holds when its loss is
# under media_loss % and every call came up.
rate_completed=99.5
rate_achieved=0.95
rate_p99_ms=1000
media_loss=0.5

# Kamailio on ports away from the defaults, so that a gateway someone else
# runs on 5060/15060 does not receive this load; switchboard on ports the
# kernel picks.
export KAMAILIO_UDP_PORT=25060 KAMAILIO_WS_PORT=28080 KAMAILIO_STATE=$out/kamailio-none

t_start=$SECONDS
log() { echo "bench: $((SECONDS - t_start))s: $*" >&2; }
want() { [[ " $figures " == *" $1 "* ]]; }

busy=$(ps -eo pid=,args= | grep -E 'go test .*-bench|\.test .*-test\.bench|sbload ' | grep -v grep || true)
if [[ -n $busy ]]; then
	log "another load is running; try again when it is done:"
	echo "$busy" >&2
	exit 1
fi

# A WebSocket per client, in sbload and in the gateway.
if (($(ulimit -n) < 65536)); then
	ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fi
max_clients=$(($(ulimit -n) - 2000))
if ((max_clients > 8000)); then max_clients=8000; fi

sb_pid='' load_pid=''
cleanup() {
	if [[ -n $load_pid ]] && kill -0 "$load_pid" 2>/dev/null; then
		kill -TERM "$load_pid" # timeout passes it to the load's process group
		wait "$load_pid" 2>/dev/null || true
	fi
	stop_switchboard
	bench/kamailio/run.sh stop 2>/dev/null || true
}
trap cleanup EXIT

# bounded SECS CMD... runs CMD under timeout (its own process group) so
# that cleanup can stop it and all it started.
bounded() {
	local secs=$1 rc=0
	shift
	timeout "$secs" "$@" &
	load_pid=$!
	wait "$load_pid" || rc=$?
	load_pid=
	return "$rc"
}

# record FIGURE GATEWAY RUN VALUE; GATEWAY is switchboard or reference.
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$results"; }

# Gateways. Each start takes a tag naming its logs (switchboard-TAG.log,
# kamailio-TAG/) and sets gw_ws, gw_udp and gw_pids (space-separated).
start_switchboard() {
	local logfile=$out/switchboard-$1.log
	"$out/switchboard" -config bench/switchboard.yaml 2>"$logfile" &
	sb_pid=$!
	for _ in $(seq 100); do
		grep -q '"msg":"listening"' "$logfile" && break
		kill -0 "$sb_pid" 2>/dev/null || { cat "$logfile" >&2; exit 1; }
		sleep 0.1
	done
	local line
	line=$(grep -m1 '"msg":"listening"' "$logfile") || { log "switchboard did not start"; exit 1; }
	gw_ws=ws://$(sed -E 's/.*"http":"([^"]+)".*/\1/' <<<"$line")/ws
	gw_udp=$(sed -E 's/.*"udp":"([^"]+)".*/\1/' <<<"$line")
	gw_pids=$sb_pid
}

stop_switchboard() {
	if [[ -n $sb_pid ]] && kill -0 "$sb_pid" 2>/dev/null; then
		kill -TERM "$sb_pid"
		wait "$sb_pid" 2>/dev/null || true
	fi
	sb_pid=
}

# start_reference TAG [rtpengine]: Kamailio alone, or with rtpengine.
start_reference() {
	export KAMAILIO_STATE=$out/kamailio-$1
	eval "$(bench/kamailio/run.sh "${2:-start}")"
	gw_ws=$KAMAILIO_WS gw_udp=$KAMAILIO_UDP gw_pids=$KAMAILIO_PIDS
	[[ -z ${2:-} ]] || gw_pids=$GATEWAY_PIDS
}

stop_reference() { bench/kamailio/run.sh stop; }

# e2e_bench GATEWAY NAME ARGS...: an e2e benchmark against the switchboard
# binary it builds, or against the running reference (SB_BENCH_*); the
# output goes to NAME.txt.
e2e_bench() {
	local gw=$1 file=$out/$2.txt
	shift 2
	local env=()
	[[ $gw == switchboard ]] || env=(SB_BENCH_WS="$gw_ws" SB_BENCH_UDP="$gw_udp" SB_BENCH_PIDS="$gw_pids")
	bounded 900 env "${env[@]}" SB_BENCH_CLIENTS="$mem_clients" \
		sh -c 'cd e2e && exec "$@"' sh "$out/e2e.test" -test.run '^$' -test.count=1 "$@" \
		>"$file" 2>&1 || { cat "$file" >&2; log "benchmark failed for $gw"; exit 1; }
	grep '^Benchmark' "$file" >&2
}

# metric FILE BENCHMARK UNIT prints the value reported in UNIT.
metric() {
	grep "^$2" "$1" | tail -1 | awk -v unit="$3" '{for(i=2;i<=NF;i++) if($i==unit) print $(i-1)}'
}

# signalling GATEWAY RUN: the two ThroughBinary benchmarks, SIG_OPS ops each.
signalling() {
	local gw=$1 run=$2 f=$out/signalling-$1-$2.txt
	log "signalling: $gw, run $run"
	e2e_bench "$gw" "signalling-$gw-$run" -test.bench ThroughBinary -test.benchtime="${sig_ops}x"
	record "REGISTER/s" "$gw" "$run" "$(metric "$f" BenchmarkRegisterThroughBinary registers/s)"
	record "REGISTER CPU µs/op" "$gw" "$run" "$(metric "$f" BenchmarkRegisterThroughBinary gateway-cpu-µs/op)"
	record "calls/s, 32 clients back to back" "$gw" "$run" "$(metric "$f" BenchmarkCallThroughBinary calls/s)"
	record "call CPU µs/op" "$gw" "$run" "$(metric "$f" BenchmarkCallThroughBinary gateway-cpu-µs/op)"
}

# memory GATEWAY RUN: MEM_CLIENTS idle registered clients.
memory() {
	local gw=$1 run=$2 f=$out/memory-$1-$2.txt
	log "memory: $gw, run $run, $mem_clients clients"
	e2e_bench "$gw" "memory-$gw-$run" -test.bench IdleClientMemory -test.benchtime=1x
	record "memory per registered client, KiB (PSS)" "$gw" "$run" \
		"$(awk '{print $1/1024}' <<<"$(metric "$f" BenchmarkIdleClientMemory bytes/client)")"
	record "PSS with $mem_clients clients, MiB" "$gw" "$run" "$(metric "$f" BenchmarkIdleClientMemory MiB-pss)"
}

# rate_step GATEWAY RUN RATE: one step of the search; succeeds if it held.
rate_step() {
	local gw=$1 run=$2 rate=$3 json=$out/rate-$1-$2-$3.json
	# Enough clients that they are not the limit: a call takes the hold
	# plus its INVITE and BYE; allow 500 ms for those.
	local clients=$(((rate * (rate_hold_ms + 500) + 999) / 1000 + 50))
	if ((clients > max_clients)); then clients=$max_clients; fi
	bounded 180 "$out/sbload" -mode calls -ws "$gw_ws" -udp "$gw_udp" -calls "$clients" \
		-rate "$rate" -duration "$rate_window" -hold "${rate_hold_ms}ms" -pid "${gw_pids// /,}" \
		-json "$json" >"${json%.json}.txt" 2>&1 || { cat "${json%.json}.txt" >&2; exit 1; }
	python3 - "$json" "$gw" "$run" "$rate_completed" "$rate_achieved" "$rate_p99_ms" >>"$steps" <<-'EOF'
		import json, sys
		path, gw, run = sys.argv[1:4]
		completed, achieved, p99 = map(float, sys.argv[4:])
		r = json.load(open(path))
		held = (r["completed_percent"] >= completed
		        and r["per_second"] >= achieved * r["target_rate"]
		        and r["latency_ms"]["p99"] <= p99)
		print(gw, run, f'{r["target_rate"]:.0f}', int(held), f'{r["per_second"]:.1f}',
		      f'{r["completed_percent"]:.2f}', f'{r["latency_ms"]["p99"]:.1f}',
		      f'{r["gateway_cpu_us_per_ok"]:.1f}', sep="\t")
		failed = ", ".join(f"{k} {v}" for k, v in sorted(r["failed"].items())) or "none"
		print(f'bench: rate {r["target_rate"]:.0f}/s ({r["clients"]} clients): started {r["started_per_second"]:.1f}/s, '
		      f'set up {r["per_second"]:.1f}/s, completed {r["completed_percent"]:.2f}%, '
		      f'set-up p99 {r["latency_ms"]["p99"]:.1f} ms, {r["gateway_cpu_us_per_ok"]:.0f} µs CPU/call, '
		      f'failed: {failed}: {"held" if held else "did not hold"}', file=sys.stderr)
		sys.exit(0 if held else 1)
	EOF
}

# rate_search GATEWAY RUN: double the offered rate from RATE_START until a
# step fails (or RATE_MAX), then bisect RATE_BISECT times between the
# highest rate that held and the lowest that did not; no step starts once
# RATE_BUDGET seconds have passed.
rate_search() {
	local gw=$1 run=$2 t0=$SECONDS lo=0 hi=0 r=$rate_start
	log "rate search: $gw, run $run"
	while ((r <= rate_max)); do
		if rate_step "$gw" "$run" "$r"; then lo=$r; else hi=$r; break; fi
		((SECONDS - t0 < rate_budget)) || break
		r=$((r * 2))
	done
	local i
	for ((i = 0; i < rate_bisect && hi > 0 && hi - lo > 1; i++)); do
		((SECONDS - t0 < rate_budget)) || { log "rate search: budget of ${rate_budget}s spent"; break; }
		r=$(((lo + hi) / 2))
		if rate_step "$gw" "$run" "$r"; then lo=$r; else hi=$r; fi
	done
	local failed=none
	((hi == 0)) || failed=$hi
	log "rate search: $gw, run $run: highest rate that held $lo calls/s (lowest that did not: $failed)"
	record "highest sustained calls/s, no media (+rtpengine)" "$gw" "$run" "$lo"
	if ((lo > 0)); then
		record "CPU µs/call at that rate (+rtpengine)" "$gw" "$run" \
			"$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["gateway_cpu_us_per_ok"])' "$out/rate-$gw-$run-$lo.json")"
	fi
}

# media GATEWAY RUN: sbload at each MEDIA_CALLS; then the calls per gateway
# core of the best step that held.
media() {
	local gw=$1 run=$2 n jsons=()
	for n in $media_calls; do
		local json=$out/media-$gw-$run-$n.json
		log "media: $gw, run $run, $n calls, $window"
		bounded 240 "$out/sbload" -mode media -baseline="$media_baseline" -ws "$gw_ws" -udp "$gw_udp" \
			-calls "$n" -rate 50 -duration "$window" -pid "${gw_pids// /,}" -json "$json" \
			>"${json%.json}.txt" 2>&1 || { cat "${json%.json}.txt" >&2; exit 1; }
		tail -15 "${json%.json}.txt" >&2
		jsons+=("$json")
	done
	python3 - "$gw" "$run" "$media_loss" "${jsons[@]}" >>"$results" <<-'EOF'
		import json, sys
		gw, run, max_loss = sys.argv[1], sys.argv[2], float(sys.argv[3])
		best = (0, 0)  # calls per gateway core, calls
		for path in sys.argv[4:]:
		    doc = json.load(open(path))
		    g = doc["gateway"]
		    n = g["calls"]
		    held = g["loss_percent"] < max_loss and g["calls_up"] == n
		    if held:
		        best = max(best, (g["calls_per_gateway_core"], n))
		    rows = [
		        (f"{n} media calls: under {max_loss:g}% loss, all up", int(held)),
		        (f"{n} media calls: up", g["calls_up"]),
		        (f"{n} media calls: loss %", g["loss_percent"]),
		        (f"{n} media calls: gateway CPU cores", g["gateway_cpu_cores"]),
		        (f"{n} media calls: relayed pkt/s", g["delivered_pps"]),
		        (f"{n} media calls: calls per gateway core", g["calls_per_gateway_core"]),
		        (f"{n} media calls: RTT p50 µs", g["rtt_us"]["p50"]),
		        (f"{n} media calls: RTT p99 µs", g["rtt_us"]["p99"]),
		        (f"{n} media calls: setup p50 ms", g["setup_ms"]["p50"]),
		        (f"{n} media calls: sbload saturated", int(g.get("saturated", False))),
		        (f"{n} media calls: sbload set-up lag p99 ms", g.get("setup_lag_ms", {}).get("p99", 0)),
		    ]
		    if doc.get("added_latency_us"):
		        rows += [
		            (f"{n} media calls: added latency p50 µs", doc["added_latency_us"]["p50_us"]),
		            (f"{n} media calls: added latency p99 µs", doc["added_latency_us"]["p99_us"]),
		        ]
		    for name, v in rows:
		        print(name, gw, run, v, sep="\t")
		print(f"media calls per gateway core, best step under {max_loss:g}% loss", gw, run, best[0], sep="\t")
		print("media calls in that step", gw, run, best[1], sep="\t")
	EOF
}

# Builds: the gateway, sbload and the e2e test binary (which builds the
# gateway again for the e2e benchmarks, from the same tree).
log "building into $out"
go build -o "$out/switchboard" ./cmd/switchboard
if [[ -n ${SBLOAD:-} ]]; then
	cp "$SBLOAD" "$out/sbload"
else
	go build -o "$out/sbload" ./cmd/sbload
fi
go test -c -o "$out/e2e.test" ./e2e/

# Runs: in each, every figure against switchboard and then the reference,
# each on a gateway started for it.
for run in $(seq "$runs"); do
	if want signalling; then
		signalling switchboard "$run"
		start_reference "signalling-$run"
		signalling reference "$run"
		stop_reference
	fi
	if want memory; then
		memory switchboard "$run"
		start_reference "memory-$run"
		memory reference "$run"
		stop_reference
	fi
	if want rate; then
		start_switchboard "rate-$run"
		rate_search switchboard "$run"
		stop_switchboard
		start_reference "rate-$run" rtpengine
		rate_search reference "$run"
		stop_reference
	fi
	if want media && ((run <= media_runs)); then
		start_switchboard "media-$run"
		media switchboard "$run"
		stop_switchboard
		start_reference "media-$run" rtpengine
		media reference "$run"
		stop_reference
	fi
	log "run $run done after $((SECONDS - t_start)) s"
done

# The tables.
python3 - "$results" "$steps" <<'EOF'
import statistics, sys
from collections import defaultdict

vals, order = defaultdict(lambda: defaultdict(list)), []
for line in open(sys.argv[1]):
    name, gw, run, v = line.rstrip("\n").split("\t")
    if name not in vals:
        order.append(name)
    vals[name][gw].append(float(v))

# For costs (CPU, memory, latency, loss) lower is better: the ratio is
# then reference ÷ switchboard, so that above 1 always means switchboard is
# better.
lower = ("CPU", "KiB", "MiB", "loss %", "RTT", "setup", "latency")

def num(x):
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"

def cell(v, flag):
    if not v:
        return ""
    if flag:
        return f"{sum(v):.0f}/{len(v)} runs"
    m = statistics.median(v)
    return num(m) if len(v) == 1 else f"{num(m)} ({num(min(v))}–{num(max(v))})"

print("| figure | switchboard | Kamailio (+ rtpengine where marked, and for media) | ratio of medians (>1: switchboard better) |")
print("| --- | ---: | ---: | ---: |")
for name in order:
    sb, ref = vals[name].get("switchboard", []), vals[name].get("reference", [])
    flag = "loss, all up" in name
    ratio = ""
    if sb and ref and not flag and not name.endswith(": up") and name != "media calls in that step":
        s, r = statistics.median(sb), statistics.median(ref)
        num_, den = (r, s) if any(k in name for k in lower) else (s, r)
        ratio = f"{num_ / den:.2f}" if den else ("∞" if num_ else "")
    print(f"| {name} | {cell(sb, flag)} | {cell(ref, flag)} | {ratio} |")

searches = defaultdict(list)
for line in open(sys.argv[2]):
    gw, run, rate, held, achieved, completed, p99, cpu = line.split("\t")
    searches[(gw, run)].append(f"{rate}{'✓' if held == '1' else '✗'}")
if searches:
    print()
    print("Rate search steps (offered calls/s; ✓ held, ✗ did not):")
    print()
    for (gw, run), s in searches.items():
        print(f"- {gw}, run {run}: {' '.join(s)}")
EOF
log "done in $((SECONDS - t_start)) s; logs and JSON in $out"
