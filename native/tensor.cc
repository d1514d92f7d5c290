// Tensor handles: creation from JS buffers, reading data back, metadata, disposal, memory
// accounting, and autograd (backward, grad, torch.autograd.grad).
#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/csrc/autograd/function.h>

#include <cstring>
#include <unordered_set>

#include "common.h"
#include "napi_util.h"

namespace tn {

HandleTable& tensors() {
  static HandleTable t;
  return t;
}

namespace {

napi_value num(napi_env env, double d) {
  napi_value r;
  napi_create_double(env, d, &r);
  return r;
}

// free(handle): the hot path of dispose() and scopes, so raw N-API.
napi_value Free(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr);
  double h = 0;
  napi_get_value_double(env, argv[0], &h);
  bool ok = tensors().release(h);
  napi_value r;
  napi_get_boolean(env, ok, &r);
  return r;
}

std::vector<int64_t> shapeArg(const Napi::Value& v) {
  if (!v.IsArray()) throw ArgError("shape must be an array of integers");
  auto a = v.As<Napi::Array>();
  std::vector<int64_t> s(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value e = a.Get(i);
    if (!e.IsNumber()) throw ArgError("shape must be an array of integers");
    double d = e.As<Napi::Number>().DoubleValue();
    if (d < 0 || d != static_cast<double>(static_cast<int64_t>(d)))
      throw ArgError("shape entries must be non-negative integers, got " + std::to_string(d));
    s[i] = static_cast<int64_t>(d);
  }
  return s;
}

Napi::Array intArray(Napi::Env env, c10::IntArrayRef xs) {
  auto a = Napi::Array::New(env, xs.size());
  for (size_t i = 0; i < xs.size(); ++i) a.Set(static_cast<uint32_t>(i), static_cast<double>(xs[i]));
  return a;
}

// fromBuffer(typedArrayOrArrayBuffer, shape, dtype): copies the bytes into a new CPU tensor.
Napi::Value FromBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint8_t* data;
  size_t bytes;
  if (info[0].IsTypedArray()) {
    auto ta = info[0].As<Napi::TypedArray>();
    data = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    bytes = ta.ByteLength();
  } else if (info[0].IsArrayBuffer()) {
    auto ab = info[0].As<Napi::ArrayBuffer>();
    data = static_cast<const uint8_t*>(ab.Data());
    bytes = ab.ByteLength();
  } else if (info[0].IsBuffer()) {
    auto b = info[0].As<Napi::Buffer<uint8_t>>();
    data = b.Data();
    bytes = b.Length();
  } else {
    throw ArgError("data must be a TypedArray, Buffer or ArrayBuffer");
  }
  auto shape = shapeArg(info[1]);
  at::ScalarType dt = scalarTypeFromJs(env, info[2]);
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dt));
  size_t need = t.numel() * t.element_size();
  if (need != bytes)
    throw ArgError("data has " + std::to_string(bytes) + " bytes but shape " + c10::str(t.sizes()) + " of " +
                   scalarTypeName(dt) + " needs " + std::to_string(need));
  if (bytes) std::memcpy(t.data_ptr(), data, bytes);
  syncExternalMemory(env);
  return Napi::Number::New(env, tensors().put(std::move(t)));
}

// toBuffer(handle, dtype?): a fresh ArrayBuffer with the tensor's elements (CPU, contiguous,
// optionally converted to dtype first).
Napi::Value ToBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor t = tensorAt(info, 0);
  if (info.Length() > 1 && !info[1].IsUndefined()) t = t.to(scalarTypeFromJs(env, info[1]));
  t = t.detach().to(c10::kCPU).contiguous();
  size_t bytes = t.numel() * t.element_size();
  auto ab = Napi::ArrayBuffer::New(env, bytes);
  if (bytes) std::memcpy(ab.Data(), t.data_ptr(), bytes);
  return ab;
}

