// Module entry: error conversion, dtype/device parsing, threads, RNG and generators, grad mode,
// autocast, and the build/config report.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <ATen/core/grad_mode.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/util/Exception.h>
#include <c10/util/Logging.h>

#include <cstring>
#include <new>

#include "common.h"
#include "compat.h"
#include "napi_util.h"

namespace tn {

// ---- errors --------------------------------------------------------------------------------

static napi_ref g_errorCtor = nullptr;
static napi_ref g_oomCtor = nullptr;

void setErrorClass(napi_env env, napi_value ctor, napi_value oomCtor) {
  for (napi_ref* r : {&g_errorCtor, &g_oomCtor}) {
    if (*r) napi_delete_reference(env, *r);
    *r = nullptr;
  }
  napi_create_reference(env, ctor, 1, &g_errorCtor);
  napi_valuetype t;
  if (oomCtor && napi_typeof(env, oomCtor, &t) == napi_ok && t == napi_function)
    napi_create_reference(env, oomCtor, 1, &g_oomCtor);
}

void throwJs(napi_env env, const std::exception& e, const char* op) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;  // a JS exception is already on its way (e.g. from a Napi::Error)
  if (auto* ae = dynamic_cast<const ArgError*>(&e)) {
    std::string msg = std::string(op) + ": " + ae->what();
    napi_throw_type_error(env, nullptr, msg.c_str());
    return;
  }
  std::string msg;
  if (auto* ce = dynamic_cast<const c10::Error*>(&e)) msg = ce->what_without_backtrace();
  else msg = e.what();
  // Out of memory is an error the caller can act on (smaller batch, free tensors): its own class,
  // with what each CUDA device holds now (the caching allocator's message says it at the failure).
  bool oom = dynamic_cast<const c10::OutOfMemoryError*>(&e) || dynamic_cast<const std::bad_alloc*>(&e);
  if (dynamic_cast<const std::bad_alloc*>(&e)) msg = "out of host memory (" + msg + ")";
  if (oom) msg += cudaMemoryNote();
  napi_value ctor = nullptr, args[2], err;
  napi_ref ref = oom && g_oomCtor ? g_oomCtor : g_errorCtor;
  if (ref) napi_get_reference_value(env, ref, &ctor);
  napi_create_string_utf8(env, msg.data(), msg.size(), &args[0]);
  napi_create_string_utf8(env, op, NAPI_AUTO_LENGTH, &args[1]);
  if (ctor && napi_new_instance(env, ctor, 2, args, &err) == napi_ok) {
    napi_throw(env, err);
  } else {
    napi_throw_error(env, nullptr, (std::string(op) + ": " + msg).c_str());
  }
}

// ---- dtypes and devices --------------------------------------------------------------------

namespace {
struct DtypeName {
  const char* name;
  at::ScalarType type;
};
const DtypeName kDtypes[] = {
    {"float32", at::kFloat},
    {"float64", at::kDouble},
    {"float16", at::kHalf},
    {"bfloat16", at::kBFloat16},
    {"int64", at::kLong},
    {"int32", at::kInt},
    {"int16", at::kShort},
    {"int8", at::kChar},
    {"uint8", at::kByte},
    {"bool", at::kBool},
    {"complex64", at::kComplexFloat},
    {"complex128", at::kComplexDouble},
    // PyTorch's aliases
    {"float", at::kFloat},
    {"double", at::kDouble},
    {"half", at::kHalf},
    {"long", at::kLong},
    {"int", at::kInt},
    {"short", at::kShort},
};
}  // namespace

const char* scalarTypeName(at::ScalarType t) {
  for (const auto& d : kDtypes)
    if (d.type == t) return d.name;
  return c10::toString(t);
}

