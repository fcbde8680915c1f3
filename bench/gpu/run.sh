#!/usr/bin/env bash
# The GPU benchmark of issue 7, on the GPU machine (CUDA 13, PyTorch, transformers, timm, onnx; no .NET needed):
#   bash bench/gpu/run.sh [stage...]
#   stages: model int4 dotnet dotnet-int4 torch report (default: all, in that order); cpu-int4 on request
# model:  a random-weight Magma-8B checkpoint (bench/gpu/make_magma8b.py) and its fp16 package (tools/export)
# int4:   the fp16 package's decoder weights in 4 bits (tools/export/quantize_package.py; INT4_ARGS adds options),
#         after checking on the tiny package that the GPU arithmetic writes the same bytes as numpy
# dotnet, dotnet-int4: the published Magma.Bench.Gpu app (APP, default /root/gpu-app; see docs/perf.md for how it
#         gets there) on the fp16 and the int4 package
# torch:  bench/gpu/torch_reference.py on the same weights and the inputs the .NET run wrote
# report: one markdown table (bench/gpu/report.py), int4 columns beside fp16
# cpu-int4: the int4 package with fp32 activations on the machine's CPUs (LIBERO step, decode tokens/s)
# Results, logs and the model stay in $WORK (default /tmp/magma8b); after each stage $OUT (default ./bench-out),
# which the device tool brings back, gets results.tgz (every result and log) and table.md.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"  # here, repo, OUT, WORK, APP; log, app_env, memory_start/stop, pack
REPS=${REPS:-20}
stages=("$@")
((${#stages[@]})) || stages=(model int4 dotnet dotnet-int4 torch report)
R=$WORK/results
mkdir -p "$OUT" "$WORK" "$R"
export PYTHONUNBUFFERED=1
# At most 8 files come back from the device: one archive of everything small, and the table.
save() { pack "$OUT/results.tgz" "$R" table.md "$OUT/"; }
bench() {  # bench PACKAGE RESULTS_DIR [app args...]: one Magma.Bench.Gpu run with nvidia-smi sampling
  local pkg=$1 dir=$2; shift 2
  mkdir -p "$dir"
  memory_start "$dir/memory.txt"
  app_env  # here, not at the start: the model and int4 stages' Python runs without it
  local rc=0
  # the app's output on the terminal too (tee), unlike the other scripts' runs (app_logged)
  "$APP/Magma.Bench.Gpu" --model "$pkg" --out "$dir" --reps "$REPS" "$@" 2>&1 | tee "$dir/dotnet.log" || rc=$?
  memory_stop
  return $rc
}

for stage in "${stages[@]}"; do
  case $stage in
    model)
      log "checkpoint"
      [[ -f $WORK/ckpt/model.safetensors.index.json ]] || python3 "$here/make_magma8b.py" --out "$WORK/ckpt" 2>&1 | tee "$R/model.log"
      log "export fp16"
      [[ -f $WORK/fp16/magma.json ]] || python3 "$repo/tools/export/export_magma.py" --checkpoint "$WORK/ckpt" --out "$WORK/fp16" \
          --dtype float16 --skip-check 2>&1 | tee -a "$R/model.log"
      du -sh "$WORK/ckpt" "$WORK/fp16" | tee -a "$R/model.log"
      ;;
    int4)
      log "int4: GPU vs numpy arithmetic on the tiny package"
      q=(python3 "$repo/tools/export/quantize_package.py" --package "$repo/tests/assets/tiny-magma")
      numpy=()
      "${q[@]}" --out "$WORK/tiny-gpu" 2>&1 | tee "$R/int4.log" || true  # also runs the onnxruntime logits check
      "${q[@]}" --out "$WORK/tiny-numpy" --numpy --skip-logits-check 2>&1 | tee -a "$R/int4.log" || true
      if ! cmp "$WORK/tiny-gpu/text.data" "$WORK/tiny-numpy/text.data" || ! cmp "$WORK/tiny-gpu/decoder.onnx" "$WORK/tiny-numpy/decoder.onnx"; then
        log "GPU and numpy bytes differ: quantizing with numpy" | tee -a "$R/int4.log"
        numpy=(--numpy)
      fi
      log "int4 package"
      rm -rf "$WORK/int4"
      python3 "$repo/tools/export/quantize_package.py" --package "$WORK/fp16" --out "$WORK/int4" --skip-logits-check \
          "${numpy[@]}" ${INT4_ARGS:-} 2>&1 | tee -a "$R/int4.log"
      cp "$WORK/int4/quantization_check.json" "$R/"
      du -sh "$WORK/int4" "$WORK/int4"/* | tee -a "$R/int4.log"
      ;;
    dotnet)
      log ".NET engine, fp16"
      if ! bench "$WORK/fp16" "$R" --device cuda --inputs "$WORK/inputs"; then
        log "CUDA graphs failed; again without (the log above says why)"
        cp "$R/dotnet.log" "$R/dotnet-graphs.log"
        bench "$WORK/fp16" "$R" --device cuda --inputs "$WORK/inputs" --no-graphs || true
      fi
      mv "$R/memory.txt" "$R/dotnet-memory.txt"
      ;;
    dotnet-int4)
      log ".NET engine, int4"
      if ! bench "$WORK/int4" "$R/int4" --device cuda --inputs "$WORK/inputs-int4" && \
         { cp "$R/int4/dotnet.log" "$R/int4/dotnet-graphs.log"; log "int4 with CUDA graphs failed; again without"; \
           ! bench "$WORK/int4" "$R/int4" --device cuda --inputs "$WORK/inputs-int4" --no-graphs; }; then
        log "int4 package failed on CUDA (the logs above say why); again with a 4-bit LM head"
        cp "$R/int4/dotnet.log" "$R/int4/dotnet-first.log"
        rm -rf "$WORK/int4"
        python3 "$repo/tools/export/quantize_package.py" --package "$WORK/fp16" --out "$WORK/int4" --skip-logits-check \
            --lm-head int4 ${INT4_ARGS:-} 2>&1 | tee -a "$R/int4.log"
        cp "$WORK/int4/quantization_check.json" "$R/"
        bench "$WORK/int4" "$R/int4" --device cuda --inputs "$WORK/inputs-int4" || true
      fi
      ;;
    cpu-int4)
      log "int4 package with fp32 activations on the CPU"
      [[ -f $WORK/int4-cpu/magma.json ]] || python3 "$repo/tools/export/quantize_package.py" --package "$WORK/fp16" \
          --out "$WORK/int4-cpu" --activations float32 --skip-logits-check ${INT4_ARGS:-} 2>&1 | tee "$R/int4-cpu.log" || true
      bench "$WORK/int4-cpu" "$R/cpu" --device cpu --inputs "$WORK/inputs-cpu" --reps 3 --only steps,decode \
          --decode-contexts 256 --max-seq 2048 || true
      ;;
    torch)
      log "PyTorch reference"
      python3 "$here/torch_reference.py" --checkpoint "$WORK/ckpt" --inputs "$WORK/inputs" --out "$R/torch.json" \
          --reps "$(( REPS / 2 ))" ${NO_COMPILE:+--no-compile} 2>&1 | tee "$R/torch.log" || true
      ;;
    report)
      nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem --format=csv > "$R/gpu.txt" || true
      python3 "$here/report.py" --dotnet "$R/results.json" --torch "$R/torch.json" --config "$WORK/fp16/config.json" \
          --memory "$R/dotnet-memory.txt" --int4 "$R/int4/results.json" --int4-memory "$R/int4/memory.txt" \
          --int4-check "$R/quantization_check.json" --cpu-int4 "$R/cpu/results.json" --out "$R/table.md"
      cat "$R/gpu.txt" >> "$R/table.md"
      ;;
    *) echo "unknown stage $stage" >&2; exit 2 ;;
  esac
  save
done
log "done: $OUT"