Napi::Value Item(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const at::Tensor& t = tensorAt(info, 0);
  TORCH_CHECK(t.numel() == 1, "a Tensor with ", t.numel(), " elements cannot be converted to a number");
  at::Scalar s = t.item();
  if (s.isBoolean()) return Napi::Boolean::New(env, s.toBool());
  if (s.isIntegral(false)) return Napi::Number::New(env, static_cast<double>(s.toLong()));
  return Napi::Number::New(env, s.toDouble());
}

std::string deviceString(const at::Tensor& t) { return t.device().str(); }

// Bytes held by live tensors, each storage counted once (views share one).
Napi::Value Memory(const Napi::CallbackInfo& info) {
  std::unordered_set<const void*> seen;
  double bytes = 0;
  tensors().forEach([&](const at::Tensor& t) {
    if (!t.has_storage()) return;
    const auto& st = t.storage();
    if (seen.insert(st.unsafeGetStorageImpl()).second) bytes += static_cast<double>(st.nbytes());
  });
  auto o = Napi::Object::New(info.Env());
  o.Set("liveTensors", static_cast<double>(tensors().live()));
  o.Set("liveStorages", static_cast<double>(seen.size()));
  o.Set("liveBytes", bytes);
  return o;
}

// ---- autograd ------------------------------------------------------------------------------

std::vector<at::Tensor> tensorList(const Napi::Value& v) {
  std::vector<at::Tensor> out;
  if (v.IsUndefined() || v.IsNull()) return out;
  auto a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value e = a.Get(i);
    if (e.IsNull() || e.IsUndefined()) out.emplace_back();
    else out.push_back(tensors().get(e.As<Napi::Number>().DoubleValue()));
  }
  return out;
}

Napi::Value Backward(const Napi::CallbackInfo& info) {
  const at::Tensor& t = tensorAt(info, 0);
  at::Tensor grad;
  if (info[1].IsNumber()) grad = tensorAt(info, 1);
  bool retain = info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
  bool create = info[3].IsBoolean() && info[3].As<Napi::Boolean>().Value();
  std::vector<at::Tensor> inputs = tensorList(info[4]);
  TORCH_CHECK(t.requires_grad(), "element 0 of tensors does not require grad and does not have a grad_fn");
  if (!grad.defined())
    TORCH_CHECK(t.numel() == 1, "grad can be implicitly created only for scalar outputs (shape ", t.sizes(), ")");
  torch::autograd::backward({t}, {grad}, retain ? c10::optional<bool>(true) : c10::optional<bool>(), create, inputs);
  return info.Env().Undefined();
}

Napi::Value Grad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto outputs = tensorList(info[0]);
  auto inputs = tensorList(info[1]);
  auto gradOutputs = tensorList(info[2]);
  bool retain = info[3].IsBoolean() && info[3].As<Napi::Boolean>().Value();
  bool create = info[4].IsBoolean() && info[4].As<Napi::Boolean>().Value();
  bool allowUnused = info[5].IsBoolean() && info[5].As<Napi::Boolean>().Value();
  if (gradOutputs.empty()) gradOutputs.resize(outputs.size());
  auto grads =
      torch::autograd::grad(outputs, inputs, gradOutputs,
                            retain || create ? c10::optional<bool>(true) : c10::optional<bool>(), create, allowUnused);
  auto arr = Napi::Array::New(env, grads.size());
  for (size_t i = 0; i < grads.size(); ++i) {
    if (grads[i].defined()) arr.Set(static_cast<uint32_t>(i), tensors().put(grads[i]));
    else arr.Set(static_cast<uint32_t>(i), env.Null());
  }
  return arr;
}

}  // namespace

