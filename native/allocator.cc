// The CPU allocator for tensor storage: tcmalloc (loaded with dlopen, no LD_PRELOAD) behind a
// thin counting layer. glibc malloc fragments badly under tensor churn (RSS grew to GBs with no
// live tensors, see docs/libtorch.md#memory); tcmalloc keeps it flat. The byte count feeds
// torch.memory() and V8's external-memory accounting.
#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "common.h"
#include "compat.h"

namespace tn {
namespace {

using MemalignFn = void* (*)(size_t, size_t);
using FreeFn = void (*)(void*);

std::atomic<int64_t> g_bytes{0};
std::atomic<int64_t> g_peak{0};
std::atomic<int64_t> g_count{0};
MemalignFn g_memalign = nullptr;
FreeFn g_free = nullptr;
const char* g_backend = "libtorch default";

// Each block starts with a 64-byte header holding its size, so frees can be counted and the data
// stays 64-byte aligned as c10 expects.
constexpr size_t kHeader = 64;

void countedFree(void* data) {
  if (!data) return;
  char* base = static_cast<char*>(data) - kHeader;
  size_t n;
  std::memcpy(&n, base, sizeof n);
  g_bytes.fetch_sub(static_cast<int64_t>(n), std::memory_order_relaxed);
  g_count.fetch_sub(1, std::memory_order_relaxed);
  g_free(base);
}

void* systemMemalign(size_t align, size_t n) {
  void* p = nullptr;
  return posix_memalign(&p, align, n) == 0 ? p : nullptr;
}

struct CountingAllocator final : c10::Allocator {
  c10::DataPtr allocate(size_t n) TN_ALLOCATE_CONST override {
    void* base = g_memalign(64, n + kHeader);
    // OutOfMemoryError, as CUDA's allocator throws: JS gets torch.OutOfMemoryError either way.
    TORCH_CHECK_WITH(OutOfMemoryError, base, "CPU out of memory: tried to allocate ", n, " bytes");
    std::memcpy(base, &n, sizeof n);
    int64_t now = g_bytes.fetch_add(static_cast<int64_t>(n), std::memory_order_relaxed) + n;
    g_count.fetch_add(1, std::memory_order_relaxed);
    int64_t peak = g_peak.load(std::memory_order_relaxed);
    while (now > peak && !g_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
    }
    void* data = static_cast<char*>(base) + kHeader;
    return {data, data, &countedFree, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &countedFree; }
#if TN_ALLOCATOR_HAS_COPY_DATA
  void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }
#endif
};

CountingAllocator g_allocator;

void install() {
  const char* want = std::getenv("TORCHNODE_ALLOCATOR");  // "system" opts out of tcmalloc
  if (!want || std::strcmp(want, "system") != 0) {
    for (const char* lib : {"libtcmalloc_minimal.so.4", "libtcmalloc.so.4"}) {
      void* h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
      if (!h) continue;
      auto m = reinterpret_cast<MemalignFn>(dlsym(h, "tc_memalign"));
      auto f = reinterpret_cast<FreeFn>(dlsym(h, "tc_free"));
      if (m && f) {
        g_memalign = m;
        g_free = f;
        g_backend = lib;
        break;
      }
    }
  }
  if (!g_memalign) {
    g_memalign = &systemMemalign;
    g_free = &std::free;
    g_backend = "glibc malloc (install libtcmalloc-minimal4 to avoid fragmentation)";
  }
  c10::SetCPUAllocator(&g_allocator, /*priority=*/100);
}

int64_t g_reported = 0;

}  // namespace

void syncExternalMemory(napi_env env) {
  int64_t now = g_bytes.load(std::memory_order_relaxed);
  int64_t delta = now - g_reported;
  if (delta > (8 << 20) || delta < -(8 << 20)) {
    int64_t ignored;
    napi_adjust_external_memory(env, delta, &ignored);
    g_reported = now;
  }
}

void initAllocator(Napi::Env env, Napi::Object exports) {
  install();
  exports.Set("allocatorStats", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                auto o = Napi::Object::New(info.Env());
                o.Set("bytes", static_cast<double>(g_bytes.load()));
                o.Set("peakBytes", static_cast<double>(g_peak.load()));
                o.Set("blocks", static_cast<double>(g_count.load()));
                o.Set("backend", g_backend);
                return o;
              }));
  exports.Set("resetPeakBytes", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                g_peak.store(g_bytes.load());
                return info.Env().Undefined();
              }));
}

}  // namespace tn
