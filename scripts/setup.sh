#!/usr/bin/env bash
# Installs everything kdp needs, idempotently: Debian packages (only the missing ones), npm
# packages (only when package-lock.json changed since the last install), and the native build.
# Safe to run again and again; the README's commands and .ci/run call it first.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*"; }

# Debian packages: kernel tools for the emulated cluster, the traffic tools the benchmarks run,
# valgrind for instruction counts, chromium, in which a test renders the HTML bench report, and for
# ebpf-ts (dataplane/ebpf) clang/llvm to compile native/bpf/, libbpf-dev to link, bpftool to inspect;
# dnsperf and nsd for the cluster DNS benchmark.
APT_PACKAGES=(iproute2 iptables nftables ipset conntrack iperf3 sockperf wrk kmod procps iputils-ping util-linux
  valgrind chromium clang llvm libbpf-dev bpftool dnsperf nsd)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "missing Debian packages: ${missing[*]} (run as root to install them); continuing"
  else
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

# npm packages: reinstall only when the lock file is newer than the last install.
stamp=node_modules/.kdp-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  log "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi

# Native addon (native/, binding.gyp at the root), when the project has one.
# The stamp is touched after a build, so any target (one per facility) is rebuilt by a change.
if [ -f binding.gyp ]; then
  stamp=build/Release/.kdp-native-built
  if [ ! -f "$stamp" ] || [ -n "$(find native binding.gyp -newer "$stamp" -print -quit)" ]; then
    log "building the native addon"
    # Against the headers of the Node that runs kdp (Debian's nodejs ships them under /usr), never
    # downloaded ones: the machine may have no internet.
    nodedir=()
    [ -f /usr/include/node/node_api.h ] && nodedir=(--nodedir=/usr)
    npx --no-install node-gyp rebuild --release "${nodedir[@]}" >/dev/null
    touch "$stamp"
  fi
fi
# BPF programs (native/bpf/*.bpf.c -> build/bpf/*.bpf.o), each rebuilt only when its source changed.
bash scripts/build-bpf.sh
# The new-connection benchmarks' client and server (bench/connbench/connbench.c), one C file built
# with the system compiler when it changed; kdp bench runs it in pod namespaces.
if [ ! -x build/kdp-connbench ] || [ bench/connbench/connbench.c -nt build/kdp-connbench ]; then
  log "building build/kdp-connbench"
  mkdir -p build
  cc -O2 -Wall -Wextra -pthread -o build/kdp-connbench.tmp bench/connbench/connbench.c
  mv build/kdp-connbench.tmp build/kdp-connbench
fi
log "ready"
