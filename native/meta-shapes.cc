// Meta kernels for tests: PyTorch registers many of its meta ("shape only") kernels in Python,
// which C++ libtorch does not load, so from an addon ops like convolution or index_select fail on
// the meta device. metaViaCpu(names) gives each named op a Meta kernel that runs the op on
// zero-filled CPU stand-ins of its meta arguments and returns meta tensors with the results' sizes
// and strides (writes to meta arguments return those arguments, resized as the op resized its
// stand-in). A tensor argument on any other device (but a 0-dim CPU scalar, which libtorch allows
// beside any device) is refused as libtorch's kernels refuse mixed devices, so a job run on meta
// still proves that it never creates a tensor elsewhere. Opt-in and for small test shapes only.
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>
#include <torch/library.h>

#include <memory>
#include <string>
#include <vector>

#include "common.h"
#include "napi_util.h"

namespace tn {
namespace {

void checkDevice(const at::Tensor& t, const c10::OperatorHandle& op) {
  if (!t.defined() || t.is_meta()) return;
  TORCH_CHECK(t.is_cpu() && t.dim() == 0,
              "Expected all tensors to be on the same device, but found at least two devices, meta and ", t.device(),
              " (in ", op.schema().name(), ")");
}

at::Tensor standIn(const at::Tensor& t, const c10::OperatorHandle& op) {
  checkDevice(t, op);
  if (!t.defined() || !t.is_meta()) return t;
  return at::zeros(t.sizes(), t.options().device(c10::kCPU));
}

c10::IValue toCpu(const c10::IValue& v, const c10::OperatorHandle& op) {
  if (v.isTensor()) return standIn(v.toTensor(), op);
  if (v.isTensorList()) {
    std::vector<at::Tensor> out;
    for (const at::Tensor& t : v.toTensorVector()) out.push_back(standIn(t, op));
    return out;
  }
  if (v.isList()) {  // Tensor?[] (e.g. index's indices)
    auto list = v.toList();
    if (list.elementType()->kind() != c10::TypeKind::OptionalType) return v;
    c10::List<c10::optional<at::Tensor>> out;
    for (const c10::IValue& e : list)
      out.push_back(e.isNone() ? c10::optional<at::Tensor>() : c10::optional<at::Tensor>(standIn(e.toTensor(), op)));
    return out;
  }
  return v;
}

at::Tensor metaLike(const at::Tensor& t) {
  if (!t.defined()) return t;
  return at::empty_strided(t.sizes(), t.strides(), t.options().device(c10::kMeta));
}

c10::IValue toMeta(const c10::IValue& v) {
  if (v.isTensor()) return metaLike(v.toTensor());
  if (v.isTensorList()) {
    std::vector<at::Tensor> out;
    for (const at::Tensor& t : v.toTensorVector()) out.push_back(metaLike(t));
    return out;
  }
  return v;
}

void viaCpu(const c10::OperatorHandle& op, torch::jit::Stack* stack) {
  const auto& schema = op.schema();
  const size_t n = schema.arguments().size();
  const size_t base = stack->size() - n;
  std::vector<c10::IValue> original(stack->begin() + base, stack->end());
  for (size_t i = 0; i < n; ++i) (*stack)[base + i] = toCpu(original[i], op);
  {
    at::AutoDispatchBelowADInplaceOrView below;  // the autograd layer already ran for the meta call
    op.callBoxed(stack);
  }
  const auto& returns = schema.returns();
  const size_t m = returns.size();
  for (size_t j = 0; j < m; ++j) {
    c10::IValue& r = (*stack)[stack->size() - m + j];
    const c10::AliasInfo* ra = returns[j].alias_info();
    int written = -1;  // the argument this return is (in-place and out= ops return what they wrote)
    if (ra && ra->isWrite())
      for (size_t i = 0; i < n; ++i)
        if (schema.arguments()[i].alias_info() && *schema.arguments()[i].alias_info() == *ra)
          written = static_cast<int>(i);
    if (written >= 0 && original[written].isTensor()) {
      at::Tensor meta = original[written].toTensor();
      if (r.isTensor() && meta.sizes() != r.toTensor().sizes()) meta.resize_(r.toTensor().sizes());
      r = meta;
    } else {
      r = toMeta(r);
    }
  }
}

std::vector<std::unique_ptr<torch::Library>>& libraries() {
  static std::vector<std::unique_ptr<torch::Library>> libs;
  return libs;
}

}  // namespace

void initMetaShapes(Napi::Env env, Napi::Object exports) {
  // metaViaCpu(['convolution', 'where.self', ...]): registers the stand-in Meta kernel for each op.
  def(env, exports, "metaViaCpu", [](const Napi::CallbackInfo& info) {
    auto names = info[0].As<Napi::Array>();
    auto lib =
        std::make_unique<torch::Library>(torch::Library::IMPL, "aten", c10::DispatchKey::Meta, __FILE__, __LINE__);
    for (uint32_t i = 0; i < names.Length(); ++i) {
      std::string name = names.Get(i).As<Napi::String>().Utf8Value();
      lib->impl(name.c_str(), torch::CppFunction::makeFromBoxedFunction<&viaCpu>());
    }
    libraries().push_back(std::move(lib));
    return info.Env().Undefined();
  });
}

}  // namespace tn
