#!/usr/bin/env bash
# setup.sh: installs the Debian packages kiln needs, then configures and builds
# it in ./build (or $KILN_BUILD_DIR). Idempotent: packages already present are
# not reinstalled, and the build is incremental.
#
#   ./setup.sh               build dependencies, configure, build
#   ./setup.sh --with-torch  also python3-torch/torchvision/onnx (only needed
#                            to regenerate golden data, convert .pth weights
#                            and run bench/check_onnx_models.sh)
#   ./setup.sh --with-fuzz   also clang-14 and libFuzzer, for the fuzz/
#                            harnesses (build-fuzz, see README.md)
set -euo pipefail
cd "$(dirname "$0")"

packages=(
  cmake ninja-build g++ python3 python3-numpy
  llvm-19-dev libmlir-19-dev mlir-19-tools llvm-19-tools
  libfmt-dev libyaml-cpp-dev libstb-dev libboost-context-dev
  libonnx-dev libprotobuf-dev protobuf-compiler
  g++-aarch64-linux-gnu qemu-user
  libavformat-dev libavcodec-dev libswscale-dev libavutil-dev ffmpeg
)
for option in "$@"; do
  case "$option" in
    --with-torch) packages+=(python3-torch python3-torchvision python3-onnx) ;;
    --with-fuzz) packages+=(clang-14 libclang-rt-14-dev) ;;
    *) echo "setup: unknown option '$option' (--with-torch, --with-fuzz)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

build="${KILN_BUILD_DIR:-build}"
if [[ ! -f "$build/build.ninja" ]]; then
  cmake -G Ninja -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
fi
ninja -C "$build"
