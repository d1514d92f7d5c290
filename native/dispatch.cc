// Calls any operator of the linked libtorch by name through the c10 dispatcher (boxed calls).
//
// JS resolves an op once (resolveOp → index, plus its parsed schema), then calls
// call(index, ...args) with plain values: tensors as handles, lists as arrays, dtypes as strings.
// The schema says how to read each argument, so no type tags cross the boundary.
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/function_schema.h>
#include <ATen/core/jit_type.h>

#include <cmath>
#include <unordered_map>

#include "common.h"

namespace tn {
namespace {

enum class Kind : uint8_t {
  Tensor,
  Int,
  Float,
  Bool,
  Scalar,
  Str,
  ScalarType,
  Layout,
  MemoryFormat,
  Device,
  Generator,
  IntList,
  FloatList,
  BoolList,
  TensorList,
  OptTensorList,
  ScalarList,
  Unsupported
};

const char* kindName(Kind k) {
  static const char* names[] = {"Tensor",     "int",    "float",        "bool",      "Scalar",    "str",
                                "ScalarType", "Layout", "MemoryFormat", "Device",    "Generator", "int[]",
                                "float[]",    "bool[]", "Tensor[]",     "Tensor?[]", "Scalar[]",  "unsupported"};
  return names[static_cast<int>(k)];
}

struct ArgInfo {
  std::string name;
  std::string type;  // as the schema writes it
  Kind kind;
  bool optional;
  bool kwOnly;
  int n;  // fixed list length (int[2]), 0 if none
  c10::optional<c10::IValue> def;
};

struct RetInfo {
  std::string type;
  int aliasArg;  // index of the argument this return writes into and aliases, or -1
};

struct OpInfo {
  explicit OpInfo(c10::OperatorHandle h) : handle(std::move(h)) {}
  c10::OperatorHandle handle;
  std::string fullName;
  std::vector<ArgInfo> args;
  std::vector<RetInfo> rets;
};

std::vector<OpInfo>& ops() {
  static std::vector<OpInfo> v;
  return v;
}
std::unordered_map<std::string, uint32_t>& opIndex() {
  static std::unordered_map<std::string, uint32_t> m;
  return m;
}

Kind scalarKind(const c10::TypePtr& t) {
  switch (t->kind()) {
    case c10::TypeKind::TensorType:
      return Kind::Tensor;
    case c10::TypeKind::IntType:
      return Kind::Int;
    case c10::TypeKind::FloatType:
      return Kind::Float;
    case c10::TypeKind::BoolType:
      return Kind::Bool;
    case c10::TypeKind::NumberType:
      return Kind::Scalar;
    case c10::TypeKind::StringType:
      return Kind::Str;
    case c10::TypeKind::ScalarTypeType:
      return Kind::ScalarType;
    case c10::TypeKind::LayoutType:
      return Kind::Layout;
    case c10::TypeKind::MemoryFormatType:
      return Kind::MemoryFormat;
    case c10::TypeKind::DeviceObjType:
      return Kind::Device;
    case c10::TypeKind::GeneratorType:
      return Kind::Generator;
    default:
      break;
  }
  const std::string s = t->str();
  if (s == "SymInt") return Kind::Int;
  if (s == "SymFloat") return Kind::Float;
  return Kind::Unsupported;
}

void classify(const c10::TypePtr& type, Kind* kind, bool* optional) {
  c10::TypePtr t = type;
  *optional = false;
  if (t->kind() == c10::TypeKind::OptionalType) {
    *optional = true;
    t = t->expectRef<c10::OptionalType>().getElementType();
  }
  if (t->kind() == c10::TypeKind::ListType) {
    c10::TypePtr e = t->expectRef<c10::ListType>().getElementType();
    if (e->kind() == c10::TypeKind::OptionalType) {
      auto inner = e->expectRef<c10::OptionalType>().getElementType();
      *kind = inner->kind() == c10::TypeKind::TensorType ? Kind::OptTensorList : Kind::Unsupported;
      return;
    }
    switch (scalarKind(e)) {
      case Kind::Int:
        *kind = Kind::IntList;
        return;
      case Kind::Float:
        *kind = Kind::FloatList;
        return;
      case Kind::Bool:
        *kind = Kind::BoolList;
        return;
      case Kind::Tensor:
        *kind = Kind::TensorList;
        return;
      case Kind::Scalar:
        *kind = Kind::ScalarList;
        return;
      default:
        *kind = Kind::Unsupported;
        return;
    }
  }
  *kind = scalarKind(t);
}

uint32_t addOp(const c10::OperatorHandle& h) {
  const c10::FunctionSchema& s = h.schema();
  OpInfo info(h);
  info.fullName = s.name() + (s.overload_name().empty() ? "" : "." + s.overload_name());
  for (const auto& a : s.arguments()) {
    ArgInfo ai;
    ai.name = a.name();
    ai.type = a.real_type()->str();
    classify(a.real_type(), &ai.kind, &ai.optional);
    ai.kwOnly = a.kwarg_only();
    ai.n = a.N() ? static_cast<int>(*a.N()) : 0;
    ai.def = a.default_value();
    info.args.push_back(std::move(ai));
  }
  for (const auto& r : s.returns()) {
    RetInfo ri{r.type()->str(), -1};
    if (r.alias_info() && r.alias_info()->isWrite()) {
      for (size_t i = 0; i < s.arguments().size(); ++i) {
        const auto* ai = s.arguments()[i].alias_info();
        if (ai && ai->isWrite() && ai->beforeSets() == r.alias_info()->beforeSets()) {
          ri.aliasArg = static_cast<int>(i);
          break;
        }
      }
    }
    info.rets.push_back(std::move(ri));
  }
  ops().push_back(std::move(info));
  return static_cast<uint32_t>(ops().size() - 1);
}

// ---- JS → IValue ---------------------------------------------------------------------------

napi_valuetype typeOf(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  return t;
}

[[noreturn]] void badArg(const ArgInfo& a, const char* want, napi_valuetype got) {
  static const char* names[] = {"undefined", "null",   "boolean",  "number",   "string",
                                "symbol",    "object", "function", "external", "bigint"};
  throw ArgError("argument '" + a.name + "' (" + a.type + ") must be " + want + ", got " +
                 names[static_cast<int>(got)]);
}

double number(napi_env env, napi_value v, const ArgInfo& a) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) badArg(a, "a number", typeOf(env, v));
  return d;
}

