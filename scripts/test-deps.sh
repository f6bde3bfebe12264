#!/usr/bin/env bash
# test-deps.sh installs the external programs the test suite drives, on Debian.
#
# It is idempotent: a program already on PATH is left alone, and apt-get update
# runs at most once per invocation. As root it installs what is missing; as any
# other user it prints the apt-get command to run and exits 1.
#
# To add a dependency, add a "command package" line to DEPS.
set -euo pipefail

# DEPS lists one "command package" pair per line: the program the tests run,
# and the Debian package that provides it.
DEPS=(
	"sipp sip-tester"
	# baresip-core holds the binary and every module the tests load (g711,
	# aufile, sndfile, menu, account, ctrl_tcp); the "baresip" metapackage
	# only adds GUI and codec recommends on top of it.
	"baresip baresip-core"
	# chromium is the browser the e2e/browser harness drives through
	# playwright-core (which never downloads its own browsers).
	"chromium chromium"
	# firefox-esr is the second browser of the e2e/browser harness, driven
	# headless over WebDriver BiDi by puppeteer-core (Debian has no geckodriver).
	"firefox-esr firefox-esr"
	# ip and iptables build the network namespaces, NAT and firewalls of
	# internal/testkit/netns.
	"ip iproute2"
	"iptables iptables"
	# coturn brings turnutils_uclient, the TURN client the turnserver tests
	# drive; they never start coturn's own server (turnserver), and
	# Debian's package does not enable it.
	"turnutils_uclient coturn"
	# certutil puts the NAT test's self-signed certificate in a Firefox
	# profile: Firefox's TURN over TLS ignores WebDriver's acceptInsecureCerts.
	"certutil libnss3-tools"
	# "redis-server redis-server"
)

missing=()
for pair in "${DEPS[@]}"; do
	read -r cmd pkg <<<"$pair"
	if ! command -v "$cmd" >/dev/null 2>&1; then
		missing+=("$pkg")
	fi
done

if [ "${#missing[@]}" -eq 0 ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "test-deps: missing packages: ${missing[*]}" >&2
	echo "test-deps: install them with:" >&2
	echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
	exit 1
fi

echo "test-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"

for pair in "${DEPS[@]}"; do
	read -r cmd pkg <<<"$pair"
	if ! command -v "$cmd" >/dev/null 2>&1; then
		echo "test-deps: $pkg installed but $cmd is still not on PATH" >&2
		exit 1
	fi
done
