// c10d bindings: TCPStore rendezvous, process groups (Gloo; NCCL where libtorch has it), the
// collectives with their Work handles (waited on the JS thread or on a libuv worker), and
// c10d::Reducer — PyTorch's own DDP gradient bucketing, whose autograd hooks launch each bucket's
// all-reduce as soon as its gradients are ready during backward.
//
// Native objects live in small id tables (a JS object holds the id) and are released explicitly.
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/comm.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#include <cstdlib>
#include <memory>
#include <unordered_map>

#include "common.h"
#include "compat.h"
#include "napi_util.h"

namespace tn {
namespace {

using Ms = std::chrono::milliseconds;

template <class T>
class IdTable {
 public:
  double put(T v) {
    map_.emplace(next_, std::move(v));
    return static_cast<double>(next_++);
  }
  T& get(double id, const char* what) {
    auto it = map_.find(static_cast<int64_t>(id));
    if (it == map_.end()) throw ArgError(std::string(what) + " was released (or is not a handle)");
    return it->second;
  }
  bool erase(double id) { return map_.erase(static_cast<int64_t>(id)) > 0; }

 private:
  std::unordered_map<int64_t, T> map_;
  int64_t next_ = 1;
};

IdTable<c10::intrusive_ptr<c10d::Store>>& stores() {
  static IdTable<c10::intrusive_ptr<c10d::Store>> t;
  return t;
}
IdTable<c10::intrusive_ptr<c10d::ProcessGroup>>& groups() {
  static IdTable<c10::intrusive_ptr<c10d::ProcessGroup>> t;
  return t;
}
IdTable<c10::intrusive_ptr<c10d::Work>>& works() {
  static IdTable<c10::intrusive_ptr<c10d::Work>> t;
  return t;
}
IdTable<std::shared_ptr<c10d::Reducer>>& reducers() {
  static IdTable<std::shared_ptr<c10d::Reducer>> t;
  return t;
}

std::string str(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsString()) throw ArgError("argument " + std::to_string(i) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}
double num(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsNumber()) throw ArgError("argument " + std::to_string(i) + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}
bool flag(const Napi::CallbackInfo& info, size_t i) {
  return info[i].IsBoolean() && info[i].As<Napi::Boolean>().Value();
}

std::vector<at::Tensor> tensorArray(const Napi::Value& v) {
  if (!v.IsArray()) throw ArgError("expected an array of tensors");
  auto a = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value e = a.Get(i);
    if (!e.IsNumber()) throw ArgError("expected an array of tensors");
    out.push_back(tensors().get(e.As<Napi::Number>().DoubleValue()));
  }
  return out;
}

c10d::ReduceOp reduceOp(const std::string& name) {
  if (name == "sum") return c10d::ReduceOp::SUM;
  if (name == "product") return c10d::ReduceOp::PRODUCT;
  if (name == "min") return c10d::ReduceOp::MIN;
  if (name == "max") return c10d::ReduceOp::MAX;
  throw ArgError("unknown reduce op '" + name + "' (sum, product, min, max; avg is sum then divide)");
}

// ---- store and groups ----------------------------------------------------------------------

// tcpStore(host, port, isServer, worldSize, timeoutMs, prefix) → store id. Every rank checks in
// and the server waits for worldSize of them, as PyTorch's env:// rendezvous does. (libtorch's
// server gives up waiting silently at the timeout, so a missing client shows up at first use.)
Napi::Value TcpStore(const Napi::CallbackInfo& info) {
  c10d::TCPStoreOptions o;
  std::string host = str(info, 0);
  o.port = static_cast<uint16_t>(num(info, 1));
  o.isServer = flag(info, 2);
  double ws = num(info, 3);
  if (ws > 0) o.numWorkers = static_cast<size_t>(ws);
  o.waitWorkers = ws > 0;
  o.timeout = Ms(static_cast<int64_t>(num(info, 4)));
  c10::intrusive_ptr<c10d::Store> store = c10::make_intrusive<c10d::TCPStore>(host, o);
  if (info[5].IsString()) store = c10::make_intrusive<c10d::PrefixStore>(info[5].As<Napi::String>().Utf8Value(), store);
  return Napi::Number::New(info.Env(), stores().put(store));
}

Napi::Value StoreSet(const Napi::CallbackInfo& info) {
  auto& s = stores().get(num(info, 0), "store");
  std::string v = str(info, 2);
  s->set(str(info, 1), std::vector<uint8_t>(v.begin(), v.end()));
  return info.Env().Undefined();
}

Napi::Value StoreGet(const Napi::CallbackInfo& info) {
  auto& s = stores().get(num(info, 0), "store");
  auto v = s->get(str(info, 1));
  return Napi::String::New(info.Env(), std::string(v.begin(), v.end()));
}

// The Gloo device: the interface in GLOO_SOCKET_IFNAME, else the given address (loopback for a
// single-node run, which always binds), else the machine's hostname as PyTorch does.
std::shared_ptr<::gloo::transport::Device> glooDevice(const std::string& hostname) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  if (!hostname.empty()) return c10d::ProcessGroupGloo::createDeviceForHostname(hostname);
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

// newGroup(backend, storeId, rank, size, timeoutMs, glooHostname) → group id.
Napi::Value NewGroup(const Napi::CallbackInfo& info) {
  std::string backend = str(info, 0);
  auto store = stores().get(num(info, 1), "store");
  int rank = static_cast<int>(num(info, 2)), size = static_cast<int>(num(info, 3));
  Ms timeout(static_cast<int64_t>(num(info, 4)));
  std::string host = info[5].IsString() ? info[5].As<Napi::String>().Utf8Value() : "";
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
  if (backend == "gloo") {
    auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
    opts->devices.push_back(glooDevice(host));
    auto gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, opts);
#if TORCH_AT_LEAST(2, 0)
    pg = c10::make_intrusive<c10d::ProcessGroup>(store, rank, size);
    pg->setDefaultBackend(c10d::ProcessGroup::BackendType::GLOO);
    pg->setBackend(c10::DeviceType::CPU, c10d::ProcessGroup::BackendType::GLOO, gloo);
#else
    pg = gloo;
#endif
  } else if (backend == "nccl") {
#ifdef USE_C10D_NCCL
    auto opts = c10d::ProcessGroupNCCL::Options::create();
    opts->timeout = timeout;
    auto nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, opts);
#if TORCH_AT_LEAST(2, 0)
    pg = c10::make_intrusive<c10d::ProcessGroup>(store, rank, size);
    pg->setDefaultBackend(c10d::ProcessGroup::BackendType::NCCL);
    pg->setBackend(c10::DeviceType::CUDA, c10d::ProcessGroup::BackendType::NCCL, nccl);
#else
    pg = nccl;
#endif
#else
    throw std::runtime_error("backend 'nccl' is not available: this libtorch was built without NCCL (use 'gloo')");
#endif
  } else {
    throw ArgError("unknown backend '" + backend + "' (gloo, nccl)");
  }
  return Napi::Number::New(info.Env(), groups().put(pg));
}