at::ScalarType scalarTypeFromJs(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_number) {
    int32_t code;
    napi_get_value_int32(env, v, &code);
    if (code < 0 || code >= static_cast<int>(at::ScalarType::NumOptions))
      throw ArgError("unknown dtype code " + std::to_string(code));
    return static_cast<at::ScalarType>(code);
  }
  if (t != napi_string) throw ArgError("dtype must be a string such as 'float32'");
  char buf[32];
  size_t len;
  napi_get_value_string_utf8(env, v, buf, sizeof buf, &len);
  for (const auto& d : kDtypes)
    if (std::strcmp(d.name, buf) == 0) return d.type;
  throw ArgError(std::string("unknown dtype '") + buf +
                 "' (expected float32, float64, float16, bfloat16, int64, int32, int16, int8, "
                 "uint8, bool)");
}

c10::Device deviceFromJs(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_string) throw ArgError("device must be a string such as 'cpu' or 'cuda:0'");
  char buf[64];
  size_t len;
  napi_get_value_string_utf8(env, v, buf, sizeof buf, &len);
  try {
    return c10::Device(std::string(buf, len));
  } catch (const std::exception&) {
    throw ArgError(std::string("unknown device '") + buf + "' (expected 'cpu', 'cuda' or 'cuda:N')");
  }
}

// ---- generators ----------------------------------------------------------------------------

std::vector<at::Generator>& generators() {
  static std::vector<at::Generator> g{at::detail::getDefaultCPUGenerator()};
  return g;
}

at::Generator generatorFromJs(napi_env env, napi_value v) {
  uint32_t idx;
  if (napi_get_value_uint32(env, v, &idx) != napi_ok || idx >= generators().size())
    throw ArgError("generator must be a torch.Generator");
  return generators()[idx];
}

namespace {

bool cudaAvailable() { return at::detail::getCUDAHooks().hasCUDA(); }
int cudaDeviceCount() { return cudaAvailable() ? at::detail::getCUDAHooks().getNumGPUs() : 0; }

void manualSeed(uint64_t seed) {
  {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_current_seed(seed);
  }
  for (int i = 0; i < cudaDeviceCount(); ++i) {
    auto gen = at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, i));
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_current_seed(seed);
  }
}

}  // namespace

