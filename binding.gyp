# Builds kdp's native addon (native/, see native/README.md) as build/Release/kdp_native.node.
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
  ],
}
