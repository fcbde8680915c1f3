#!/usr/bin/env bash
# Issue 18 measurements on the packages bench/gpu/run.sh built (GPU machine; after `run.sh model int4`, app in $APP):
#   bash bench/gpu/hold-speed.sh [stage...]      (default: all below, in this order; about 7 minutes)
# fresh     fp16 prefill at prompt lengths new to the process (290..299, 1100..1109) and UI steps whose prompt length
#           is new each time (time to first token, whole step), without (fp16-off) and with (fp16-new, the CUDA
#           default since the hold of 2026-12-03) padded prefills; both also run the LIBERO / UI steps and
#           prefill 312 / 1,116
# vocab     fp16 decode at 1k / 4k context and the steps with the LM head padded to 128,264 columns
#           (tools/export/pad_vocab.py) beside the same runs on the unpadded package; greedy tokens and first logits
#           of the two compared
# vision    ncu over 2 vision runs of 4 crops (GPU kernel time by kind: convolutions, transposes, LayerNorm, GELU,
#           GEMMs) plus ORT's own profile of the vision session (node / op-type view), bench/gpu/vision_profile.py;
#           then vision per crop (1 / 4 per call) with plain runs and replayed as CUDA graphs (--vision-graphs), the
#           latter with the LIBERO / UI steps and their greedy tokens and first logits (compared with fp16-vocab-base)
# batched   fp16 batched LIBERO steps N = 1, 4, 8, 16, 32 and the arrival-rate curve (5-160 requests/s, 48 each)
# always    fp16 with every prompt padded (the extra decode step's cost on a repeated prompt: LIBERO)
# int4      int4 fresh prefills and UI steps without and with padded prefills
# vision1   ncu over 4 vision runs of 1 crop
# graphs    fp16 vision replayed as CUDA graphs (--vision-graphs) with the steps, without the vision profile
# notune    fp16 fresh prefills without ORT's GEMM auto-tuning (how much of a new length's cost the tuning is)
# parity    fp16 and int4 (CUDA defaults): first-step logits and greedy tokens of padded vs exact prefills, batched vs
#           alone (LIBERO N = 1, 4, 16: host and device token choice), 8 copies of one request in one batch, text-only
#           batched vs alone (--only parity; the summary lists each comparison)
# parity-variants  fp16 parity without CUDA graphs (--no-graphs) and with exact prefills (--prefill-buckets off): which
#           path a batched-vs-alone difference comes from
# shapes    load and steps with the default one vision shape (int4, fp16) and int4 with --vision-all-crops (two
#           shapes): load time, LIBERO / UI steps, shape-switch cost measured end to end
# A stage that would start after DEADLINE_S seconds (default 450) is skipped; BENCH_ARGS adds app arguments to every
# run (a dry run on the CPU: WORK with fp16/int4 links to tiny packages, BENCH_ARGS="--device cpu"). Results: $WORK/results/speed18/<run>/
# (dotnet.log, results.json, memory.txt), packed after each stage into $WORK/results/speed18.tgz and
# $WORK/results/speed18-summary.md. Nothing is written to $OUT while the stages run: the device tool empties $OUT
# (/root/out) at the start of every call, and this script runs in the background across several calls (the hold of
# 2026-12-03 lost its copies that way). In the last call, `bash bench/gpu/hold-speed.sh collect` copies the two files
# into that call's $OUT.
set -uo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"  # here, repo, OUT, WORK, APP; log, app_env, app_logged, logged, pack, ncu_bin
DEADLINE_S=${DEADLINE_S:-450}
S=$WORK/results/speed18
if [[ ${1:-} == collect ]]; then
  mkdir -p "$OUT" && cp "$S.tgz" "$S-summary.md" "$OUT/" && ls -l "$OUT"
  exit
