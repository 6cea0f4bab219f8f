// What lia_torch.cc shares with the addon's other compilation units (lia_dist.cc): the tensor
// behind a JavaScript handle, and the hook that adds their functions to the module's exports.
#pragma once
#include <napi.h>
#include <ATen/ATen.h>

namespace lia {
// The libtorch tensor behind a tfjs handle (throws for an unknown or freed handle). Writing into
// it in place changes the tfjs tensor that owns the handle.
const at::Tensor& tensorAt(int64_t handle);
// The device new tensors are made on (the CPU, or the CUDA device of setDevice).
at::Device currentDevice();
// lia_dist.cc: sets exports.dist (torch.distributed bindings, or { available: false, why }).
void registerDistributed(Napi::Env env, Napi::Object exports);
}  // namespace lia
