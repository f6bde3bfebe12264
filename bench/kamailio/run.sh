#!/usr/bin/env bash
# run.sh starts Kamailio 5.6 with bench/kamailio/kamailio.cfg on loopback, for
# the side-by-side benchmark in bench/README.md; `run.sh stop` stops it.
#
# It installs Debian's kamailio and kamailio-websocket-modules when missing
# (needs root), starts Kamailio in the background (not daemonized, logging to
# $KAMAILIO_STATE/kamailio.log), waits until both ports listen and prints, in
# a form `eval` accepts:
#   KAMAILIO_WS=ws://127.0.0.1:18080/ws KAMAILIO_UDP=127.0.0.1:15060
#   KAMAILIO_PIDS="<main pid> <child pids...>"
#
# `run.sh rtpengine` does the same with media: it installs rtpengine-daemon
# (userspace only, no kernel module), starts it with rtpengine.conf (ng
# control on udp:127.0.0.1:22222, RTP ports 20000-24999 on 127.0.0.1, log in
# $KAMAILIO_STATE/rtpengine.log), then Kamailio with -A WITH_RTPENGINE, and
# also prints RTPENGINE_PID and GATEWAY_PIDS (Kamailio's and rtpengine's).
# `run.sh stop` stops both.
# Environment: KAMAILIO_UDP_PORT (15060), KAMAILIO_WS_PORT (18080),
# KAMAILIO_STATE (state dir, ${TMPDIR:-/tmp}/switchboard-kamailio).
set -euo pipefail

udp_port=${KAMAILIO_UDP_PORT:-15060}
ws_port=${KAMAILIO_WS_PORT:-18080}
state=${KAMAILIO_STATE:-${TMPDIR:-/tmp}/switchboard-kamailio}
cfg=$(cd "$(dirname "$0")" && pwd)/kamailio.cfg
pidfile=$state/kamailio.pid
rtpe_conf=$(cd "$(dirname "$0")" && pwd)/rtpengine.conf
rtpe_pidfile=$state/rtpengine.pid
with_rtpengine=

log() { echo "run.sh: $*" >&2; }

install() {
	local pkgs=(kamailio kamailio-websocket-modules)
	[[ -z $with_rtpengine ]] || pkgs+=(kamailio-extra-modules rtpengine-daemon rtpengine-utils)
	if dpkg -s "${pkgs[@]}" >/dev/null 2>&1; then
		return
	fi
	log "installing ${pkgs[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends "${pkgs[@]}" >&2; then
		apt-get update >&2
		apt-get install -y --no-install-recommends "${pkgs[@]}" >&2
	fi
}

stop() {
	stop_pid "$pidfile" kamailio
	stop_pid "$rtpe_pidfile" rtpengine
}

# stop_pid PIDFILE NAME stops the process PIDFILE names, if any.
stop_pid() {
	local pidfile=$1 name=$2
	[[ -f $pidfile ]] || return 0
	local pid
	pid=$(cat "$pidfile")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "$name still running after 10s, killing $pid"
			kill -KILL "$pid"
		fi
	fi
	rm -f "$pidfile"
	log "$name stopped"
}

start_rtpengine() {
	if [[ -f $rtpe_pidfile ]] && kill -0 "$(cat "$rtpe_pidfile")" 2>/dev/null; then
		log "rtpengine already running as $(cat "$rtpe_pidfile"); run.sh stop first"
		exit 1
	fi
	setsid rtpengine --config-file="$rtpe_conf" --config-section=rtpengine --foreground \
		>"$state/rtpengine.log" 2>&1 </dev/null &
	local pid=$!
	echo "$pid" >"$rtpe_pidfile"
	# Listening on the ng port (22222 is 56CE).
	for _ in $(seq 100); do
		if ! kill -0 "$pid" 2>/dev/null; then
			log "rtpengine exited; log:"
			tail -20 "$state/rtpengine.log" >&2
			rm -f "$rtpe_pidfile"
			exit 1
		fi
		grep -q " 0100007F:56CE " /proc/net/udp && return 0
		sleep 0.1
	done
	log "rtpengine not listening after 10s"
	stop_pid "$rtpe_pidfile" rtpengine
	exit 1
}

# listening reports whether both sockets are bound, from /proc/net (local
# address 127.0.0.1 is 0100007F; TCP state 0A is LISTEN).
listening() {
	grep -q " 0100007F:$(printf %04X "$udp_port") " /proc/net/udp &&
		grep -q " 0100007F:$(printf %04X "$ws_port") 00000000:0000 0A " /proc/net/tcp
}

start() {
	install
	if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
		log "already running as $(cat "$pidfile"); run.sh stop first"
		exit 1
	fi
	mkdir -p "$state"
	# A file descriptor per WebSocket connection (tcp_max_connections in
	# kamailio.cfg), per rtpengine port and more: raise the open-files limit
	# when it is lower and we may.
	if (($(ulimit -n) < 65536)); then
		ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
	fi
	local defs=()
	if [[ -n $with_rtpengine ]]; then
		start_rtpengine
		defs=(-A WITH_RTPENGINE)
	fi
	# -m/-M/-x/-X: 2 GiB shared and 32 MiB private memory with the tlsf
	# allocator; Kamailio's defaults (256 MiB, qm) run out under this load.
	setsid kamailio -f "$cfg" -DD -E -Y "$state" \
		-A "UDP_PORT=$udp_port" -A "WS_PORT=$ws_port" \
		"${defs[@]}" -m 2048 -M 32 -x tlsf -X tlsf \
		>"$state/kamailio.log" 2>&1 </dev/null &
	local pid=$!
	echo "$pid" >"$pidfile"
	for _ in $(seq 100); do
		if ! kill -0 "$pid" 2>/dev/null; then
			log "kamailio exited; log:"
			tail -20 "$state/kamailio.log" >&2
			rm -f "$pidfile"
			exit 1
		fi
		listening && break
		sleep 0.1
	done
	if ! listening; then
		log "not listening after 10s"
		stop
		exit 1
	fi
	# The main process forks its workers after binding: wait until their
	# number stops changing.
	local pids prev=
	for _ in $(seq 50); do
		pids=$(echo "$pid" $(ps -o pid= --ppid "$pid"))
		[[ $pids == "$prev" ]] && break
		prev=$pids
		sleep 0.2
	done
	echo "KAMAILIO_WS=ws://127.0.0.1:$ws_port/ws KAMAILIO_UDP=127.0.0.1:$udp_port"
	echo "KAMAILIO_PIDS=\"$pids\""
	if [[ -n $with_rtpengine ]]; then
		echo "RTPENGINE_PID=$(cat "$rtpe_pidfile")"
		echo "GATEWAY_PIDS=\"$pids $(cat "$rtpe_pidfile")\""
	fi
}

case ${1:-start} in
start) start ;;
rtpengine) with_rtpengine=1; start ;;
stop) stop ;;
*) echo "usage: $0 [start|rtpengine|stop]" >&2; exit 2 ;;
esac
