#!/usr/bin/env bash
# Issue 19 on the GPU machine, after `bash bench/gpu/run.sh model int4` (packages in $WORK) and with the app in $APP:
#   bash bench/gpu/hold-int4.sh [variant...]      (default: all below; about 9 minutes: 2026-12-03's hold ran all but
#                                                 one-shape in 8, each vision shape switch costing 6-8 s)
# head4       quantize the fp16 package again with a 4-bit LM head into $WORK/int4-head4 (about 1 minute; skipped if there)
# int4        the default int4 package (8-bit LM head), its embedding table on the GPU (--embed-gpu: the default before
#             2026-12-03's hold): steps, prefill, decode 1k/4k, vision, shape switches; writes the first-step logits and
#             greedy tokens (the reference for the variants below)
# head4-run   int4 + 4-bit LM head (table on the GPU): the same measures (measured 3.80 vs 3.89 ms/token: ORT 1.31's
#             4-bit M = 1 kernel refuses N = 128,263, not a multiple of 8, and dequantizes the head as for 8 bits)
# lean        int4 + 4-bit head + embedding table on the CPU: what the CPU table costs per decode step and saves in
#             memory; greedy tokens and first logits against head4-run (expected equal: an int8 row times an fp16
#             scale rounds the same on both sides)
# lean-mem    lean + vision memory released after each image: memory after each section and peak for one request
#             at a time with the 4,352-position cache (goal <= 8 GiB), steps, prefill, decode
# lean-2k     lean-mem with the cache sized to 2,048 positions (--max-seq 2048): memory, steps, decode at 1k, then
#             batched LIBERO N = 1, 4, 16 last (device memory after the steps = one request; the peak includes the batch)
# tf32        int4 with use_tf32=1 on the vision session: ORT's cuDNN-frontend Conv drops tensor-core plans when
#             use_tf32=0 and, for the nodes no other plan supports, logs "No execution plans support the graph" and
#             builds the graph a second time; fp16 data is not rounded by TF32. Load stages, vision speed, switches, steps
# bg          int4 with the vision shapes warmed after Load returns: "ready for text" (load_s) and "ready for images"
#             (ready_all_s), a text request timed during the warm-up, switches
# two-shape   int4 with an image's crops run num_crops at a time (--vision-all-crops, warmed up alone) instead of the
#             default one crop per run: load, vision, switches, steps (the UI step's gain, the LIBERO step's switches)
# fp16-bg     fp16 with tf32 on vision and the background warm-up: the load figures of both changes on fp16
# fp16        fp16 default: load stages, switches, and the fp16 logits/greedy tokens every int4 variant is compared with
# Results: $WORK/results/engine19/<variant>/ (dotnet.log, results.json, memory.txt = nvidia-smi every 200 ms),
# summary.md; $BACK/engine19.tgz and $BACK/engine19-summary.md, BACK default $WORK/back: the device tool empties its
# $OUT at the start of every call, so a run that outlives its call writes there and the last call copies them
# (cp $WORK/back/* "$OUT"/).
set -uo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"  # here, repo, WORK, APP; log, app_env, app_logged, pack
BACK=${BACK:-$WORK/back}
V=$WORK/results/engine19
mkdir -p "$V" "$BACK"
export PYTHONUNBUFFERED=1
app_env
log_file=$V/hold.log
# The pixels the app writes for PyTorch (12 MB for a UI image) stay behind: the device brings back files of 16 MiB at most.
save() { pack "$BACK/engine19.tgz" "$V" summary.md "$BACK/engine19-summary.md" --exclude='*/inputs/*.f32'; }
run() {  # run NAME PACKAGE [app args...]
  local name=$1 pkg=$2; shift 2
  local d=$V/$name start=$SECONDS
  if [[ ! -f $pkg/magma.json ]]; then log "variant $name: no package at $pkg, skipped"; return; fi
  log "variant $name: $*"
  app_logged "$d" "$APP/Magma.Bench.Gpu" --model "$pkg" --out "$d" --inputs "$d/inputs" --reps 5 "$@"
  grep -E "ready for|loaded|load stage .*warm-up vision|median|device memory|during the background|rc " "$d/dotnet.log" | tail -30
  log "variant $name took $((SECONDS - start)) s"
  save
}
stages=("$@")
# Most telling first: results are saved after each variant, so a hold cut short keeps them.
((${#stages[@]})) || stages=(head4 int4 head4-run lean lean-mem tf32 bg fp16-bg lean-2k two-shape fp16)
H4=$WORK/int4-head4
MEM=(--embed-cpu --release-vision-memory)
for stage in "${stages[@]}"; do
  case $stage in
    head4)
      if [[ ! -f $H4/magma.json ]]; then
        numpy=()
        grep -q "quantizing with numpy" "$WORK/results/int4.log" 2>/dev/null && numpy=(--numpy)
        log "quantize: 4-bit LM head"
        python3 "$repo/tools/export/quantize_package.py" --package "$WORK/fp16" --out "$H4" --skip-logits-check \
            --lm-head int4 "${numpy[@]}" ${INT4_ARGS:-} > "$V/head4-quantize.log" 2>&1 || log "head4 quantization failed (see head4-quantize.log)"
        tail -3 "$V/head4-quantize.log"
      fi
      [[ -f $H4/quantization_check.json ]] && cp "$H4/quantization_check.json" "$V/head4-quantization_check.json"
      [[ -f $WORK/int4/quantization_check.json ]] && cp "$WORK/int4/quantization_check.json" "$V/int4-quantization_check.json"
      du -sh "$H4" "$WORK/int4" 2>/dev/null | tee -a "$V/hold.log" ;;
    int4) run int4 "$WORK/int4" --embed-gpu --only vision,switch,steps,prefill,decode ;;
    head4-run) run head4 "$H4" --embed-gpu --only steps,prefill,decode ;;
    lean) run lean "$H4" --embed-cpu --only steps,prefill,decode ;;
    lean-mem) run lean-mem "$H4" "${MEM[@]}" --only steps,prefill,decode --no-inputs ;;
    lean-2k) run lean-2k "$H4" "${MEM[@]}" --max-seq 2048 --decode-contexts 1024 --only steps,decode,batched --batch-sizes 1,4,16 --no-inputs ;;
    tf32) run tf32 "$WORK/int4" --vision-cuda use_tf32=1 --only vision,switch,steps --no-inputs ;;
    bg) run bg "$WORK/int4" --background-warmup --only switch --no-inputs ;;
    two-shape) run two-shape "$WORK/int4" --embed-gpu --vision-all-crops --only vision,switch,steps --no-inputs ;;
    fp16-bg) run fp16-bg "$WORK/fp16" --background-warmup --vision-cuda use_tf32=1 --only switch --no-inputs ;;
    fp16) run fp16 "$WORK/fp16" --only switch ;;
    *) echo "unknown variant $stage" >&2 ;;
  esac