int64_t integer(napi_env env, napi_value v, const ArgInfo& a) {
  napi_valuetype t = typeOf(env, v);
  if (t == napi_bigint) {
    int64_t i;
    bool lossless;
    napi_get_value_bigint_int64(env, v, &i, &lossless);
    return i;
  }
  if (t != napi_number) badArg(a, "an integer", t);
  double d;
  napi_get_value_double(env, v, &d);
  if (d != std::floor(d) || !std::isfinite(d))
    throw ArgError("argument '" + a.name + "' (" + a.type + ") must be an integer, got " + std::to_string(d));
  if (d >= 9223372036854775808.0 || d < -9223372036854775808.0)
    throw ArgError("argument '" + a.name + "' (" + a.type + ") is out of the int64 range: " + std::to_string(d));
  return static_cast<int64_t>(d);
}

bool boolean(napi_env env, napi_value v, const ArgInfo& a) {
  bool b;
  if (napi_get_value_bool(env, v, &b) != napi_ok) badArg(a, "a boolean", typeOf(env, v));
  return b;
}

at::Scalar scalar(napi_env env, napi_value v, const ArgInfo& a) {
  napi_valuetype t = typeOf(env, v);
  if (t == napi_boolean) return at::Scalar(boolean(env, v, a));
  if (t == napi_bigint) return at::Scalar(integer(env, v, a));
  if (t != napi_number) badArg(a, "a number", t);
  double d;
  napi_get_value_double(env, v, &d);
  // JS has one number type: integral values act as Python ints (they keep integer dtypes).
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9007199254740992.0)
    return at::Scalar(static_cast<int64_t>(d));
  return at::Scalar(d);
}

const at::Tensor& tensorArg(napi_env env, napi_value v, const ArgInfo& a) {
  double h;
  if (napi_get_value_double(env, v, &h) != napi_ok) badArg(a, "a Tensor", typeOf(env, v));
  return tensors().get(h);
}