Napi::Value ReleaseGroup(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), groups().erase(num(info, 0)));
}
Napi::Value ReleaseStore(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), stores().erase(num(info, 0)));
}

// ---- collectives ---------------------------------------------------------------------------

Napi::Value workId(Napi::Env env, c10::intrusive_ptr<c10d::Work> w) {
  return Napi::Number::New(env, works().put(std::move(w)));
}

// allReduce(group, tensors, op) → work id (in place on each tensor).
Napi::Value AllReduce(const Napi::CallbackInfo& info) {
  auto& pg = groups().get(num(info, 0), "process group");
  auto ts = tensorArray(info[1]);
  c10d::AllreduceOptions o;
  o.reduceOp = reduceOp(str(info, 2));
  return workId(info.Env(), pg->allreduce(ts, o));
}

// broadcast(group, tensors, root) → work id.
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  auto& pg = groups().get(num(info, 0), "process group");
  auto ts = tensorArray(info[1]);
  c10d::BroadcastOptions o;
  o.rootRank = static_cast<int64_t>(num(info, 2));
  return workId(info.Env(), pg->broadcast(ts, o));
}

// allGather(group, outputs[world], input) → work id.
Napi::Value AllGather(const Napi::CallbackInfo& info) {
  auto& pg = groups().get(num(info, 0), "process group");
  std::vector<std::vector<at::Tensor>> outs{tensorArray(info[1])};
  std::vector<at::Tensor> in{tensorAt(info, 2)};
  return workId(info.Env(), pg->allgather(outs, in));
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  auto& pg = groups().get(num(info, 0), "process group");
  return workId(info.Env(), pg->barrier());
}