fi
mkdir -p "$S"
export PYTHONUNBUFFERED=1
app_env
T0=$SECONDS
log_t0=$T0
memory_quiet=1  # no "nvidia-smi: command not found" per run on a CPU dry run
save() { pack "$S.tgz" "$S" summary.md "$S-summary.md"; }
run() {  # run NAME PACKAGE -- app args...
  local name=$1 pkg=$2; shift 2
  [[ ${1:-} == -- ]] && shift
  local d=$S/$name
  log "run $name: $*"
  # shellcheck disable=SC2086
  app_logged "$d" timeout 240 "$APP/Magma.Bench.Gpu" --model "$pkg" --out "$d" --inputs "$d/inputs" "$@" ${BENCH_ARGS:-}
  grep -E "loaded|ready for|load stage|warm-up prefill|median|parity|rc " "$d/dotnet.log" | tail -30
  save
}
profile_vision() {  # profile_vision NAME CROPS RUNS
  local name=$1 crops=$2 runs=$3 d=$S/$1 ncu
  ncu=$(ncu_bin)
  mkdir -p "$d"
  if [[ -z $ncu ]]; then log "no ncu on this machine: ORT profile only"; fi
  log "vision profile $name: $runs runs of $crops crops"
  if [[ -n $ncu ]]; then
    # shellcheck disable=SC2086
    logged "$d/dotnet.log" timeout 300 "$ncu" --profile-from-start off --clock-control none --cache-control none \
        --metrics gpu__time_duration.sum --csv --log-file "$d/ncu.csv" "$APP/Magma.Bench.Gpu" --model "$WORK/fp16" \
        --out "$d" --only none --no-inputs --vision-profile "$runs" --vision-profile-crops "$crops" --vision-ort-profile \
        ${BENCH_ARGS:-}
  else
    # shellcheck disable=SC2086
    logged "$d/dotnet.log" timeout 120 "$APP/Magma.Bench.Gpu" --model "$WORK/fp16" --out "$d" --only vision --no-inputs \
        --reps 5 --vision-ort-profile ${BENCH_ARGS:-}
  fi
  tail -3 "$d/dotnet.log"
  {
    [[ -f $d/ncu.csv ]] && python3 "$here/vision_profile.py" ncu "$d/ncu.csv" --runs "$runs" --crops "$crops" --json "$d/ncu-summary.json"
    echo
    for f in "$d"/ort-vision_*.json; do
      [[ -f $f ]] && python3 "$here/vision_profile.py" ort "$f" --json "$d/ort-summary.json" && gzip -f "$f"
    done
  } > "$d/summary.txt" 2>&1
  head -40 "$d/summary.txt"
  [[ -f $d/ncu.csv ]] && gzip -f "$d/ncu.csv"
  save
}
stages=("$@")
((${#stages[@]})) || stages=(fresh vocab vision batched always int4 vision1 notune)
for stage in "${stages[@]}"; do
  if ((SECONDS - T0 > DEADLINE_S)); then
    log "skipped $stage: past DEADLINE_S=$DEADLINE_S"
    echo "$stage" >> "$S/skipped.txt"
    continue
  fi
  case $stage in
    fresh)
      run fp16-off "$WORK/fp16" -- --prefill-buckets off --only fresh,ttft,steps,prefill --no-inputs --reps 5
      run fp16-new "$WORK/fp16" -- --prefill-buckets new --only fresh,ttft,steps,prefill --no-inputs --reps 5 ;;
    vocab)
      if [[ ! -f $WORK/fp16-padvocab/magma.json ]]; then
        log "pad the fp16 LM head"
        python3 "$repo/tools/export/pad_vocab.py" --package "$WORK/fp16" --out "$WORK/fp16-padvocab" > "$S/pad_vocab.log" 2>&1 \
            || { cat "$S/pad_vocab.log"; continue; }
      fi
      run fp16-vocab-base "$WORK/fp16" -- --only decode,steps --reps 5
      run fp16-vocab-padded "$WORK/fp16-padvocab" -- --only decode,steps --reps 5 ;;
    vision)
      profile_vision vision4 4 2
      run fp16-vision "$WORK/fp16" -- --only vision --no-inputs --reps 10
      run fp16-vision-graphs "$WORK/fp16" -- --vision-graphs --only vision,steps --reps 10 ;;
    vision1) profile_vision vision1 1 4 ;;
    batched)
      run fp16-batched "$WORK/fp16" -- --only batched,arrivals --no-inputs --reps 5 --batch-sizes 1,4,8,16,32 \
          --rates 5,10,20,40,80,160 --arrival-requests 48 --max-batch 32 ;;
    always) run fp16-always "$WORK/fp16" -- --prefill-buckets always --only steps,prefill,fresh --no-inputs --reps 5 ;;
    int4)
      run int4-off "$WORK/int4" -- --prefill-buckets off --only fresh,ttft --no-inputs --reps 5
      run int4-new "$WORK/int4" -- --prefill-buckets new --only fresh,ttft --no-inputs --reps 5 ;;
    parity)
      run fp16-parity "$WORK/fp16" -- --only parity --no-inputs
      run int4-parity "$WORK/int4" -- --only parity --no-inputs ;;
    parity-variants)
      run fp16-parity-nographs "$WORK/fp16" -- --only parity --no-inputs --no-graphs
      run fp16-parity-off "$WORK/fp16" -- --only parity --no-inputs --prefill-buckets off ;;
    shapes)
      run int4-one-shape "$WORK/int4" -- --only steps,switch --no-inputs --reps 5
      run int4-two-shape "$WORK/int4" -- --vision-all-crops --only steps,switch --no-inputs --reps 5
      run fp16-one-shape "$WORK/fp16" -- --only steps --no-inputs --reps 5 ;;
    graphs) run fp16-vision-graphs "$WORK/fp16" -- --vision-graphs --only vision,steps --reps 10 ;;
    notune) run fp16-off-notune "$WORK/fp16" -- --prefill-buckets off --no-gemm-tune --only fresh --no-inputs --reps 5 ;;
    *) echo "unknown stage $stage" >&2 ;;
  esac
