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
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg"
	count=$((count + 1))
done < <(grep -rEo --include='*_test.go' --exclude-dir=testdata --exclude-dir=vendor \
	--exclude-dir=node_modules --exclude-dir=.git \
	'^func Fuzz[A-Za-z0-9_]*\(' . |
	sed -E 's#^\./##; s#:func (Fuzz[A-Za-z0-9_]*)\($#:\1#' | sort -u)

echo "fuzz: $count target(s) run"
