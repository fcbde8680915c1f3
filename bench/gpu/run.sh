#!/usr/bin/env bash
# The GPU benchmark of issue 7, on the GPU machine (CUDA 13, PyTorch, transformers, timm, onnx; no .NET needed):
#   bash bench/gpu/run.sh [stage...]      stages: model dotnet torch report (default: all, in that order)
# model:  a random-weight Magma-8B checkpoint (bench/gpu/make_magma8b.py) and its fp16 package (tools/export)
# dotnet: the published Magma.Bench.Gpu app (APP, default /root/gpu-app; see docs/perf.md for how it gets there)
# torch:  bench/gpu/torch_reference.py on the same weights and the inputs the .NET run wrote
# report: one markdown table (bench/gpu/report.py)
# Results, logs and the model stay in $WORK (default /tmp/magma8b); each stage also copies its results and log to $OUT
# (default ./bench-out), which the device tool brings back.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
OUT=${OUT:-$repo/bench-out}
WORK=${WORK:-/tmp/magma8b}
APP=${APP:-/root/gpu-app}
REPS=${REPS:-20}
stages=("$@")
((${#stages[@]})) || stages=(model dotnet torch report)
R=$WORK/results
mkdir -p "$OUT" "$WORK" "$R"
export PYTHONUNBUFFERED=1
log() { echo "[$(date +%T)] $*"; }

for stage in "${stages[@]}"; do
  case $stage in
    model)
      log "checkpoint"
      [[ -f $WORK/ckpt/model.safetensors.index.json ]] || python3 "$here/make_magma8b.py" --out "$WORK/ckpt" 2>&1 | tee "$R/model.log"
      log "export fp16"
      [[ -f $WORK/fp16/magma.json ]] || python3 "$repo/tools/export/export_magma.py" --checkpoint "$WORK/ckpt" --out "$WORK/fp16" \
          --dtype float16 --skip-check 2>&1 | tee -a "$R/model.log"
      du -sh "$WORK/ckpt" "$WORK/fp16" | tee -a "$R/model.log"
      cp "$R/model.log" "$OUT/"
      ;;
    dotnet)
      log ".NET engine"
      nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 > "$R/dotnet-memory.txt" &
      smi=$!
      # shellcheck disable=SC1091
      [[ -f /root/gpu-app.env ]] && source /root/gpu-app.env
      if ! "$APP/Magma.Bench.Gpu" --model "$WORK/fp16" --device cuda --out "$R" --inputs "$WORK/inputs" --reps "$REPS" 2>&1 | tee "$R/dotnet.log"; then
        log "CUDA graphs failed; again without (the log above says why)"
        "$APP/Magma.Bench.Gpu" --model "$WORK/fp16" --device cuda --out "$R" --inputs "$WORK/inputs" --reps "$REPS" --no-graphs 2>&1 | tee -a "$R/dotnet.log" || true
      fi
      kill $smi 2>/dev/null || true
      cp "$R/dotnet.log" "$R/results.json" "$R/dotnet-memory.txt" "$OUT/" 2>/dev/null || true
      ;;
    torch)
      log "PyTorch reference"
      python3 "$here/torch_reference.py" --checkpoint "$WORK/ckpt" --inputs "$WORK/inputs" --out "$R/torch.json" \
          --reps "$(( REPS / 2 ))" ${NO_COMPILE:+--no-compile} 2>&1 | tee "$R/torch.log" || true
      cp "$R/torch.json" "$R/torch.log" "$OUT/" 2>/dev/null || true
      ;;
    report)
      nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem --format=csv > "$R/gpu.txt" || true
      python3 "$here/report.py" --dotnet "$R/results.json" --torch "$R/torch.json" --config "$WORK/fp16/config.json" \
          --memory "$R/dotnet-memory.txt" --out "$R/table.md"
      cat "$R/gpu.txt" >> "$R/table.md"
      cp "$R/table.md" "$OUT/"
      ;;
    *) echo "unknown stage $stage" >&2; exit 2 ;;
  esac
done
log "done: $OUT"