done
python3 - "$S" > "$S/summary.md" <<'PY'
import json, os, sys
root = sys.argv[1]
res = {}
for name in sorted(os.listdir(root)):
    p = os.path.join(root, name, "results.json")
    if os.path.isfile(p):
        res[name] = json.load(open(p))
print("# issue 18 hold (bench/gpu/hold-speed.sh): medians / p90 in ms\n")
print("| run | load s | prefill widths warm-up s | GiB in use after load / at the end | measures (median / p90) |")
print("| --- | --- | --- | --- | --- |")
for name, r in res.items():
    widths = sum(s["s"] for s in r.get("load_stages", []) if s["name"].startswith("warm-up prefill widths"))
    rows = "<br>".join(f"{x['name']}: {x['median']} / {x['p90']}" + (f" ({x['actions_per_s']} actions/s, x{x.get('vs_n1')}, agree {x.get('actions_equal_to_alone')})" if "actions_per_s" in x else "")
                       + (f" (served {x['served_per_s']}/s, agree {x['actions_equal_to_alone']})" if "served_per_s" in x else "") for x in r.get("rows", []))
    mem = r.get("device_gib_after", {})
    print(f"| {name} | {r.get('load_s')} | {widths:.2f} | {mem.get('load')} / {mem.get('end')} | {rows} |")
base = res.get("fp16-vocab-base")
for other in ("fp16-vocab-padded", "fp16-vision-graphs"):
    pad = res.get(other)
    if not (base and pad):
        continue
    print(f"\n## {other} vs fp16-vocab-base: greedy tokens and first logits\n")
    for k in ("greedy_libero", "greedy_ui"):
        if k in base and k in pad:
            same = {f: base[k].get(f) == pad[k].get(f) for f in ("dotnet_greedy_16", "dotnet_action_greedy")}
            print(f"- {k}: tokens identical {same}")
    for n in ("libero", "ui"):
        a, b = (os.path.join(root, r, f"logits_{n}.f32") for r in ("fp16-vocab-base", other))
        if os.path.isfile(a) and os.path.isfile(b):
            import numpy as np
            x, y = np.fromfile(a, np.float32), np.fromfile(b, np.float32)
            if x.shape == y.shape:
                print(f"- first logits {n}: {x.size} columns, rel L2 {np.linalg.norm(x - y) / np.linalg.norm(x):.2e}, "
                      f"same argmax {int(x.argmax()) == int(y.argmax())}")
            else:
                print(f"- first logits {n}: shapes differ {x.shape} vs {y.shape}")
for name, r in res.items():
    if "parity" not in r:
        continue
    print(f"\n## {name}: parity (bucketing {r['parity'].get('bucketing')})\n")
    for k, v in r["parity"].items():
        if isinstance(v, dict) and "tokens_equal" in v:
            flips = [f"{x['ref_argmax']}->{x['argmax']} margin {x['ref_margin']:.3g} max|d| {x['max_abs']:.3g}" for x in v["rows"] if not x["argmax_equal"]]
            print(f"- {k}: tokens equal {v['tokens_equal']}, first argmax equal {v['first_argmax_equal']}, worst rel L2 "
                  f"{v['worst_rel_l2']:.2e}, worst max|d| {v['worst_max_abs']:.3g}" + (f"; flips: {'; '.join(flips)}" if flips else ""))
        elif isinstance(v, dict):
            print(f"- {k}: " + ", ".join(f"{a} {b}" for a, b in v.items()))
for v in ("vision4", "vision1"):
    p = os.path.join(root, v, "summary.txt")
    if os.path.isfile(p):
        print(f"\n## {v}\n")
        print("".join(open(p).readlines()[:60]))
sk = os.path.join(root, "skipped.txt")
if os.path.isfile(sk):
    print("\nskipped (deadline): " + open(sk).read().replace("\n", " "))
PY
cat "$S/summary.md"
save
log "hold-speed done"
