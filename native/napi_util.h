// def(): registers a function whose C++ exceptions become the right JS exceptions
// (TorchError for libtorch errors, TypeError for bad arguments) instead of escaping.
#pragma once
#include <napi.h>

#include <string>

#include "common.h"

namespace tn {

// `op` names the function in errors (TorchError.op); by default its property name.
template <class F>
void def(Napi::Env env, Napi::Object exports, const char* name, F f, std::string op = {}) {
  if (op.empty()) op = name;
  exports.Set(name, Napi::Function::New(
                        env,
                        [f, op](const Napi::CallbackInfo& info) -> Napi::Value {
                          try {
                            return f(info);
                          } catch (const Napi::Error&) {
                            throw;
                          } catch (const std::exception& e) {
                            throwJs(info.Env(), e, op.c_str());
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
