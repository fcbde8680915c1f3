# shellcheck shell=bash
# Helpers shared by the GPU hold scripts (run.sh, variants.sh, hold-int4.sh, hold-speed.sh, hold-train.sh), sourced by
# each of them right after `set`: `source "$(dirname "$0")/lib.sh"`. Sourcing only defines; it writes nothing.
# It sets here (this folder), repo (the checkout) and the defaults the scripts' headers name:
#   OUT   what the device call brings back (default ./bench-out of the checkout)
#   WORK  packages, results and logs (default /tmp/magma8b)
#   APP   the published Magma.Bench.Gpu (default /root/gpu-app)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
OUT=${OUT:-$repo/bench-out}
WORK=${WORK:-/tmp/magma8b}
APP=${APP:-/root/gpu-app}

# log MESSAGE...: one line "[12:34:56] MESSAGE" on stdout. A script may set log_tag (put before the time:
# "[hold-train 12:34:56]"), log_t0 (a $SECONDS value: "[12:34:56 +42s]", the time since it) and log_file (a file
# that gets a copy of every line).
log_tag='' log_t0='' log_file=''
log() {
  local line
  line="[$log_tag$(date +%T)${log_t0:+ +$((SECONDS - log_t0))s}] $*"
  if [[ -n $log_file ]]; then echo "$line" | tee -a "$log_file"; else echo "$line"; fi
}

# app_env: the app's environment from /root/gpu-app.env, which the unpack step writes on the GPU machine (absent: nothing).
app_env() {
  # shellcheck disable=SC1091
  if [[ -f /root/gpu-app.env ]]; then source /root/gpu-app.env; fi
}

# memory_start FILE: nvidia-smi writes the GPU memory in use (MiB) to FILE every 200 ms, in the background, until
# memory_stop. Where nvidia-smi is missing it fails at once, saying so on stderr unless a script set memory_quiet.
memory_quiet=''
memory_start() {
  # shellcheck disable=SC2054  # the commas belong to nvidia-smi's arguments
  local smi=(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200)
  if [[ -n $memory_quiet ]]; then "${smi[@]}" > "$1" 2>/dev/null & else "${smi[@]}" > "$1" & fi
  memory_pid=$!
}
# memory_stop: ends the sampler memory_start began (quietly if it has already ended).
memory_stop() { kill "$memory_pid" 2>/dev/null || true; }

# logged LOG COMMAND...: COMMAND with its stdout and stderr in LOG, then a last line "rc <its exit status>" there;
# returns 0 (the status is in LOG), also under set -e.
logged() {
  local f=$1 rc=0; shift
  "$@" > "$f" 2>&1 || rc=$?
  echo "rc $rc" >> "$f"
}

# app_logged DIR COMMAND...: one app run (COMMAND: the app, maybe behind env or timeout) into DIR: its output and
# exit status in DIR/dotnet.log (as logged), the GPU memory sampled into DIR/memory.txt meanwhile.
app_logged() {
  local d=$1; shift
  mkdir -p "$d"
  memory_start "$d/memory.txt"
  logged "$d/dotnet.log" "$@"
  memory_stop
}

# pack ARCHIVE DIR SUMMARY DEST [tar options...]: DIR packed into ARCHIVE (.tgz) and DIR/SUMMARY, where there is one,
# copied to DEST; never fails, so that a script calls it after every stage.
pack() {
  local archive=$1 dir=$2 summary=$3 dest=$4; shift 4
  tar czf "$archive" "$@" -C "$dir" . 2>/dev/null || true
  [[ -f $dir/$summary ]] && cp "$dir/$summary" "$dest"
  true
}

# ncu_bin: the path of Nsight Compute's ncu (on PATH or in its usual folders); nothing where there is none.
ncu_bin() { command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu 2>/dev/null | head -1; }
