// def(): registers a function whose C++ exceptions become the right JS exceptions
// (TorchError for libtorch errors, TypeError for bad arguments) instead of escaping.
#pragma once
#include <napi.h>

#include "common.h"

namespace tn {

template <class F>
void def(Napi::Env env, Napi::Object exports, const char* name, F f) {
  exports.Set(name, Napi::Function::New(
                        env,
                        [f, name](const Napi::CallbackInfo& info) -> Napi::Value {
                          try {
                            return f(info);
                          } catch (const Napi::Error&) {
                            throw;
                          } catch (const std::exception& e) {
                            throwJs(info.Env(), e, name);
                            return info.Env().Undefined();
                          }
                        },
                        name));
}

inline double handleArg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsNumber()) throw ArgError("expected a Tensor");
  return info[i].As<Napi::Number>().DoubleValue();
}

inline const at::Tensor& tensorAt(const Napi::CallbackInfo& info, size_t i) {
  return tensors().get(handleArg(info, i));
}

}  // namespace tn