done
python3 - "$V" > "$V/summary.md" <<'PY'
import json, os, sys
import numpy as np
root = sys.argv[1]
def load(name):
    p = os.path.join(root, name, "results.json")
    return json.load(open(p)) if os.path.isfile(p) else None
def med(r, *keys):
    for x in r.get("rows", []):
        if all(k in x["name"] for k in keys):
            return f"{x['median']} / {x['p90']}"
    return ""
def peak(name):
    p = os.path.join(root, name, "memory.txt")
    vals = [int(x) for x in open(p).read().split() if x.isdigit()] if os.path.isfile(p) else []
    return f"{max(vals) / 1024:.2f}" if vals else ""
names = [n for n in ["int4", "head4", "lean", "lean-mem", "lean-2k", "tf32", "bg", "two-shape", "fp16-bg", "fp16"] if load(n)]
print("## Issue 19 hold (bench/gpu/hold-int4.sh)\n")
print("| variant | load s (ready all s) | vision warm-up stages s | peak GiB | GiB after load / steps / decode 4k / end | LIBERO ms | UI ms | decode 1k / 4k ms | prefill 312 / 1116 ms | vision 1 / 4 crops ms per crop | switch ->1 / ->4 ms |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for n in names:
    r = load(n)
    st = "; ".join(f"{s['name'].replace('warm-up vision ', '')} {s['s']:.1f}" for s in r.get("load_stages", []) if "vision" in s["name"])
    dev = r.get("device_gib_after", {})
    mem = " / ".join(str(dev.get(k, "")) for k in ("load", "steps", "decode 4096", "end"))
    print(f"| {n} | {r.get('load_s')} ({r.get('ready_all_s')}) | {st} | {peak(n)} | {mem} | {med(r, 'LIBERO step, greedy')} | {med(r, 'UI step')} | "
          f"{med(r, 'decode', '1024', 'device')} ; {med(r, 'decode', '4096', 'device')} | {med(r, 'prefill 312')} ; {med(r, 'prefill 1116')} | "
          f"{med(r, 'vision per crop (1 crop')} ; {med(r, 'vision per crop (4 crops')} | {med(r, 'vision 1 crop right after')} ; {med(r, 'vision 4 crops right after')} |")
print()
for n in names:
    r = load(n)
    extra = {k: r[k] for k in ("text_request_during_background_warmup_ms", "text_request_ended_before_warmup", "load_options") if k in r}
    logf = os.path.join(root, n, "dotnet.log")
    # ORT's first, tensor-core-less cuDNN-frontend attempts that failed (see the tf32 variant)
    extra["no_execution_plans_logged"] = open(logf, errors="replace").read().count("No execution plans") if os.path.isfile(logf) else None
    batched = [f"{x['name']}: {x.get('actions_per_s')} actions/s ({x.get('actions_equal_to_alone')})" for x in r.get("rows", []) if "batched" in x["name"]]
    print(f"- {n}: {json.dumps(extra)} {'; '.join(batched)}; memory after each section {json.dumps(r.get('device_gib_after', {}))}")
print("\n### Logits and greedy tokens against fp16 and between int4 variants (first step of the LIBERO / UI prompts)\n")
def logits(n, p):
    f = os.path.join(root, n, f"logits_{p}.f32")
    return np.fromfile(f, dtype=np.float32) if os.path.isfile(f) else None
for ref in ("fp16", "head4"):
    for n in names:
        if n == ref:
            continue
        for p in ("libero", "ui"):
            a, b = logits(n, p), logits(ref, p)
            if a is None or b is None or a.shape != b.shape:
                continue
            rel = float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))
            ga = (load(n).get(f"greedy_{p}") or {}).get("dotnet_greedy_16", [])
            gb = (load(ref).get(f"greedy_{p}") or {}).get("dotnet_greedy_16", [])
            same = sum(x == y for x, y in zip(ga, gb))
            print(f"- {n} vs {ref}, {p}: relative L2 {rel:.4f}, argmax {'same' if a.argmax() == b.argmax() else 'differs'}, greedy 16 tokens equal at {same}/{len(gb)} positions")
print("\n### Quantization self-check (relative reconstruction error, tools/export/quantize_package.py)\n")
for n in ("int4", "head4"):
    p = os.path.join(root, f"{n}-quantization_check.json")
    if os.path.isfile(p):
        q = json.load(open(p))
        mats = q.get("matrices", [])
        head = [m for m in mats if m.get("role") == "lm_head"]
        layers = [m["rel_error"] for m in mats if m.get("role") == "layer"]
        print(f"- {n}: LM head {[(m['bits'], round(m['rel_error'], 4)) for m in head]}, layers mean {np.mean(layers) if layers else float('nan'):.4f}")
PY
cat "$V/summary.md"
save
log "hold-int4 done"
