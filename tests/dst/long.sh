#!/bin/sh
# The long form of the deterministic simulation: seeds A to B, split
# over J processes (default 1), each a dst_sim over its share; prints
# each share's summary line and every failing seed's replay line.
#
#	tests/dst/long.sh BUILD A-B [J] [STEPS]
#
# e.g. tests/dst/long.sh build 1-1000000 2 200 (about 80 seeds/s per
# process at 200 steps on a 2-core machine).
set -eu
build=${1:?usage: long.sh BUILD A-B [J] [STEPS]}
range=${2:?usage: long.sh BUILD A-B [J] [STEPS]}
jobs=${3:-1}
steps=${4:-200}
sim=$build/tests/dst/dst_sim
[ -x "$sim" ] || { echo "long.sh: no $sim (build first)" >&2; exit 2; }
a=${range%-*}
b=${range#*-}
[ "$a" -le "$b" ] || { echo "long.sh: bad range $range" >&2; exit 2; }
n=$((b - a + 1))
per=$(((n + jobs - 1) / jobs))
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
pids=
i=0
lo=$a
while [ "$lo" -le "$b" ]; do
	hi=$((lo + per - 1))
	[ "$hi" -le "$b" ] || hi=$b
	"$sim" --seeds "$lo-$hi" --steps "$steps" >"$logs/$i" 2>&1 &
	pids="$pids $!"
	i=$((i + 1))
	lo=$((hi + 1))
done
rc=0
for p in $pids; do
	wait "$p" || rc=1
done
cat "$logs"/*
exit $rc
