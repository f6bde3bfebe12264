#!/usr/bin/env bash
# check-sipp-scenarios.sh runs every sipp scenario in e2e/testdata/sipp
# against its partner on 127.0.0.1, with no gateway in between, and checks
# that each pair completes one call (and that the failure checks do fail).
#
# Usage: scripts/check-sipp-scenarios.sh [-v]
#   -v  print each pair's sipp logs even when it passes.
# Env:  SIPP_CHECK_PORT  first port to use (default 25060); each pair takes
#       two consecutive ports.
#       SIPP_CHECK_TRANSPORTS  sipp -t modes the passing pairs run over
#       (default "u1 t1": UDP and TCP).
set -euo pipefail
cd "$(dirname "$0")/.."

dir=e2e/testdata/sipp
port=${SIPP_CHECK_PORT:-25060}
transports=${SIPP_CHECK_TRANSPORTS:-u1 t1}
tr=u1 # the transport of the pair being run
verbose=false
[ "${1:-}" = "-v" ] && verbose=true

command -v sipp >/dev/null || { echo "sipp not found: run scripts/test-deps.sh" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failures=0
declare -A used

# sipp_run NAME SCENARIO PORT ARGS... runs one sipp for one call, logging
# under $work/NAME.*, and returns sipp's exit status. sipp's own -timeout
# does not end a call stuck mid-scenario, hence timeout(1); exec makes the
# pid of a backgrounded sipp_run the one to kill.
sipp_run() {
	local name=$1 sf=$2 p=$3
	shift 3
	exec timeout 30 sipp -sf "$dir/$sf" -t "$tr" -i 127.0.0.1 -p "$p" -m 1 -nostdin \
		-timeout 20s -timeout_error \
		-trace_err -error_file "$work/$name.errors.log" \
		-trace_msg -message_file "$work/$name.messages.log" \
		-trace_logs -log_file "$work/$name.logs.log" \
		"$@" >"$work/$name.screen.log" 2>&1
}

# show NAME prints the logs of one sipp run.
show() {
	local f
	for f in "$work/$1".{errors,logs,messages}.log; do
		[ -s "$f" ] && { echo "    --- $(basename "$f")"; sed 's/^/    /' "$f"; }
	done
	return 0
}

# pair WANT UAS UAS_ARGS -- UAC UAC_ARGS runs UAS then UAC against it.
# WANT is "pass" (both exit 0) or "fail" (the UAC exits non-zero).
pair() {
	local want=$1 uas=$2
	shift 2
	local uas_args=()
	while [ "$1" != "--" ]; do uas_args+=("$1"); shift; done
	shift
	local uac=$1
	shift
	used[$uas]=1
	used[$uac]=1
	local uas_port=$port uac_port=$((port + 1))
	port=$((port + 2))
	local label="[$tr] $uac${*:+ $*} -> $uas${uas_args[*]:+ ${uas_args[*]}}"
	label=${label//@UAS_PORT@/$uas_port}

	local args=()
	for a in "$@"; do args+=("${a//@UAS_PORT@/$uas_port}"); done

	local uas_rc=0 uac_rc=0
	sipp_run uas "$uas" "$uas_port" ${uas_args[@]+"${uas_args[@]}"} &
	local uas_pid=$!
	sleep 0.2
	(sipp_run uac "$uac" "$uac_port" ${args[@]+"${args[@]}"} "127.0.0.1:$uas_port") || uac_rc=$?
	if [ "$want" = pass ]; then
		wait "$uas_pid" || uas_rc=$?
	else
		# The UAS of a failing call may wait for a message that never
		# comes: stop it (only it: we started it, we know its pid).
		sleep 0.5
		kill "$uas_pid" 2>/dev/null || true
		wait "$uas_pid" || uas_rc=$?
	fi

	local ok=false
	if [ "$want" = pass ] && [ "$uac_rc" -eq 0 ] && [ "$uas_rc" -eq 0 ]; then ok=true; fi
	if [ "$want" = fail ] && [ "$uac_rc" -ne 0 ]; then ok=true; fi
	if $ok; then
		echo "ok   $want: $label"
		$verbose && { show uac; show uas; }
	else
		echo "FAIL $want: $label (uac exit $uac_rc, uas exit $uas_rc)"
		echo "  uac:"; show uac
		echo "  uas:"; show uas
		failures=$((failures + 1))
	fi
	rm -f "$work"/*.log
}

for tr in $transports; do
	pair pass uas.xml -- uac.xml -s bob
	pair pass uas.xml -- uac_to_registered.xml -key contact "sip:bob@127.0.0.1:@UAS_PORT@"
	pair pass uas_reinvite.xml -- uac_reinvite.xml -s bob
	pair pass uas_cancel.xml -- uac_cancel.xml -s bob
	pair pass uas_busy.xml -- uac_expect_fail.xml -s bob
	pair pass uas_busy.xml -- uac_expect_fail.xml -s bob -set expected 486
	pair pass uas_register_401.xml -- uac_register.xml -s alice -ap secret
	pair pass uas_register_401.xml -set authuser alice -set authpass secret -- uac_register.xml -s alice -ap secret
done

# The checks inside the scenarios must bite.
tr=u1
pair fail uas_busy.xml -- uac_expect_fail.xml -s bob -set expected 430
pair fail uas.xml -- uac_expect_fail.xml -s bob
pair fail uas_register_401.xml -set authuser alice -set authpass secret -- uac_register.xml -s alice -ap wrong

for f in "$dir"/*.xml; do
	if [ -z "${used[$(basename "$f")]:-}" ]; then
		echo "FAIL $(basename "$f") is in no pair: add one"
		failures=$((failures + 1))
	fi
done

if [ "$failures" -gt 0 ]; then
	echo "$failures sipp scenario check(s) failed" >&2
	exit 1
fi
echo "all sipp scenario checks passed"