// broadcastCoalesced(group, tensors, bufferBytes, root): DDP's start-up parameter sync (blocking).
Napi::Value BroadcastCoalesced(const Napi::CallbackInfo& info) {
  auto pg = groups().get(num(info, 0), "process group");
  auto ts = tensorArray(info[1]);
  c10d::broadcast_coalesced(pg, ts, static_cast<size_t>(num(info, 2)), static_cast<int>(num(info, 3)));
  return info.Env().Undefined();
}

// waitWork(id, timeoutMs): blocks the JS thread; releases the handle whatever the outcome.
Napi::Value WaitWork(const Napi::CallbackInfo& info) {
  double id = num(info, 0);
  auto w = works().get(id, "work");
  works().erase(id);
  w->wait(Ms(static_cast<int64_t>(num(info, 1))));
  return info.Env().Undefined();
}

class WaitWorker : public Napi::AsyncWorker {
 public:
  WaitWorker(Napi::Env env, c10::intrusive_ptr<c10d::Work> w, Ms timeout)
      : Napi::AsyncWorker(env), work_(std::move(w)), timeout_(timeout), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      work_->wait(timeout_);
    } catch (const c10::Error& e) {
      SetError(e.what_without_backtrace());
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  c10::intrusive_ptr<c10d::Work> work_;
  Ms timeout_;
  Napi::Promise::Deferred deferred_;
};

// waitWorkAsync(id, timeoutMs) → Promise; the wait runs on a libuv worker thread.
Napi::Value WaitWorkAsync(const Napi::CallbackInfo& info) {
  double id = num(info, 0);
  auto w = works().get(id, "work");
  works().erase(id);
  auto* worker = new WaitWorker(info.Env(), std::move(w), Ms(static_cast<int64_t>(num(info, 1))));
  auto p = worker->promise();
  worker->Queue();
  return p;
}

Napi::Value WorkCompleted(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), works().get(num(info, 0), "work")->isCompleted());
}

// ---- DDP reducer ---------------------------------------------------------------------------

// newReducer(group, params, names, bucketCapBytes, firstBucketCapBytes, findUnused, gradAsView)
// → [reducer id, buckets (parameter indices per bucket, in launch order)]. Buckets are assigned
// as DDP does: by size over the parameters in reverse (the order backward produces gradients).
Napi::Value NewReducer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto pg = groups().get(num(info, 0), "process group");
  auto params = tensorArray(info[1]);
  auto namesArr = info[2].As<Napi::Array>();
  std::unordered_map<size_t, std::string> names;
  for (uint32_t i = 0; i < namesArr.Length(); ++i) names[i] = namesArr.Get(i).As<Napi::String>().Utf8Value();
  auto cap = static_cast<int64_t>(num(info, 3)), firstCap = static_cast<int64_t>(num(info, 4));
  bool findUnused = flag(info, 5), asView = flag(info, 6);
  std::vector<bool> sparse(params.size(), false);
  auto assigned = c10d::compute_bucket_assignment_by_size(
      params, {static_cast<size_t>(firstCap), static_cast<size_t>(cap)}, sparse);
  std::vector<std::vector<size_t>> buckets(std::get<0>(assigned).rbegin(), std::get<0>(assigned).rend());
  std::vector<size_t> limits(std::get<1>(assigned).rbegin(), std::get<1>(assigned).rend());
