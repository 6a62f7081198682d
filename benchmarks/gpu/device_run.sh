#!/usr/bin/env bash
# The GPU measurements of benchmarks/gpu.md, on a bare machine with an NVIDIA GPU, a system
# Python with torch, and no internet. Run from the repository root:
#
#   bash benchmarks/gpu/device_run.sh OUT_DIR [ASSIGNMENT...]   (default: 05-fashion-mnist-gpu 06-cnn)
#
# It needs, in ignored folders of the checkout:
#   .whl/   Python 3.12 wheels of the Jupyter stack that machine lacks (nbclient, nbformat,
#           jupyter_client, ipykernel, ipython and their needs; list in benchmarks/gpu.md)
#   .data/  the four FashionMNIST *-ubyte.gz files, and bubblewrap_*.deb if the machine has no bwrap
#
# Two measurements run side by side on separate cores: the GPU one (cores 2-15) and the
# "2 CPU cores, no GPU" one (cores 0-1, CUDA hidden), the CPU budget.
set -euo pipefail
out=${1:?usage: device_run.sh OUT_DIR [ASSIGNMENT...]}
shift
if [ $# -gt 0 ]; then assignments=("$@"); else assignments=(05-fashion-mnist-gpu 06-cnn); fi
mkdir -p "$out"

python3 -m pip install -q --no-index --no-deps --no-compile .whl/*.whl
python3 -m pip install -q --no-index --no-deps --no-build-isolation .
if ! command -v bwrap >/dev/null; then
    dpkg -x .data/bubblewrap_*.deb /tmp/bubblewrap && cp /tmp/bubblewrap/usr/bin/bwrap /usr/local/bin/
fi
export MLGRADER_DATA=$PWD/.data PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 -c 'import mlgrader.sandbox.modes as s; print("sandbox mode:", s.choose_mode())'

(CUDA_VISIBLE_DEVICES= OMP_NUM_THREADS=2 taskset -c 0,1 \
    python3 benchmarks/gpu/measure.py --out "$out" --label cpu2 --seed-loop --assignments "${assignments[@]}" >"$out/cpu2.log" 2>&1
 echo "cpu2 done: $?" >>"$out/cpu2.log") &
cpu_job=$!

taskset -c 2-15 python3 benchmarks/gpu/measure.py --out "$out" --label gpu --seed-loop --assignments "${assignments[@]}" 2>&1 | tee "$out/gpu.log" || true
# The GPU-trained submissions, graded with the GPU hidden (a CPU runner's view).
CUDA_VISIBLE_DEVICES= taskset -c 2-15 python3 benchmarks/gpu/measure.py --out "$out" --label gpu-trained-on-cpu \
    --assignments "${assignments[@]}" --grade "$out/gpu" 2>&1 | tee -a "$out/gpu.log" || true
# Solutions, stubs and every known-wrong variant, graded with the GPU visible.
taskset -c 2-15 python3 -m mlgrader.cli validate "${assignments[@]}" 2>&1 | tee "$out/validate-gpu.log" || true
# Other training settings for 06's CNN, on the GPU (benchmarks/gpu/cnn_configs.py).
taskset -c 2-15 python3 benchmarks/gpu/cnn_configs.py >"$out/cnn_configs_gpu.log" 2>&1 || true
wait "$cpu_job" || true
cat "$out/cpu2.log"
