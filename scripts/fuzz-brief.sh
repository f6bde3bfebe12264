#!/usr/bin/env bash
# fuzz-brief.sh runs every native fuzz target in the module briefly: each
# `func FuzzXxx` in a _test.go file, alone (go test allows one -fuzz target
# per run), in its own package, for FUZZTIME (default 5s). New crashers land
# in that package's testdata/fuzz/ and fail the run.
#
# Usage: scripts/fuzz-brief.sh [FUZZTIME]
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${1:-${FUZZTIME:-5s}}
count=0

# file:func pairs, sorted so runs are repeatable.
while IFS=: read -r file name; do
	pkg=./$(dirname "$file")
	echo "fuzz: $pkg $name ($fuzztime)"
	log=$(mktemp)
	if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | tee "$log"; then
		# Go's fuzzing coordinator sometimes reports its own time limit as a
		# failure ("context deadline exceeded") with no failing input: that
		# is the engine, not a finding. Anything else fails the run.
		if grep -q 'Failing input written' "$log" || ! grep -q 'context deadline exceeded' "$log"; then
			rm -f "$log"
			exit 1
		fi
		echo "fuzz: $name: the fuzzing engine hit its own deadline with no failing input; not a finding"
	fi
	rm -f "$log"
	count=$((count + 1))
done < <(grep -rEo --include='*_test.go' --exclude-dir=testdata --exclude-dir=vendor \
	--exclude-dir=node_modules --exclude-dir=.git \
	'^func Fuzz[A-Za-z0-9_]*\(' . |
	sed -E 's#^\./##; s#:func (Fuzz[A-Za-z0-9_]*)\($#:\1#' | sort -u)

echo "fuzz: $count target(s) run"
