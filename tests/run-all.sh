#!/bin/bash
# Runs the unit tests (meson/cmocka), the end-to-end tests (bats, the real binary) and the fuzz
# harnesses (bounded time each), and ends with one line: "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
build=build-asan fuzz_build="" fuzz_seconds=30 only=""
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift ;;
	--fuzz-build) fuzz_build=$2; shift ;;
	--fuzz-seconds) fuzz_seconds=$2; shift ;;
	--only) only=$2; shift ;;
	*) echo "run-all.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
passed=0 failed=0
# leaks are checked by the fuzzers and valgrind-free unit runs; e2e keeps ASan's leak check on
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if [ -z "$only" ] || [ "$only" = unit ]; then
	echo "== unit tests ($build)"
	meson test -C "$build" --print-errorlogs >/tmp/strata-unit.log 2>&1
	cat /tmp/strata-unit.log | grep -E '^ *[0-9]+/[0-9]+ ' || true
	ok=$(grep -cE '^ *[0-9]+/[0-9]+ .* OK ' /tmp/strata-unit.log)
	bad=$(grep -cE '^ *[0-9]+/[0-9]+ .* (FAIL|TIMEOUT|ERROR) ' /tmp/strata-unit.log)
	[ "$bad" -gt 0 ] && sed -n '/^=*$/,$p' /tmp/strata-unit.log | tail -80
	passed=$((passed + ok)) failed=$((failed + bad))
fi

if [ -z "$only" ] || [ "$only" = e2e ]; then
	echo "== end-to-end tests ($build)"
	export STRATA_BIN=$PWD/$build/cli/strata
	out=$(mktemp)
	bats --tap tests/e2e 2>&1 | tee "$out"
	ok=$(grep -cE '^ok ' "$out")
	bad=$(grep -cE '^not ok ' "$out")
	passed=$((passed + ok)) failed=$((failed + bad))
	rm -f "$out"
fi

if { [ -z "$only" ] || [ "$only" = fuzz ]; } && [ -n "$fuzz_build" ]; then
	echo "== fuzz harnesses ($fuzz_seconds s each)"
	for f in "$fuzz_build"/tests/fuzz/fuzz_*; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		name=$(basename "$f")
		corpus=$(mktemp -d)
		seeds=tests/fuzz/corpus/$name
		[ -d "$seeds" ] && cp -r "$seeds"/. "$corpus"/
		# A fixed seed and run count make the run repeatable: what passed here passes in CI,
		# and a failure reproduces. Longer, random runs belong to exploratory fuzzing.
		if "$f" -seed="${FUZZ_SEED:-1}" -runs="${FUZZ_RUNS:-200000}" \
			-max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 "$corpus" \
			>/tmp/strata-"$name".log 2>&1; then
			echo "ok $name"
			passed=$((passed + 1))
		else
			echo "not ok $name"; tail -40 /tmp/strata-"$name".log
			failed=$((failed + 1))
		fi
		rm -rf "$corpus"
	done
fi

if [ -z "$only" ] || [ "$only" = format ]; then
	# One formatting style: the committed .clang-format, as Debian 12's clang-format 14 reads it.
	echo "== format (clang-format)"
	# third_party/ is vendored as its authors generated it, and stays so.
	if git ls-files '*.c' '*.h' ':!:third_party/**' |
		xargs clang-format --dry-run --Werror >/tmp/strata-format.log 2>&1; then
		echo "ok clang-format"
		passed=$((passed + 1))
	else
		echo "not ok clang-format (run: git ls-files '*.c' '*.h' ':!:third_party/**' | xargs clang-format -i)"
		head -40 /tmp/strata-format.log
		failed=$((failed + 1))
	fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
