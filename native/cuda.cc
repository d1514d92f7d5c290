// torch.cuda: devices, synchronisation, the caching allocator's memory figures, seeds, device
// properties. The CUDA half compiles only against a libtorch with CUDA (TN_WITH_CUDA, set by
// CMakeLists.txt and find-libtorch.cjs --defines). Without it, isAvailable/deviceCount give the
// honest answer (false, 0), manualSeedAll seeds the devices there are (none), and every other
// function throws a TorchError saying CUDA is not available: no made-up zeros.
#include <ATen/ATen.h>
#include <ATen/detail/CUDAHooksInterface.h>
#ifdef TN_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>
#endif

#include <cstdio>
#include <string>

#include "common.h"
#include "compat.h"
#include "napi_util.h"

namespace tn {
namespace {

std::string torchVersion() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

int deviceCount() {
  const auto& hooks = at::detail::getCUDAHooks();
  return hooks.hasCUDA() ? hooks.getNumGPUs() : 0;
}

void seedAll(uint64_t seed) {
  for (int i = 0; i < deviceCount(); ++i) {
    auto gen = at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, i));
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_current_seed(seed);
  }
}

#ifdef TN_WITH_CUDA

// libtorch 2.x renamed Context::lazyInitCUDA to lazyInitDevice(kCUDA); call whichever exists.
template <class C>
auto lazyInit(C& ctx, int) -> decltype(ctx.lazyInitDevice(c10::kCUDA), void()) {
  ctx.lazyInitDevice(c10::kCUDA);
}
template <class C>
void lazyInit(C& ctx, long) {
  ctx.lazyInitCUDA();
}

// Throws unless a CUDA device can be used; then makes sure CUDA (and its caching allocator,
// whose statistics we read) is initialised, as PyTorch's torch.cuda functions do lazily.
void requireDevice() {
  TORCH_CHECK(deviceCount() > 0, "CUDA is not available: libtorch ", torchVersion(),
              " has CUDA but no CUDA device is visible (no GPU or driver, or CUDA_VISIBLE_DEVICES hides them)");
  lazyInit(at::globalContext(), 0);
}

// The device argument: undefined/null (the current device), an index, 'cuda' or 'cuda:N'.
int deviceArg(const Napi::Value& v) {
  requireDevice();
  int d;
  if (v.IsUndefined() || v.IsNull()) {
    d = c10::cuda::current_device();
  } else if (v.IsNumber()) {
    d = v.As<Napi::Number>().Int32Value();
  } else if (v.IsString()) {
    std::string s = v.As<Napi::String>();
    c10::Device dev(s);
    TORCH_CHECK(dev.is_cuda(), "expected a CUDA device, got '", s, "'");
    d = dev.has_index() ? dev.index() : c10::cuda::current_device();
  } else {
    throw ArgError("device must be an index, 'cuda' or 'cuda:N'");
  }
  TORCH_CHECK(d >= 0 && d < deviceCount(), "CUDA device ", d, " does not exist: ", deviceCount(),
              " CUDA device(s) visible");
  return d;
}

// StatArray index 0 is StatType::AGGREGATE (all pools) in every libtorch we build against.
c10::cuda::CUDACachingAllocator::DeviceStats stats(int d) {
  return c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(d));
}
double allocated(int d) { return static_cast<double>(stats(d).allocated_bytes[0].current); }
double reserved(int d) { return static_cast<double>(stats(d).reserved_bytes[0].current); }
double peakAllocated(int d) { return static_cast<double>(stats(d).allocated_bytes[0].peak); }

cudaDeviceProp properties(int d) {
  cudaDeviceProp p;
  C10_CUDA_CHECK(cudaGetDeviceProperties(&p, d));
  return p;
}

