// Shared pieces of the addon: the tensor handle table, error conversion, small N-API helpers.
//
// A JS tensor is a plain object holding a number (its handle), not an ObjectWrap: creating a
// wrapper per result costs ~2 µs, a number costs nothing. The handle packs a slot index and a
// generation, so a handle kept after dispose() is detected instead of reaching another tensor.
#pragma once
#include <ATen/ATen.h>
#include <napi.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace tn {

// Thrown for wrong JS argument types; becomes a JS TypeError.
struct ArgError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class HandleTable {
 public:
  double put(at::Tensor t) {
    uint32_t slot;
    if (!free_.empty()) {
      slot = free_.back();
      free_.pop_back();
      slots_[slot] = std::move(t);
    } else {
      slot = static_cast<uint32_t>(slots_.size());
      slots_.push_back(std::move(t));
      gens_.push_back(1);
    }
    ++live_;
    return static_cast<double>(gens_[slot]) * 4294967296.0 + slot;
  }

  const at::Tensor& get(double h) const {
    uint32_t slot;
    if (!decode(h, &slot)) throw ArgError("Tensor was disposed (or is not a tensor handle)");
    return slots_[slot];
  }

  at::Tensor& getMut(double h) {
    uint32_t slot;
    if (!decode(h, &slot)) throw ArgError("Tensor was disposed (or is not a tensor handle)");
    return slots_[slot];
  }

  // Returns false when the handle was already released (double dispose is harmless).
  bool release(double h) {
    uint32_t slot;
    if (!decode(h, &slot)) return false;
    slots_[slot].reset();
    gens_[slot] = (gens_[slot] + 1) & 0x1FFFFF;  // stay below 2^53 once packed
    if (gens_[slot] == 0) gens_[slot] = 1;
    free_.push_back(slot);
    --live_;
    return true;
  }

  size_t live() const { return live_; }
  template <class F>
  void forEach(F&& f) const {
    for (const auto& t : slots_)
      if (t.defined()) f(t);
  }

 private:
  bool decode(double h, uint32_t* slot) const {
    if (!(h >= 4294967296.0)) return false;
    auto v = static_cast<uint64_t>(h);
    uint32_t s = static_cast<uint32_t>(v & 0xFFFFFFFFu);
    uint32_t g = static_cast<uint32_t>(v >> 32);
    if (s >= slots_.size() || gens_[s] != g || !slots_[s].defined()) return false;
    *slot = s;
    return true;
  }
  std::vector<at::Tensor> slots_;
  std::vector<uint32_t> gens_;
  std::vector<uint32_t> free_;
  size_t live_ = 0;
};

HandleTable& tensors();

// Generators live in their own small table; the handle is the index.
std::vector<at::Generator>& generators();
at::Generator generatorFromJs(napi_env env, napi_value v);

// Converts a C++ exception into a JS exception: ArgError becomes TypeError; out-of-memory
// (c10::OutOfMemoryError, std::bad_alloc) the OutOfMemoryError class, with the CUDA memory figures
// appended; anything else TorchError (with the op name). Never lets the exception escape.
void throwJs(napi_env env, const std::exception& e, const char* op);
void setErrorClass(napi_env env, napi_value ctor, napi_value oomCtor);

// Parses 'float32', 'int64', ... or a numeric c10::ScalarType code.
at::ScalarType scalarTypeFromJs(napi_env env, napi_value v);
c10::Device deviceFromJs(napi_env env, napi_value v);
const char* scalarTypeName(at::ScalarType t);

// A seed from JS: a non-negative integer Number or a BigInt (ArgError otherwise).
uint64_t seedArg(const Napi::Value& v);

// Appended to out-of-memory errors: each CUDA device's allocated and reserved bytes now ("" on
// builds without CUDA or when no device is up). Never throws.
std::string cudaMemoryNote();

// Registers each part's functions on the exports object.
void initTensorApi(Napi::Env env, Napi::Object exports);
void initDispatch(Napi::Env env, Napi::Object exports);
void initAutograd(Napi::Env env, Napi::Object exports);
void initAllocator(Napi::Env env, Napi::Object exports);
void initDistributed(Napi::Env env, Napi::Object exports);
void initCuda(Napi::Env env, Napi::Object exports);
void initMetaShapes(Napi::Env env, Napi::Object exports);

// Reports changes of native tensor memory to V8 (so GC pressure reflects it); cheap to call often.
void syncExternalMemory(napi_env env);

}  // namespace tn
