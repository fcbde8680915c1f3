#!/usr/bin/env bash
# Issue 20: train the tiny web model (tools/train-web/train_web.py) on the GPU machine, bounded in wall time.
#
#   bash bench/gpu/hold-train.sh start     # copy the data parts, start training in the background, return at once
#   bash bench/gpu/hold-train.sh wait      # wait for the training (at most until its wall cap), then collect
#   bash bench/gpu/hold-train.sh collect   # put report + package (+ log) into $OUT now, whatever state they are in
#   bash bench/gpu/hold-train.sh status    # one line: running or not, last log lines
#
# start copies every data part under $PARTS (default .gpu/train20: the folders webpack.py wrote, carried by the device
# call) into $DATA (default /root/train20-data, kept between calls), copies the code it needs to /root/train20-repo
# (so that a later call replacing the work tree cannot change it under the running process), and runs
#   train_web.py --data $DATA --work $TWORK --minutes $MINUTES --wall-minutes $WALL
# with setsid nohup: it outlives the device call. It trains for at most MINUTES (default 3.5) and stops training early
# so that the held-out evaluation and the export (export_magma.py + int4 quantize_package.py) end within WALL minutes
# of its start (default 6.8). A later start with the same $TWORK and a larger MINUTES resumes from its state.pt.
#
# What comes back in $OUT (3 files at most): train20.tar.xz.NN (train20.tar.gz.NN where xz is missing), the tar split
# into parts of 16 MiB, and
# train20-report.md beside them when the parts are fewer than 3. The tar holds
# report.json/md, loss.png, train.log and package/ (magma.json, the ONNX graphs and weights, the configs; without
# tokenizer.json, which is tests/assets/tokenizer/tokenizer.json: its SHA-256 is in package.sha256).
# Reassemble here: cat train20.tar.xz.* | tar xJ
set -uo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"  # repo, OUT; log
PARTS=${PARTS:-$repo/.gpu/train20}
DATA=${DATA:-/root/train20-data}
TWORK=${TWORK:-/root/train20-work}
CODE=${CODE:-/root/train20-repo}
MINUTES=${MINUTES:-3.5}
WALL=${WALL:-6.8}
RESERVE=${RESERVE:-2.3}
EXTRA=${EXTRA:-}
LOG=$TWORK/train.log
log_tag="hold-train "

running() { [[ -f $TWORK/pid ]] && kill -0 "$(cat "$TWORK/pid")" 2>/dev/null; }

start() {
  mkdir -p "$DATA" "$TWORK" "$CODE/tools" "$CODE/tests/assets"
  if running; then log "already running (pid $(cat "$TWORK/pid"))"; return 0; fi
  local parts=()
  for p in "$PARTS"/*/; do [[ -f $p/manifest.json ]] && parts+=("$p"); done
  if ((${#parts[@]})); then
    python3 "$repo/tools/train-web/webpack.py" gather --dst "$DATA" "${parts[@]}" || { log "gather failed"; return 1; }
  fi
  [[ -n $(ls -A "$DATA") ]] || { log "no data parts in $PARTS or $DATA"; return 1; }
  rm -rf "$CODE/tools/train-web" "$CODE/tools/export" "$CODE/tests/assets/tokenizer"
  cp -r "$repo/tools/train-web" "$repo/tools/export" "$CODE/tools/"
  cp -r "$repo/tests/assets/tokenizer" "$CODE/tests/assets/"
  nvidia-smi --query-gpu=name,memory.used,memory.total,utilization.gpu --format=csv,noheader > "$TWORK/gpu-before.txt" 2>&1 || true
  log "training: --minutes $MINUTES --wall-minutes $WALL (log $LOG)"
  # shellcheck disable=SC2086
  (cd "$CODE" && PYTHONUNBUFFERED=1 setsid nohup python3 tools/train-web/train_web.py --data "$DATA" --work "$TWORK" \
      --minutes "$MINUTES" --wall-minutes "$WALL" --reserve-minutes "$RESERVE" $EXTRA >> "$LOG" 2>&1 &
   echo $! > "$TWORK/pid")
  sleep 2
  running && log "started pid $(cat "$TWORK/pid")" || { log "did not start:"; tail -20 "$LOG"; return 1; }
}

collect() {
  mkdir -p "$OUT"
  local stage=$TWORK/collect
  rm -rf "$stage" && mkdir -p "$stage"
  for f in report.json report.md loss.png train.log gpu-before.txt; do [[ -f $TWORK/$f ]] && cp "$TWORK/$f" "$stage/"; done
  if [[ -f $TWORK/package/magma.json ]]; then
    mkdir -p "$stage/package"
    for f in "$TWORK"/package/*; do
      [[ $(basename "$f") == tokenizer.json ]] && continue
      cp "$f" "$stage/package/"
    done
    (cd "$TWORK/package" && sha256sum tokenizer.json > "$stage/package.sha256" 2>/dev/null)
    du -sh "$TWORK/package" > "$stage/package.du"
  fi
  rm -f "$OUT"/train20.tar.* "$OUT/train20-report.md"
  if command -v xz > /dev/null; then
    tar cf - -C "$stage" . | xz -6 -T0 | split -b 16M -d - "$OUT/train20.tar.xz."
  else
    tar czf - -C "$stage" . | split -b 16M -d - "$OUT/train20.tar.gz."
  fi
  # at most 3 files come back: the report beside the parts only when the parts are 1 or 2
  if [[ -f $TWORK/report.md ]] && (($(ls "$OUT"/train20.tar.* | wc -l) < 3)); then cp "$TWORK/report.md" "$OUT/train20-report.md"; fi
  log "collected: $(for f in "$OUT"/train20*; do [[ -f $f ]] && printf '%s %s ' "$(basename "$f")" "$(stat -c %s "$f")"; done)"
}

case ${1:-} in
  start) start ;;
  wait)
    # the training's own cap is WALL minutes from its start; allow one more minute, then collect regardless
    limit=$(python3 -c "print(int(($WALL + 1) * 60))")
    t0=$(stat -c %Y "$TWORK/pid" 2>/dev/null || date +%s)
    while running && (($(date +%s) - t0 < limit)); do sleep 5; done
    running && log "still running after $limit s: collecting what exists (the process keeps running)"
    tail -5 "$LOG"
    collect ;;
  collect) collect ;;
  status) running && log "running (pid $(cat "$TWORK/pid"))" || log "not running"; tail -3 "$LOG" 2>/dev/null ;;
  *) echo "usage: $0 start|wait|collect|status" >&2; exit 2 ;;
esac
