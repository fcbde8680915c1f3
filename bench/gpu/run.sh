#!/usr/bin/env bash
# The GPU benchmark of issue 7, on the GPU machine (CUDA 13, PyTorch, transformers, timm, onnx; no .NET needed):
#   bash bench/gpu/run.sh [stage...]      stages: model dotnet torch report (default: all, in that order)
# model:  a random-weight Magma-8B checkpoint (bench/gpu/make_magma8b.py) and its fp16 package (tools/export)
# dotnet: the published Magma.Bench.Gpu app (APP, default /root/gpu-app; see docs/perf.md for how it gets there)
# torch:  bench/gpu/torch_reference.py on the same weights and the inputs the .NET run wrote
# report: one markdown table (bench/gpu/report.py)
# Everything that must come back goes to $OUT (default ./bench-out); the model stays in $WORK (default /tmp/magma8b).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
OUT=${OUT:-$repo/bench-out}
WORK=${WORK:-/tmp/magma8b}
APP=${APP:-/root/gpu-app}
REPS=${REPS:-20}
stages=("$@")
((${#stages[@]})) || stages=(model dotnet torch report)
mkdir -p "$OUT" "$WORK"
export PYTHONUNBUFFERED=1
log() { echo "[$(date +%T)] $*"; }

for stage in "${stages[@]}"; do
  case $stage in
    model)
      log "checkpoint"
      [[ -f $WORK/ckpt/model.safetensors.index.json ]] || python3 "$here/make_magma8b.py" --out "$WORK/ckpt" 2>&1 | tee "$OUT/model.log"
      log "export fp16"
      [[ -f $WORK/fp16/magma.json ]] || python3 "$repo/tools/export/export_magma.py" --checkpoint "$WORK/ckpt" --out "$WORK/fp16" \
          --dtype float16 --skip-check 2>&1 | tee -a "$OUT/model.log"
      du -sh "$WORK/ckpt" "$WORK/fp16" | tee -a "$OUT/model.log"
      ;;
    dotnet)
      log ".NET engine"
      nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 > "$OUT/dotnet-memory.txt" &
      smi=$!
      # shellcheck disable=SC1091
      [[ -f /root/gpu-app.env ]] && source /root/gpu-app.env
      "$APP/Magma.Bench.Gpu" --model "$WORK/fp16" --device cuda --out "$OUT" --reps "$REPS" 2>&1 | tee "$OUT/dotnet.log" || true
      kill $smi 2>/dev/null || true
      ;;
    torch)
      log "PyTorch reference"
      python3 "$here/torch_reference.py" --checkpoint "$WORK/ckpt" --inputs "$OUT/inputs" --out "$OUT/torch.json" \
          --reps "$(( REPS / 2 ))" ${NO_COMPILE:+--no-compile} 2>&1 | tee "$OUT/torch.log" || true
      ;;
    report)
      python3 "$here/report.py" --dotnet "$OUT/results.json" --torch "$OUT/torch.json" --config "$WORK/fp16/config.json" \
          --memory "$OUT/dotnet-memory.txt" --out "$OUT/table.md"
      nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem --format=csv > "$OUT/gpu.txt" || true
      ;;
    *) echo "unknown stage $stage" >&2; exit 2 ;;
  esac
done
log "done: $OUT"