template <class F>
void forEachElement(napi_env env, napi_value v, const ArgInfo& a, F&& f) {
  bool isArray = false;
  napi_is_array(env, v, &isArray);
  if (!isArray) badArg(a, "an array", typeOf(env, v));
  uint32_t n;
  napi_get_array_length(env, v, &n);
  for (uint32_t i = 0; i < n; ++i) {
    napi_value e;
    napi_get_element(env, v, i, &e);
    f(e);
  }
}

int64_t enumArg(napi_env env, napi_value v, const ArgInfo& a,
                std::initializer_list<std::pair<const char*, int64_t>> names) {
  if (typeOf(env, v) == napi_number) return integer(env, v, a);
  if (typeOf(env, v) != napi_string) badArg(a, "a string", typeOf(env, v));
  char buf[64];
  size_t len;
  napi_get_value_string_utf8(env, v, buf, sizeof buf, &len);
  for (const auto& p : names)
    if (std::strcmp(p.first, buf) == 0) return p.second;
  throw ArgError("argument '" + a.name + "': unknown " + a.type + " '" + buf + "'");
}

c10::IValue toIValue(napi_env env, napi_value v, const ArgInfo& a) {
  napi_valuetype t = typeOf(env, v);
  if (t == napi_undefined) {
    if (a.def) return *a.def;
    if (a.optional) return c10::IValue();
    // A Tensor method given a non-tensor passes `x._h`, i.e. undefined.
    if (a.kind == Kind::Tensor) badArg(a, "a Tensor", t);
    throw ArgError("missing argument '" + a.name + "' (" + a.type + ")");
  }
  if (t == napi_null) {
    if (a.optional) return c10::IValue();
    badArg(a, kindName(a.kind), t);
  }
  switch (a.kind) {
    case Kind::Tensor:
      return tensorArg(env, v, a);
    case Kind::Int:
      return integer(env, v, a);
    case Kind::Float:
      return number(env, v, a);
    case Kind::Bool:
      return boolean(env, v, a);
    case Kind::Scalar:
      return scalar(env, v, a);
    case Kind::Str: {
      if (t != napi_string) badArg(a, "a string", t);
      size_t len;
      napi_get_value_string_utf8(env, v, nullptr, 0, &len);
      std::string s(len, '\0');
      napi_get_value_string_utf8(env, v, &s[0], len + 1, &len);
      return s;
    }
    case Kind::ScalarType:
      return static_cast<int64_t>(scalarTypeFromJs(env, v));
    case Kind::Layout:
      return enumArg(
          env, v, a,
          {{"strided", static_cast<int64_t>(at::kStrided)}, {"sparse_coo", static_cast<int64_t>(at::kSparse)}});
    case Kind::MemoryFormat:
      return enumArg(env, v, a,
                     {{"contiguous_format", static_cast<int64_t>(at::MemoryFormat::Contiguous)},
                      {"preserve_format", static_cast<int64_t>(at::MemoryFormat::Preserve)},
                      {"channels_last", static_cast<int64_t>(at::MemoryFormat::ChannelsLast)},
                      {"channels_last_3d", static_cast<int64_t>(at::MemoryFormat::ChannelsLast3d)}});
    case Kind::Device:
      return deviceFromJs(env, v);
    case Kind::Generator:
      return generatorFromJs(env, v);
    case Kind::IntList: {
      std::vector<int64_t> xs;
      if (t == napi_number) xs.assign(a.n > 0 ? a.n : 1, integer(env, v, a));
      else forEachElement(env, v, a, [&](napi_value e) { xs.push_back(integer(env, e, a)); });
      return c10::List<int64_t>(xs);
    }
    case Kind::FloatList: {
      std::vector<double> xs;
      if (t == napi_number) xs.assign(a.n > 0 ? a.n : 1, number(env, v, a));
      else forEachElement(env, v, a, [&](napi_value e) { xs.push_back(number(env, e, a)); });
      return c10::List<double>(xs);
    }
    case Kind::BoolList: {
      std::vector<bool> xs;
      if (t == napi_boolean) xs.assign(a.n > 0 ? a.n : 1, boolean(env, v, a));
      else forEachElement(env, v, a, [&](napi_value e) { xs.push_back(boolean(env, e, a)); });
      c10::List<bool> l;
      for (bool b : xs) l.push_back(b);
      return l;
    }
    case Kind::TensorList: {
      c10::List<at::Tensor> l;
      forEachElement(env, v, a, [&](napi_value e) { l.push_back(tensorArg(env, e, a)); });
      return l;
    }
    case Kind::OptTensorList: {
      c10::List<c10::optional<at::Tensor>> l;
      forEachElement(env, v, a, [&](napi_value e) {
        napi_valuetype et = typeOf(env, e);
        if (et == napi_null || et == napi_undefined) l.push_back(c10::nullopt);
        else l.push_back(tensorArg(env, e, a));
      });
      return l;
    }
    case Kind::ScalarList: {
      std::vector<at::Scalar> xs;
      forEachElement(env, v, a, [&](napi_value e) { xs.push_back(scalar(env, e, a)); });
      return c10::List<at::Scalar>(xs);
    }
    case Kind::Unsupported:
      break;
  }
  throw ArgError("argument '" + a.name + "' has type " + a.type + ", which cannot be passed from JavaScript");
}

