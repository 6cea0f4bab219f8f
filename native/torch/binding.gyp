{
  "targets": [
    {
      "target_name": "lia_torch",
      "sources": ["lia_torch.cc", "lia_dist.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node find-torch.cjs --include)"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "<!@(node find-torch.cjs --cflags)", "<!@(node find-torch.cjs --dist-cflags)"],
      "libraries": [
        "-L<!(node find-torch.cjs --libdir)",
        "<!@(node find-torch.cjs --libs)",
        "<!@(node find-torch.cjs --dist-libs)",
        "-Wl,-rpath,<!(node find-torch.cjs --libdir)"
      ]
    }
  ]
}
