{
  "targets": [{
    "target_name": "torchnode",
    "sources": [ "<!@(node -e \"console.log(require('fs').readdirSync('native').filter(f=>f.endsWith('.cc')).map(f=>'native/'+f).join(' '))\")" ],
    "include_dirs": [
      "<!(node -p \"require('node-addon-api').include_dir\")",
      "<!@(node scripts/find-libtorch.cjs --include)"
    ],
    "defines": [ "NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL", "<!@(node scripts/find-libtorch.cjs --defines)" ],
    "cflags!": [ "-fno-exceptions", "-fno-rtti" ],
    "cflags_cc!": [ "-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++14" ],
    "cflags_cc": [ "<!@(node scripts/find-libtorch.cjs --cflags)", "-fexceptions", "-frtti", "-idirafter", "<(module_root_dir)/native/shim", "-O2", "-Wno-unused-parameter" ],
    "libraries": [
      "-L<!(node scripts/find-libtorch.cjs --libdir)",
      "-Wl,-rpath,<!(node scripts/find-libtorch.cjs --libdir)",
      "-Wl,--no-as-needed", "<!@(node scripts/find-libtorch.cjs --libs)", "-Wl,--as-needed", "-ldl"
    ]
  }]
}
