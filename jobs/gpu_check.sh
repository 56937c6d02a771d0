#!/usr/bin/env bash
# Builds pbtnas against a CUDA-enabled LibTorch and runs a short classification search on the
# GPU(s) with 3 ranks (2 workers sharing a GPU when there is one), inspects its checkpoint, runs
# a short GAN search on CUDA, then times the GAN iteration in C++ and in Python PyTorch on the GPU
# (bench-gan --device cuda). Use it to check a new cluster image.
#   bash jobs/gpu_check.sh OUT [DEPS_PREFIX] [DATA_DIR]
# LibTorch: $TORCH_PREFIX, else the one inside python3's torch package.
# DEPS_PREFIX: optional prefix with include/ and lib/ for Boost.Serialization, CLI11 and
# nlohmann_json when the system has none. DATA_DIR: IDX files (default: the Debian dataset path).
set -euo pipefail
out=${1:?usage: gpu_check.sh OUT [DEPS_PREFIX] [DATA_DIR]}
deps=${2:-}
data=${3:-/usr/share/datasets/fashion-mnist}
cd "$(dirname "$0")/.."
mkdir -p "$out"
torch_prefix=${TORCH_PREFIX:-$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
args=(-DCMAKE_BUILD_TYPE=Release -DPBTNAS_BUILD_TESTS=OFF "-DCMAKE_PREFIX_PATH=$torch_prefix;$deps")
[[ -n "$deps" ]] && args+=("-DBOOST_ROOT=$deps" -DBoost_NO_SYSTEM_PATHS=ON "-DCMAKE_INCLUDE_PATH=$deps/include")
[[ -d /usr/local/cuda ]] && args+=(-DCUDAToolkit_ROOT=/usr/local/cuda)
start=$(date +%s)
cmake -S . -B build-cuda -G Ninja "${args[@]}" >"$out/configure.log" 2>&1 || { tail -40 "$out/configure.log"; exit 1; }
cmake --build build-cuda -j "$(nproc)" >"$out/build.log" 2>&1 || { grep -E "error|Error" "$out/build.log" | head -40; exit 1; }
echo "build: $(( $(date +%s) - start )) s"

cat >"$out/gpu_smoke.yaml" <<YAML
seed: 31173
population_size: 4
parents_fraction: 0.5
max_epochs: 3
epochs_step: 1
classify:
  channels: 16
  data:
    dir: $data
    val_fraction: 0.2
runtime:
  device: cuda
YAML
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
start=$(date +%s)
mpirun -n 3 --oversubscribe --bind-to none build-cuda/pbtnas run "$out/gpu_smoke.yaml" --out "$out/run" 2>&1 | tee "$out/run.log"
echo "run: $(( $(date +%s) - start )) s"
grep -q "cuda" "$out/run.log" || { echo "workers did not report a CUDA device"; exit 1; }
build-cuda/pbtnas inspect "$out/run/checkpoints/gen_000002/index.h5" >"$out/inspect.txt"
head -20 "$out/inspect.txt"

# The GAN task on CUDA for a few generations (GanHard, a 6,000-image subset, the built-in FID
# classifier trained once on the GPU and cached under OUT), 2 workers sharing the GPU.
sed -e "s|^  dataset: fashion_mnist|  dataset: fashion_mnist\n  data_dir: $data|" -e "s|^  train_limit: .*|  train_limit: 6000|" -e "s|^  iterations_per_epoch: .*|  iterations_per_epoch: 60|" \
    -e "s|^  gf_dim: .*|  gf_dim: 32|" -e "s|^  df_dim: .*|  df_dim: 32|" -e "s|^  latent_dim: .*|  latent_dim: 60|" \
    -e "s|^  fid_samples: .*|  fid_samples: 2000|" -e "s|^  reference_samples: .*|  reference_samples: 6000|" \
    -e "s|^  final_fid_samples: .*|  final_fid_samples: 5000|" -e "s|^    cache_dir: .*|    cache_dir: $out/cache|" \
    -e "s|^  threads_per_rank: .*|  threads_per_rank: 2\n  device: cuda|" jobs/configs/smoke_gan.yaml >"$out/gpu_gan.yaml"
start=$(date +%s)
mpirun -n 3 --oversubscribe --bind-to none build-cuda/pbtnas run "$out/gpu_gan.yaml" --out "$out/gan" 2>&1 | tee "$out/gan.log"
echo "gan run: $(( $(date +%s) - start )) s"
grep -q "cuda" "$out/gan.log" || { echo "GAN workers did not report a CUDA device"; exit 1; }
grep -q "^done: .*FID" "$out/gan.log" || { echo "the GAN run did not finish with an FID"; exit 1; }

# bench-gan on the GPU: milliseconds per GAN training iteration in C++ against the same iteration
# in Python PyTorch (jobs/bench/gan_step.py, python3's torch), both on CUDA, at the GAN run's
# widths and at the paper's (gf 256, df 128, D batch 40). The FID classifier is the one cached above.
sed -e "s|^  gf_dim: .*|  gf_dim: 256|" -e "s|^  df_dim: .*|  df_dim: 128|" -e "s|^  latent_dim: .*|  latent_dim: 120|" \
    -e "s|^  d_batch: .*|  d_batch: 40|" "$out/gpu_gan.yaml" >"$out/gpu_gan_paper.yaml"
for config in "$out/gpu_gan.yaml" "$out/gpu_gan_paper.yaml"; do
  build-cuda/pbtnas bench-gan "$config" --device cuda --iters 50 --reps 3 --python python3 2>&1 |
    grep -v "^  genome" | tee -a "$out/bench_gan.txt"
done
grep -q "ratio Python / C++" "$out/bench_gan.txt" || { echo "bench-gan did not finish"; exit 1; }

# Pixel RL on the GPU node: frames rendered through NVIDIA's EGL (MUJOCO_GL=egl; the run stops
# with the fix when EGL cannot be created) and the agents on CUDA (jobs/configs/smoke_pixels.yaml).
sed -e "s|^  threads_per_rank: .*|  threads_per_rank: 2\n  device: cuda|" jobs/configs/smoke_pixels.yaml >"$out/gpu_pixels.yaml"
start=$(date +%s)
MUJOCO_GL=egl mpirun -n 3 --oversubscribe --bind-to none -x MUJOCO_GL build-cuda/pbtnas run "$out/gpu_pixels.yaml" \
  --out "$out/pixels" 2>&1 | tee "$out/pixels.log"
echo "pixel rl run: $(( $(date +%s) - start )) s"
grep -q "cuda" "$out/pixels.log" || { echo "pixel RL workers did not report a CUDA device"; exit 1; }
grep -q "^done: .*return" "$out/pixels.log" || { echo "the pixel RL run did not finish"; exit 1; }

# bench-rl with pixels at the paper's sizes (batch 256, hidden 1024, 9x84x84; the Quadruped
# config): ms per update in C++ against the Python mirror (jobs/bench/rl_update.py). bench-rl
# times on the CPU (it has no device option yet), so these are the node's CPU figures.
build-cuda/pbtnas bench-rl jobs/configs/quadruped_run_paper.yaml --part update --iters 2 --reps 2 \
  --threads "$(nproc)" --python python3 2>&1 | tee "$out/bench_rl_pixels.txt"
grep -q "ratio C++ / Python" "$out/bench_rl_pixels.txt" || { echo "bench-rl (pixels) did not finish"; exit 1; }
echo "gpu check passed"
