# Builds kdp's native addons: build/Release/kdp_native.node (native/, see native/README.md) and
# build/Release/kdp_ebpf.node (native/ebpf/, libbpf linked; dataplane/ebpf/README.md).
# C++17, -O2, C++ exceptions on (node-addon-api's except.gypi), node headers from the system.
{
  'targets': [
    {
      'target_name': 'kdp_native',
      'sources': [
        'native/addon.cc',
        'native/tun.cc',
        'native/udp.cc',
        'native/packet.cc',
        'native/route_table.cc',
        'native/offload.cc',
        'native/engine_baseline.cc',
        'native/engine_batched.cc',
        'native/send_batch.cc',
        'native/batch_process.cc',
      ],
      'include_dirs': ["<!(node -p \"require('node-addon-api').include_dir\")"],
      'includes': ['node_modules/node-addon-api/except.gypi'],
      'cflags_cc': ['-std=c++17', '-O2', '-Wall', '-Wextra', '-Wno-missing-field-initializers'],
      'cflags_cc!': ['-std=gnu++17', '-std=gnu++1y', '-fno-exceptions'],
      'ldflags': ['-pthread'],
    },
    {
      # ebpf-ts (dataplane/ebpf/): libbpf linked, sources in native/ebpf/, its own addon so the
      # overlay engine builds and loads without libbpf.
      'target_name': 'kdp_ebpf',
      'sources': [
        'native/ebpf/ebpf_addon.cc',
        'native/ebpf/ebpf_object.cc',
        'native/ebpf/ebpf_btf.cc',
        'native/ebpf/ebpf_maps.cc',
        'native/ebpf/ebpf_attach.cc',
        'native/ebpf/ebpf_ringbuf.cc',
      ],
      'include_dirs': ["<!(node -p \"require('node-addon-api').include_dir\")"],
      'includes': ['node_modules/node-addon-api/except.gypi'],
      'cflags_cc': ['-std=c++17', '-O2', '-Wall', '-Wextra', '-Wno-missing-field-initializers'],
      'cflags_cc!': ['-std=gnu++17', '-std=gnu++1y', '-fno-exceptions'],
      'libraries': ['-lbpf'],
      'ldflags': ['-pthread'],
    },
  ],
}