// ---- IValue → JS ---------------------------------------------------------------------------

napi_value num(napi_env env, double d) {
  napi_value r;
  napi_create_double(env, d, &r);
  return r;
}

napi_value fromIValue(napi_env env, c10::IValue&& v) {
  napi_value r;
  if (v.isTensor()) {
    at::Tensor t = std::move(v).toTensor();
    if (!t.defined()) {
      napi_get_null(env, &r);
      return r;
    }
    return num(env, tensors().put(std::move(t)));
  }
  if (v.isNone()) {
    napi_get_null(env, &r);
    return r;
  }
  if (v.isInt()) return num(env, static_cast<double>(v.toInt()));
  if (v.isDouble()) return num(env, v.toDouble());
  if (v.isBool()) {
    napi_get_boolean(env, v.toBool(), &r);
    return r;
  }
  if (v.isString()) {
    const auto& s = v.toStringRef();
    napi_create_string_utf8(env, s.data(), s.size(), &r);
    return r;
  }
  if (v.isTensorList()) {
    auto l = v.toTensorVector();
    napi_create_array_with_length(env, l.size(), &r);
    for (size_t i = 0; i < l.size(); ++i) napi_set_element(env, r, i, num(env, tensors().put(l[i])));
    return r;
  }
  if (v.isIntList()) {
    auto l = v.toIntVector();
    napi_create_array_with_length(env, l.size(), &r);
    for (size_t i = 0; i < l.size(); ++i) napi_set_element(env, r, i, num(env, l[i]));
    return r;
  }
  if (v.isDoubleList()) {
    auto l = v.toDoubleVector();
    napi_create_array_with_length(env, l.size(), &r);
    for (size_t i = 0; i < l.size(); ++i) napi_set_element(env, r, i, num(env, l[i]));
    return r;
  }
  if (v.isScalar()) {
    at::Scalar s = v.toScalar();
    if (s.isBoolean()) {
      napi_get_boolean(env, s.toBool(), &r);
      return r;
    }
    return num(env, s.toDouble());
  }
  throw std::runtime_error(std::string("cannot return a value of type ") + v.tagKind() + " to JavaScript");
}

// ---- N-API entry points --------------------------------------------------------------------

constexpr size_t kMaxArgs = 48;