uint64_t seedArg(const Napi::Value& v) {
  if (v.IsBigInt()) {
    bool lossless;
    return v.As<Napi::BigInt>().Uint64Value(&lossless);
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (d < 0 || d != static_cast<double>(static_cast<uint64_t>(d)))
    throw ArgError("seed must be a non-negative integer");
  return static_cast<uint64_t>(d);
}

namespace {

// ---- autocast ------------------------------------------------------------------------------

bool autocastEnabled(c10::DeviceType dev) {
#if TORCH_AT_LEAST(2, 4)
  return at::autocast::is_autocast_enabled(dev);
#else
  return dev == c10::kCPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
#endif
}

at::ScalarType autocastDtype(c10::DeviceType dev) {
#if TORCH_AT_LEAST(2, 4)
  return at::autocast::get_autocast_dtype(dev);
#else
  return dev == c10::kCPU ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype();
#endif
}

void setAutocast(c10::DeviceType dev, bool on, at::ScalarType dt) {
#if TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_enabled(dev, on);
  at::autocast::set_autocast_dtype(dev, dt);
#else
  if (dev == c10::kCPU) {
    at::autocast::set_cpu_enabled(on);
    at::autocast::set_autocast_cpu_dtype(dt);
  } else {
    at::autocast::set_enabled(on);
    at::autocast::set_autocast_gpu_dtype(dt);
  }
#endif
}

c10::DeviceType autocastDevice(const Napi::Value& v) {
  std::string s = v.As<Napi::String>();
  if (s == "cpu") return c10::kCPU;
  if (s == "cuda") return c10::kCUDA;
  throw ArgError("autocast device must be 'cpu' or 'cuda', got '" + s + "'");
}

std::string parallelInfo() {
  std::string s = at::get_parallel_info();
  return s;
}

}  // namespace

static void initRuntime(Napi::Env env, Napi::Object exports) {
  def(env, exports, "setErrorClass", [](const Napi::CallbackInfo& info) {
    setErrorClass(info.Env(), info[0], info[1]);
    return info.Env().Undefined();
  });
  def(env, exports, "setNumThreads", [](const Napi::CallbackInfo& info) {
    int n = info[0].As<Napi::Number>().Int32Value();
    if (n < 1) throw ArgError("thread count must be >= 1");
    at::set_num_threads(n);
    return info.Env().Undefined();
  });
  def(env, exports, "getNumThreads",
      [](const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), at::get_num_threads()); });
  def(env, exports, "manualSeed", [](const Napi::CallbackInfo& info) {
    manualSeed(seedArg(info[0]));
    return info.Env().Undefined();
  });
  def(env, exports, "newGenerator", [](const Napi::CallbackInfo& info) {
    std::string dev = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "cpu";
    at::Generator g;
    if (dev == "cpu") {
      g = at::make_generator<at::CPUGeneratorImpl>();
    } else {
      c10::Device d(dev);
      TORCH_CHECK(d.is_cuda(), "generators exist for 'cpu' and 'cuda' devices, not '", dev, "'");
      TORCH_CHECK(cudaAvailable(), "CUDA is not available in this libtorch build");
      g = at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, d.has_index() ? d.index() : 0)).clone();
    }
    generators().push_back(g);
    return Napi::Number::New(info.Env(), generators().size() - 1);
  });
  // defaultGenerator(device): the table index of that device's default generator (the one
  // torch.manual_seed seeds and unseeded random ops draw from); 0 is the CPU's. Shared, not cloned.
  def(env, exports, "defaultGenerator", [](const Napi::CallbackInfo& info) {
    c10::Device d(info[0].As<Napi::String>().Utf8Value());
    if (d.is_cpu()) return Napi::Number::New(info.Env(), 0);
    TORCH_CHECK(d.is_cuda(), "default generators exist for 'cpu' and 'cuda' devices, not '", d.str(), "'");
    TORCH_CHECK(cudaAvailable(), "CUDA is not available in this libtorch build");
    auto g = at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, d.has_index() ? d.index() : 0));
    auto& table = generators();
    for (size_t i = 0; i < table.size(); ++i)
      if (table[i] == g) return Napi::Number::New(info.Env(), static_cast<double>(i));
    table.push_back(g);
    return Napi::Number::New(info.Env(), static_cast<double>(table.size() - 1));
  });
  def(env, exports, "generatorSeed", [](const Napi::CallbackInfo& info) {
    auto g = generatorFromJs(info.Env(), info[0]);
    std::lock_guard<std::mutex> lock(g.mutex());
    if (info.Length() > 1 && !info[1].IsUndefined()) g.set_current_seed(seedArg(info[1]));
    return Napi::BigInt::New(info.Env(), g.current_seed());
  });
  def(env, exports, "generatorGetState", [](const Napi::CallbackInfo& info) {
    auto g = generatorFromJs(info.Env(), info[0]);
    std::lock_guard<std::mutex> lock(g.mutex());
    auto impl = g.get_state();
    return Napi::Number::New(info.Env(), tensors().put(at::Tensor(impl)));
  });
  def(env, exports, "generatorSetState", [](const Napi::CallbackInfo& info) {
    auto g = generatorFromJs(info.Env(), info[0]);
    const at::Tensor& t = tensors().get(info[1].As<Napi::Number>().DoubleValue());
    std::lock_guard<std::mutex> lock(g.mutex());
    g.set_state(t);
    return info.Env().Undefined();
  });
  def(env, exports, "setGradEnabled", [](const Napi::CallbackInfo& info) {
    bool prev = at::GradMode::is_enabled();
    at::GradMode::set_enabled(info[0].As<Napi::Boolean>());
    return Napi::Boolean::New(info.Env(), prev);
  });
  def(env, exports, "isGradEnabled",
      [](const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled()); });
  // autocastEnter(device, enabled, dtype) → [prevEnabled, prevDtype]; autocastExit(device, prev…)
  def(env, exports, "autocastEnter", [](const Napi::CallbackInfo& info) {
    auto dev = autocastDevice(info[0]);
    bool on = info[1].As<Napi::Boolean>();
    at::ScalarType dt = scalarTypeFromJs(info.Env(), info[2]);
    TORCH_CHECK(dev != c10::kCUDA || !on || cudaAvailable(), "autocast('cuda'): CUDA is not available");
    auto prev = Napi::Array::New(info.Env(), 2);
    prev.Set(0u, autocastEnabled(dev));
    prev.Set(1u, scalarTypeName(autocastDtype(dev)));
    setAutocast(dev, on, dt);
    at::autocast::increment_nesting();
    return prev;
  });
  def(env, exports, "autocastExit", [](const Napi::CallbackInfo& info) {
    auto dev = autocastDevice(info[0]);
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    setAutocast(dev, info[1].As<Napi::Boolean>(), scalarTypeFromJs(info.Env(), info[2]));
    return info.Env().Undefined();
  });
  def(env, exports, "autocastState", [](const Napi::CallbackInfo& info) {
    auto dev = autocastDevice(info[0]);
    auto r = Napi::Array::New(info.Env(), 2);
    r.Set(0u, autocastEnabled(dev));
    r.Set(1u, scalarTypeName(autocastDtype(dev)));
    return r;
  });
  def(env, exports, "cudaDeviceCount",
      [](const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), cudaDeviceCount()); });
  // TF32 for CUDA matmul and cuDNN, and cuDNN autotuning (torch.backends.cuda.matmul.allow_tf32,
  // torch.backends.cudnn.allow_tf32 / benchmark). Context flags: settable on any build, they only
  // change CUDA kernels.
  def(env, exports, "setCudaBackendFlags", [](const Napi::CallbackInfo& info) {
    auto& ctx = at::globalContext();
    ctx.setAllowTF32CuBLAS(info[0].As<Napi::Boolean>());
    ctx.setAllowTF32CuDNN(info[1].As<Napi::Boolean>());
    ctx.setBenchmarkCuDNN(info[2].As<Napi::Boolean>());
    return info.Env().Undefined();
  });
  def(env, exports, "cudaBackendFlags", [](const Napi::CallbackInfo& info) {
    auto& ctx = at::globalContext();
    auto o = Napi::Object::New(info.Env());
    o.Set("matmulTf32", ctx.allowTF32CuBLAS());
    o.Set("cudnnTf32", ctx.allowTF32CuDNN());
    o.Set("cudnnBenchmark", ctx.benchmarkCuDNN());
    return o;
  });
  def(env, exports, "config", [](const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto o = Napi::Object::New(env);
    o.Set("torchVersion", std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
                              std::to_string(TORCH_VERSION_PATCH));
    o.Set("cxx11Abi", static_cast<bool>(_GLIBCXX_USE_CXX11_ABI));
    o.Set("threads", at::get_num_threads());
    o.Set("interopThreads", at::get_num_interop_threads());
    o.Set("mkl", at::hasMKL());
    o.Set("mkldnn", at::hasMKLDNN());
    o.Set("openmp", at::hasOpenMP());
    o.Set("lapack", at::hasLAPACK());
    o.Set("cuda", cudaAvailable());
    o.Set("cudaDevices", cudaDeviceCount());
    o.Set("buildConfig", at::show_config());
    o.Set("parallelInfo", parallelInfo());
    return o;
  });
}

}  // namespace tn

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // libtorch 1.13 symbolises a C++ backtrace for every error (~5 ms each); our messages never
  // show it. TORCHNODE_CPP_BACKTRACE=1 keeps it for debugging libtorch itself.
  const char* bt = std::getenv("TORCHNODE_CPP_BACKTRACE");
  if (!bt || std::string(bt) != "1") c10::SetStackTraceFetcher([]() { return std::string(); });
  tn::initAllocator(env, exports);
  tn::initRuntime(env, exports);
  tn::initTensorApi(env, exports);
  tn::initAutograd(env, exports);
  tn::initDispatch(env, exports);
  tn::initDistributed(env, exports);
  tn::initCuda(env, exports);
  tn::initMetaShapes(env, exports);
  return exports;
}

NODE_API_MODULE(torchnode, Init)
