#!/usr/bin/env bash
# Load-time, memory and decode-profile variants of the .NET engine on the packages bench/gpu/run.sh built (GPU machine):
#   bash bench/gpu/variants.sh [variant...]      (default: all below, in order)
# load-old   fp16 and int4 loaded as before issue 19 item 4 (exhaustive cuDNN search, sessions one after another):
#            the load stages and the vision speed that search buys
# conv       fp16 vision warm-up and speed with cuDNN's DEFAULT algorithm and with NCHW convolutions (prefer_nhwc=0);
#            writes best.args: the fastest-loading setting whose vision speed is within 5 % of the heuristic NHWC one,
#            with crops run in fours and ones (two shapes to warm up) when a shape still costs seconds
# final      int4 (every measure) and fp16 (all but the batched steps) with best.args
# notune     int4 without ORT's GEMM auto-tuning: load, prefill (also at lengths new to the process), decode
# mem        int4 with the vision arena shrunk after each run and cuDNN workspaces capped: memory after each section
# xqa        int4 decode with ORT_ENABLE_XQA=1
# int4-128   a block-size-128 int4 package (quantized here if missing): prefill and decode
# lmhead4    an int4 package with a 4-bit LM head (quantized here if missing): decode, prefill, steps (the profile's
#            8-bit head is a quarter of the int4 step; predicted 3.84 -> ~3.1 ms/token, docs/perf.md)
# profile    ncu over 3 decode steps at 1k context, fp16 and int4: kernels per step and their time (ncu_summary.py)
# cold       one load of each package after dropping the page cache (the cold figure beside the warm one)
# Every variant writes $WORK/results/var/<name>/ (dotnet.log, results.json, memory.txt); summary.md sums them up and
# $OUT/variants.tgz carries them back.
set -uo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"  # here, repo, OUT, WORK, APP; log, app_env, app_logged, logged, pack, ncu_bin
V=$WORK/results/var
mkdir -p "$V" "$OUT"
export PYTHONUNBUFFERED=1
app_env
save() { pack "$OUT/variants.tgz" "$V" summary.md "$OUT/"; }
run() {  # run NAME PACKAGE [env NAME=VALUE...] -- app args...
  local name=$1 pkg=$2; shift 2
  local envs=()
  while [[ $# -gt 0 && $1 != -- ]]; do envs+=("$1"); shift; done
  [[ ${1:-} == -- ]] && shift
  local d=$V/$name
  log "variant $name: ${envs[*]} $*"
  app_logged "$d" env "${envs[@]}" "$APP/Magma.Bench.Gpu" --model "$pkg" --out "$d" --inputs "$d/inputs" "$@"
  grep -E "loaded|load stage|median|device memory|profiled|rc " "$d/dotnet.log" | tail -40
  save
}
stages=("$@")
((${#stages[@]})) || stages=(conv final profile notune cold mem int4-128)
best() { [[ -f $V/best.args ]] && cat "$V/best.args"; true; }
for stage in "${stages[@]}"; do
  case $stage in
    load-old)
      run fp16-old "$WORK/fp16" -- --conv-search EXHAUSTIVE --serial-load --only vision --no-inputs --reps 5
      run int4-old "$WORK/int4" -- --conv-search EXHAUSTIVE --serial-load --only vision --no-inputs --reps 5 ;;
    conv)
      run fp16-conv-default "$WORK/fp16" -- --conv-search DEFAULT --only vision --no-inputs --reps 5
      run fp16-nchw "$WORK/fp16" -- --vision-cuda prefer_nhwc=0 --only vision --no-inputs --reps 5
      # reference: heuristic NHWC (the engine default before commit b1bb673), measured in the first hold of 2026-12-03: vision warm-up
      # 11.0 / 8.8 / 8.9 / 9.0 s for 1-4 crops, vision 10.59 / 9.43 ms per crop
      python3 - "$V" > "$V/best.args" <<'PY'
import json, os, sys
v = sys.argv[1]
cands = [("", 42.7, 10.59, 9.43, 11.0)]
for name, args in (("fp16-conv-default", "--conv-search DEFAULT"), ("fp16-nchw", "--vision-cuda prefer_nhwc=0")):
    p = os.path.join(v, name, "results.json")
    if not os.path.isfile(p):
        continue
    r = json.load(open(p))
    med = {x["name"]: x["median"] for x in r["rows"]}
    one = next((m for n, m in med.items() if "1 crop per" in n), 1e9)
    four = next((m for n, m in med.items() if "4 crops per" in n), 1e9)
    warm = max([s["s"] for s in r["load_stages"] if s["name"].startswith("warm-up vision")] or [1e9])
    cands.append((args, r["load_s"], one, four, warm))
ok = [c for c in cands if c[2] <= 1.05 * 10.59 and c[3] <= 1.05 * 9.43]
args, _, _, _, warm = min(ok, key=lambda c: c[1])
if warm > 2:
    args += " --warm-crops 1,4 --vision-chunks 4,1"
print(" ".join(args.split()))
print(cands, file=sys.stderr)
PY
      log "best load args: $(best)" ;;
    final)
      # shellcheck disable=SC2046
      run int4-final "$WORK/int4" -- $(best) --reps 10
      # shellcheck disable=SC2046
      run fp16-final "$WORK/fp16" -- $(best) --only vision,steps,ttft,prefill,fresh,decode --reps 10 ;;
    notune)
      # shellcheck disable=SC2046
      run int4-notune "$WORK/int4" -- $(best) --no-gemm-tune --only prefill,fresh,decode --no-inputs --reps 10 ;;
    mem)
      # shellcheck disable=SC2046
      run int4-mem "$WORK/int4" -- $(best) --shrink-vision --conv-max-ws 0 --only vision,steps,batched --no-inputs --reps 5 ;;
    xqa)
      # shellcheck disable=SC2046
      run int4-xqa "$WORK/int4" ORT_ENABLE_XQA=1 -- $(best) --only decode --no-inputs --reps 10 ;;
    int4-128)
      [[ -f $WORK/int4-128/magma.json ]] || python3 "$repo/tools/export/quantize_package.py" --package "$WORK/fp16" \
          --out "$WORK/int4-128" --skip-logits-check --block-size 128 > "$V/int4-128-quantize.log" 2>&1
      # shellcheck disable=SC2046
      run int4-128 "$WORK/int4-128" -- $(best) --only prefill,fresh,decode --no-inputs --reps 10 ;;
    lmhead4)
      [[ -f $WORK/int4-head4/magma.json ]] || python3 "$repo/tools/export/quantize_package.py" --package "$WORK/fp16" \
          --out "$WORK/int4-head4" --skip-logits-check --lm-head int4 > "$V/int4-head4-quantize.log" 2>&1
      # shellcheck disable=SC2046
      run int4-head4 "$WORK/int4-head4" -- $(best) --only steps,prefill,decode --reps 10 ;;
    profile)
      ncu=$(ncu_bin)
      if [[ -z $ncu ]]; then log "no ncu on this machine"; continue; fi
      for p in fp16 int4; do
        d=$V/profile-$p; mkdir -p "$d"
        log "ncu over 3 decode steps, $p"
        # shellcheck disable=SC2046
        logged "$d/dotnet.log" "$ncu" --profile-from-start off --clock-control none --cache-control none \
            --metrics gpu__time_duration.sum --csv --log-file "$d/ncu.csv" "$APP/Magma.Bench.Gpu" --model "$WORK/$p" \
            --out "$d" --only none --no-inputs --profile-steps 3 $(best)
        tail -3 "$d/dotnet.log"
        python3 "$here/ncu_summary.py" "$d/ncu.csv" --steps 3 --json "$d/summary.json" > "$d/summary.txt" 2>&1
        head -45 "$d/summary.txt"
        gzip -f "$d/ncu.csv"
        save
      done ;;
    cold)
      for p in int4 fp16; do
        if sync && echo 3 > /proc/sys/vm/drop_caches; then
          # shellcheck disable=SC2046
          run "cold-$p" "$WORK/$p" -- $(best) --only none --no-inputs
        else
          log "cannot drop the page cache here: no cold figure"
        fi
      done ;;
    *) echo "unknown variant $stage" >&2 ;;
  esac
done
python3 - "$V" > "$V/summary.md" <<'PY'
import json, os, sys
root = sys.argv[1]
print("| variant | load s | load stages (s) | peak GiB (nvidia-smi) | medians (ms) |")
print("| --- | --- | --- | --- | --- |")
for name in sorted(os.listdir(root)):
    p = os.path.join(root, name, "results.json")
    if not os.path.isfile(p):
        continue
    r = json.load(open(p))
    mem = os.path.join(root, name, "memory.txt")
    peak = ""
    if os.path.isfile(mem):
        vals = [int(x) for x in open(mem).read().split() if x.isdigit()]
        peak = f"{max(vals) / 1024:.2f}" if vals else ""
    st = "; ".join(f"{s['name']} {s['s']:.1f}" for s in r.get("load_stages", []) if s["s"] >= 0.3)
    rows = "; ".join(f"{x['name']}: {x['median']} / {x['p90']}" for x in r.get("rows", []))
    print(f"| {name} | {r.get('load_s')} | {st} | {peak} | {rows} |")
PY
cat "$V/summary.md"
save
log "variants done"