void initTensorApi(Napi::Env env, Napi::Object exports) {
  napi_value fn;
  napi_create_function(env, "free", NAPI_AUTO_LENGTH, Free, nullptr, &fn);
  exports.Set("free", Napi::Value(env, fn));
  def(env, exports, "fromBuffer", FromBuffer);
  def(env, exports, "toBuffer", ToBuffer);
  def(env, exports, "item", Item);
  def(env, exports, "memory", Memory);
  def(env, exports, "isValid", [](const Napi::CallbackInfo& info) {
    try {
      tensors().get(info[0].As<Napi::Number>().DoubleValue());
      return Napi::Boolean::New(info.Env(), true);
    } catch (const ArgError&) {
      return Napi::Boolean::New(info.Env(), false);
    }
  });
  def(env, exports, "shape",
      [](const Napi::CallbackInfo& info) { return intArray(info.Env(), tensorAt(info, 0).sizes()); });
  def(env, exports, "strides",
      [](const Napi::CallbackInfo& info) { return intArray(info.Env(), tensorAt(info, 0).strides()); });
  def(env, exports, "dim", [](const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(tensorAt(info, 0).dim()));
  });
  def(env, exports, "numel", [](const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(tensorAt(info, 0).numel()));
  });
  def(env, exports, "dtype", [](const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), scalarTypeName(tensorAt(info, 0).scalar_type()));
  });
  def(env, exports, "device",
      [](const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), deviceString(tensorAt(info, 0))); });
  def(env, exports, "storageOffset", [](const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(tensorAt(info, 0).storage_offset()));
  });
  def(env, exports, "isContiguous",
      [](const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), tensorAt(info, 0).is_contiguous()); });
  def(env, exports, "sameStorage", [](const Napi::CallbackInfo& info) {
    const at::Tensor& a = tensorAt(info, 0);
    const at::Tensor& b = tensorAt(info, 1);
    return Napi::Boolean::New(info.Env(), a.has_storage() && b.has_storage() &&
                                              a.storage().unsafeGetStorageImpl() == b.storage().unsafeGetStorageImpl());
  });
  def(env, exports, "requiresGrad",
      [](const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), tensorAt(info, 0).requires_grad()); });
  def(env, exports, "setRequiresGrad", [](const Napi::CallbackInfo& info) {
    at::Tensor t = tensorAt(info, 0);
    bool wanted = info[1].As<Napi::Boolean>();
    if (!t.is_leaf()) {
      // As PyTorch: a non-leaf's flag comes from its graph; only asking to keep it is allowed.
      TORCH_CHECK(
          wanted,
          "you can only change requires_grad flags of leaf variables. If you want to use a "
          "computed variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach().");
      return info.Env().Undefined();
    }
    t.set_requires_grad(wanted);
    return info.Env().Undefined();
  });
  def(env, exports, "isLeaf",
      [](const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), tensorAt(info, 0).is_leaf()); });
  def(env, exports, "gradFn", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const auto& fn = tensorAt(info, 0).grad_fn();  // null for leaves
    if (!fn) return info.Env().Null();
    return Napi::String::New(info.Env(), fn->name());
  });
  def(env, exports, "retainGrad", [](const Napi::CallbackInfo& info) {
    tensorAt(info, 0).retain_grad();
    return info.Env().Undefined();
  });
  def(env, exports, "grad", [](const Napi::CallbackInfo& info) -> Napi::Value {
    const at::Tensor& g = tensorAt(info, 0).grad();
    if (!g.defined()) return info.Env().Null();
    return Napi::Number::New(info.Env(), tensors().put(g));
  });
  def(env, exports, "setGrad", [](const Napi::CallbackInfo& info) {
    at::Tensor t = tensorAt(info, 0);
    if (info[1].IsNumber()) {
      const at::Tensor& g = tensorAt(info, 1);
      // The checks PyTorch makes when .grad is assigned.
      TORCH_CHECK(g.sizes() == t.sizes(), "assigned grad has data of a different size: ", g.sizes(),
                  " vs the tensor's ", t.sizes());
      TORCH_CHECK(g.scalar_type() == t.scalar_type(), "assigned grad has data of a different type: ", g.scalar_type(),
                  " vs the tensor's ", t.scalar_type());
      TORCH_CHECK(g.device() == t.device(), "assigned grad has data located on a different device");
      t.mutable_grad() = g;
    } else t.mutable_grad().reset();
    return info.Env().Undefined();
  });
}

void initAutograd(Napi::Env env, Napi::Object exports) {
  def(env, exports, "backward", Backward);
  def(env, exports, "autogradGrad", Grad);
}

}  // namespace tn
