#!/usr/bin/env bash
# Builds the libFuzzer targets (swiftc -sanitize=fuzzer,address) against the decoder sources and runs them.
#   fuzz/run.sh [SECONDS] [TARGET...]    default: 60 seconds each, every target in fuzz/targets
# Seeds come from fuzz/corpus/TARGET (committed); new inputs go to fuzz/out/TARGET (not committed).
# DECODERS_SRC=DIR builds against another copy of the decoder sources (e.g. a snapshot).
# A target whose first line is `// fuzz-sources: DIR…` is built against those folders instead, as one
# module (e.g. Sources/Server Sources/JSONText).
# A crash leaves crash-* files in fuzz/out/TARGET and makes this script exit non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then
    for f in fuzz/targets/*.swift; do targets+=("$(basename "$f" .swift)"); done
fi
mkdir -p fuzz/bin fuzz/out
python3 fuzz/make-seeds.py --captures fuzz/out
status=0
for t in "${targets[@]}"; do
    bin=fuzz/bin/$t
    src=${DECODERS_SRC:-Sources/Decoders} module=FuzzDecoders
    if [[ $(head -n1 "fuzz/targets/$t.swift") =~ ^//\ fuzz-sources:\ *(.+)$ ]]; then
        src=${BASH_REMATCH[1]}
        module=Fuzz$(basename "${src%% *}")
    fi
    files=()
    for dir in $src; do files+=("$dir"/*.swift); done
    swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name "$module" \
        "${files[@]}" "fuzz/targets/$t.swift" -o "$bin" 2> >(grep -v "Cannot export local symbol" >&2)
    mkdir -p "fuzz/out/$t" "fuzz/corpus/$t"
    echo "== $t: ${seconds}s"
    if ! (cd "fuzz/out/$t" && "../../bin/$t" -max_total_time="$seconds" -max_len=4096 -timeout=5 -rss_limit_mb=2048 \
            -print_final_stats=1 . "../../corpus/$t" 2>&1 | tee "../$t.log" | grep -E "^#[0-9]+ +DONE|stat::number_of_executed_units|ERROR|crash-" ); then
        :
    fi
    if ls "fuzz/out/$t"/crash-* "fuzz/out/$t"/timeout-* "fuzz/out/$t"/leak-* >/dev/null 2>&1; then
        echo "!! $t found a failing input: $(ls fuzz/out/$t/crash-* fuzz/out/$t/timeout-* fuzz/out/$t/leak-* 2>/dev/null)"
        status=1
    fi
done
exit $status