#if TORCH_AT_LEAST(2, 10)
  auto r = std::make_shared<c10d::Reducer>(params, buckets, pg, sparse, cap, findUnused, asView, names, firstCap,
                                           /*skip_all_reduce_unused_params=*/false, /*use_python_reducer=*/false,
                                           std::vector<int64_t>{});
#elif !TORCH_AT_LEAST(2, 0)
  auto r =
      std::make_shared<c10d::Reducer>(params, buckets, limits, pg, sparse, cap, findUnused, asView, names, firstCap);
#else
  throw std::runtime_error(
      "DistributedDataParallel needs libtorch 1.13 or >= 2.10 (the c10d::Reducer constructor differs)");
#endif
  auto out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, reducers().put(r)));
  auto b = Napi::Array::New(env, buckets.size());
  for (size_t i = 0; i < buckets.size(); ++i) {
    auto bi = Napi::Array::New(env, buckets[i].size());
    for (size_t j = 0; j < buckets[i].size(); ++j) bi.Set(static_cast<uint32_t>(j), static_cast<double>(buckets[i][j]));
    b.Set(static_cast<uint32_t>(i), bi);
  }
  out.Set(1u, b);
  return out;
}

// reducerPrepareForBackward(id, outputs): arms the hooks for the next backward (the sync step).
Napi::Value ReducerPrepareForBackward(const Napi::CallbackInfo& info) {
  auto& r = reducers().get(num(info, 0), "reducer");
  r->prepare_for_forward();
  r->prepare_for_backward(info[1].IsArray() ? tensorArray(info[1]) : std::vector<at::Tensor>{});
  return info.Env().Undefined();
}

// reducerRebuildBuckets(id) → true when the buckets were re-formed in the gradients' actual order
// (done once, after the first synchronised backward, as DDP's forward does).
Napi::Value ReducerRebuildBuckets(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), reducers().get(num(info, 0), "reducer")->rebuild_buckets());
}

Napi::Value ReleaseReducer(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), reducers().erase(num(info, 0)));
}

}  // namespace

void initDistributed(Napi::Env env, Napi::Object exports) {
  auto d = Napi::Object::New(env);
  def(env, d, "tcpStore", TcpStore);
  def(env, d, "storeSet", StoreSet);
  def(env, d, "storeGet", StoreGet);
  def(env, d, "releaseStore", ReleaseStore);
  def(env, d, "newGroup", NewGroup);
  def(env, d, "releaseGroup", ReleaseGroup);
  def(env, d, "allReduce", AllReduce);
  def(env, d, "broadcast", Broadcast);
  def(env, d, "allGather", AllGather);
  def(env, d, "barrier", Barrier);
  def(env, d, "broadcastCoalesced", BroadcastCoalesced);
  def(env, d, "waitWork", WaitWork);
  def(env, d, "waitWorkAsync", WaitWorkAsync);
  def(env, d, "workCompleted", WorkCompleted);
  def(env, d, "newReducer", NewReducer);
  def(env, d, "reducerPrepareForBackward", ReducerPrepareForBackward);
  def(env, d, "reducerRebuildBuckets", ReducerRebuildBuckets);
  def(env, d, "releaseReducer", ReleaseReducer);
#ifdef USE_C10D_NCCL
  d.Set("nccl", true);
#else
  d.Set("nccl", false);
#endif
  exports.Set("distributed", d);
}

}  // namespace tn
