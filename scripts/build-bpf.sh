#!/usr/bin/env bash
# Compiles the BPF programs in native/bpf/*.bpf.c into build/bpf/*.bpf.o (clang -target bpf, BTF
# and CO-RE relocation records from -g), each only when its source or this script is newer than
# its object, so running it again does nothing. Called by scripts/setup.sh; dataplane/ebpf loads them.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/bpf
mkdir -p "$out"
clang_bin=$(command -v clang || command -v clang-14 || true)
if [ -z "$clang_bin" ]; then
  echo "[build-bpf] clang is missing: run scripts/setup.sh as root to install it" >&2
  exit 1
fi
arch_include=/usr/include/$(uname -m)-linux-gnu
for src in native/bpf/*.bpf.c; do
  obj="$out/$(basename "${src%.c}").o"
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ "$0" -nt "$obj" ]; then
    echo "[build-bpf] $src -> $obj"
    "$clang_bin" -O2 -g -Wall -target bpf -D__TARGET_ARCH_x86 -I"$arch_include" -c "$src" -o "$obj.tmp"
    mv "$obj.tmp" "$obj"
  fi
done
