# Builds kdp's native addon (native/, see native/README.md): one loadable module per facility, all
# in one `node-gyp rebuild`, each into build/Release/<target>.node and loaded through
# dataplane/native/loader.ts by its facility's typed binding. A new facility is a folder under
# native/ and a target here (target_name and sources); the flags below apply to every target.
# native/common/ holds what every binding shares (argument checks, system errors), headers only.
{
  'target_defaults': {
    'include_dirs': ["<!(node -p \"require('node-addon-api').include_dir\")", 'native/common'],
    'includes': ['node_modules/node-addon-api/except.gypi'],
    # C++17, -O2, C++ exceptions on (node-addon-api's except.gypi), node headers from the system.
    'cflags_cc': ['-std=c++17', '-O2', '-Wall', '-Wextra', '-Wno-missing-field-initializers'],
    'cflags_cc!': ['-std=gnu++17', '-std=gnu++1y', '-fno-exceptions'],
    'ldflags': ['-pthread'],
  },
  'targets': [
    {
      # The udp overlay backend's TUN<->UDP engines (dataplane/overlay/backends/udp/native-binding.ts).
      'target_name': 'kdp_overlay',
      'sources': [
        'native/overlay/binding.cc',
        'native/overlay/binding_args.cc',
        'native/overlay/binding_testing.cc',
        'native/overlay/tun.cc',
        'native/overlay/udp.cc',
        'native/overlay/packet.cc',
        'native/overlay/route_table.cc',
        'native/overlay/offload.cc',
        'native/overlay/engine_baseline.cc',
        'native/overlay/engine_batched.cc',
        'native/overlay/send_batch.cc',
        'native/overlay/batch_process.cc',
      ],
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
      'libraries': ['-lbpf'],
    },
  ],
}