napi_value Call(napi_env env, napi_callback_info cbinfo) {
  size_t argc = kMaxArgs;
  napi_value argv[kMaxArgs];
  napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr);
  uint32_t idx = 0;
  if (argc == 0 || napi_get_value_uint32(env, argv[0], &idx) != napi_ok || idx >= ops().size()) {
    napi_throw_type_error(env, nullptr, "call(op, ...args): op must be an index from resolveOp");
    return nullptr;
  }
  const OpInfo& op = ops()[idx];
  static std::vector<c10::IValue> stack;  // reused: no allocation per call
  try {
    if (argc - 1 > op.args.size())
      throw ArgError(op.fullName + " takes " + std::to_string(op.args.size()) + " arguments, got " +
                     std::to_string(argc - 1));
    napi_value undef;
    napi_get_undefined(env, &undef);
    stack.clear();
    for (size_t i = 0; i < op.args.size(); ++i)
      stack.push_back(toIValue(env, i + 1 < argc ? argv[i + 1] : undef, op.args[i]));
    op.handle.callBoxed(stack);
    syncExternalMemory(env);
    napi_value result;
    if (op.rets.empty()) {
      napi_get_undefined(env, &result);
    } else if (op.rets.size() == 1) {
      if (op.rets[0].aliasArg >= 0) napi_get_undefined(env, &result);
      else result = fromIValue(env, std::move(stack[0]));
    } else {
      napi_create_array_with_length(env, op.rets.size(), &result);
      for (size_t i = 0; i < op.rets.size(); ++i) {
        napi_value e;
        if (op.rets[i].aliasArg >= 0) napi_get_undefined(env, &e);
        else e = fromIValue(env, std::move(stack[i]));
        napi_set_element(env, result, i, e);
      }
    }
    stack.clear();
    return result;
  } catch (const std::exception& e) {
    stack.clear();
    throwJs(env, e, op.fullName.c_str());
    return nullptr;
  }
}

Napi::Value ResolveOp(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>();
  std::string overload = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  if (name.find("::") == std::string::npos) name = "aten::" + name;
  std::string key = name + "." + overload;
  auto it = opIndex().find(key);
  if (it != opIndex().end()) return Napi::Number::New(info.Env(), it->second);
  auto h = c10::Dispatcher::singleton().findSchema({name, overload});
  if (!h) return Napi::Number::New(info.Env(), -1);
  uint32_t idx = addOp(*h);
  opIndex()[key] = idx;
  return Napi::Number::New(info.Env(), idx);
}

Napi::Value OpSchema(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t idx = info[0].As<Napi::Number>().Uint32Value();
  if (idx >= ops().size()) throw Napi::RangeError::New(env, "no such op index");
  const OpInfo& op = ops()[idx];
  auto o = Napi::Object::New(env);
  o.Set("name", op.fullName);
  std::ostringstream ss;
  ss << op.handle.schema();
  o.Set("schema", ss.str());
  auto args = Napi::Array::New(env, op.args.size());
  for (size_t i = 0; i < op.args.size(); ++i) {
    const ArgInfo& a = op.args[i];
    auto ao = Napi::Object::New(env);
    ao.Set("name", a.name);
    ao.Set("type", a.type);
    ao.Set("kind", kindName(a.kind));
    ao.Set("optional", a.optional);
    ao.Set("kwOnly", a.kwOnly);
    ao.Set("hasDefault", a.def.has_value());
    args.Set(i, ao);
  }
  o.Set("args", args);
  auto rets = Napi::Array::New(env, op.rets.size());
  for (size_t i = 0; i < op.rets.size(); ++i) {
    auto ro = Napi::Object::New(env);
    ro.Set("type", op.rets[i].type);
    ro.Set("aliasArg", op.rets[i].aliasArg);
    rets.Set(i, ro);
  }
  o.Set("returns", rets);
  return o;
}

Napi::Value ListOps(const Napi::CallbackInfo& info) {
  auto names = c10::Dispatcher::singleton().getAllOpNames();
  auto arr = Napi::Array::New(info.Env(), names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    arr.Set(i, names[i].name + (names[i].overload_name.empty() ? "" : "." + names[i].overload_name));
  }
  return arr;
}

}  // namespace

void initDispatch(Napi::Env env, Napi::Object exports) {
  napi_value fn;
  napi_create_function(env, "call", NAPI_AUTO_LENGTH, Call, nullptr, &fn);
  exports.Set("call", Napi::Value(env, fn));
  exports.Set("resolveOp", Napi::Function::New(env, ResolveOp));
  exports.Set("opSchema", Napi::Function::New(env, OpSchema));
  exports.Set("listOps", Napi::Function::New(env, ListOps));
}

}  // namespace tn