std::string gib(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

void registerDeviceFunctions(Napi::Env env, Napi::Object c) {
  def(
      env, c, "currentDevice",
      [](const Napi::CallbackInfo& info) {
    requireDevice();
    return Napi::Number::New(info.Env(), c10::cuda::current_device());
      },
      "torch.cuda.currentDevice");
  def(
      env, c, "setDevice",
      [](const Napi::CallbackInfo& info) {
    c10::cuda::set_device(static_cast<c10::DeviceIndex>(deviceArg(info[0])));
    return info.Env().Undefined();
      },
      "torch.cuda.setDevice");
  def(
      env, c, "synchronize",
      [](const Napi::CallbackInfo& info) {
    c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(deviceArg(info[0])));
    c10::cuda::device_synchronize();
    return info.Env().Undefined();
      },
      "torch.cuda.synchronize");
  def(
      env, c, "memoryAllocated",
      [](const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), allocated(deviceArg(info[0]))); },
      "torch.cuda.memoryAllocated");
  def(
      env, c, "memoryReserved",
      [](const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), reserved(deviceArg(info[0]))); },
      "torch.cuda.memoryReserved");
  def(
      env, c, "maxMemoryAllocated",
      [](const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), peakAllocated(deviceArg(info[0]))); },
      "torch.cuda.maxMemoryAllocated");
  def(
      env, c, "resetPeakMemoryStats",
      [](const Napi::CallbackInfo& info) {
    c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(deviceArg(info[0])));
    return info.Env().Undefined();
      },
      "torch.cuda.resetPeakMemoryStats");
  def(
      env, c, "emptyCache",
      [](const Napi::CallbackInfo& info) {
    requireDevice();
    c10::cuda::CUDACachingAllocator::emptyCache();
    return info.Env().Undefined();
      },
      "torch.cuda.emptyCache");
  def(
      env, c, "getDeviceName",
      [](const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), properties(deviceArg(info[0])).name); },
      "torch.cuda.getDeviceName");
  def(
      env, c, "getDeviceCapability",
      [](const Napi::CallbackInfo& info) {
    cudaDeviceProp p = properties(deviceArg(info[0]));
    auto r = Napi::Array::New(info.Env(), 2);
    r.Set(0u, p.major);
    r.Set(1u, p.minor);
    return r;
      },
      "torch.cuda.getDeviceCapability");
}

#else  // no CUDA in this libtorch

void registerDeviceFunctions(Napi::Env env, Napi::Object c) {
  for (const char* name :
       {"currentDevice", "setDevice", "synchronize", "memoryAllocated", "memoryReserved", "maxMemoryAllocated",
        "resetPeakMemoryStats", "emptyCache", "getDeviceName", "getDeviceCapability"}) {
    def(
        env, c, name,
        [](const Napi::CallbackInfo& info) -> Napi::Value {
          TORCH_CHECK(false, "CUDA is not available: this addon was built against libtorch ", torchVersion(),
                      " without CUDA");
          return info.Env().Undefined();
        },
        std::string("torch.cuda.") + name);
  }
}

#endif

}  // namespace

std::string cudaMemoryNote() {
#ifdef TN_WITH_CUDA
  // Called while reporting an error: never throws, and reads nothing when CUDA is not up.
  try {
    std::string s;
    for (int d = 0; d < deviceCount(); ++d)
      s += std::string(s.empty() ? "" : "; ") + "cuda:" + std::to_string(d) + " " + gib(allocated(d)) + " allocated, " +
           gib(reserved(d)) + " reserved";
    return s.empty() ? "" : " [torch.cuda memory now: " + s + "]";
  } catch (...) {
    return "";
  }
#else
  return "";
#endif
}

void initCuda(Napi::Env env, Napi::Object exports) {
  auto c = Napi::Object::New(env);
#ifdef TN_WITH_CUDA
  c.Set("built", true);
#else
  c.Set("built", false);
#endif
  def(
      env, c, "isAvailable",
      [](const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), deviceCount() > 0); },
      "torch.cuda.isAvailable");
  def(
      env, c, "deviceCount",
      [](const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), deviceCount()); },
      "torch.cuda.deviceCount");
  def(
      env, c, "manualSeedAll",
      [](const Napi::CallbackInfo& info) {
    seedAll(seedArg(info[0]));
    return info.Env().Undefined();
      },
      "torch.cuda.manualSeedAll");
  registerDeviceFunctions(env, c);
  exports.Set("cuda", c);
}

}  // namespace tn
