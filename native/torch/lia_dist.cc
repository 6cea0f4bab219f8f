// lia_dist: data-parallel training across processes over libtorch's own distributed engine (c10d).
// libtorch has no C++ DistributedDataParallel, so this file exposes the few collectives a training
// step needs, on the tensors behind tfjs handles (lia_shared.h):
//   init({url, rank, worldSize, backend, timeoutMs})  a process group over a TCPStore (tcp://HOST:PORT;
//                                                    rank 0 hosts it) or a FileStore (file:///path)
//   allReduce(handles, average, bucketBytes)         sum or mean, in place, tensors packed into
//                                                    flat buckets of about bucketBytes each
//   broadcast(handles, root, bucketBytes)            root's values into every rank's tensors, in place
//   allReduceValues(Float64Array) / barrier() / stats() / destroy()
// Every failure becomes a JavaScript exception naming this rank and the operation; after a failed
// collective the ranks that stopped answering are named from heartbeats kept in the TCPStore.
//
// Built with -DLIA_DIST (and -DUSE_C10D_GLOO, -lgloo) when the c10d and gloo headers exist
// (native/torch/find-torch.cjs --dist); -DLIA_DIST_NCCL adds the nccl backend for a CUDA libtorch.
// Without LIA_DIST the module reports `dist.available = false` and single-process training is unchanged.
#include "lia_shared.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#ifdef LIA_DIST
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef LIA_DIST_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#endif

namespace {

#ifdef LIA_DIST
using Ms = std::chrono::milliseconds;
using WorkPtr = c10::intrusive_ptr<c10d::Work>;

std::string what(const std::exception& e) {
  if (auto c = dynamic_cast<const c10::Error*>(&e)) return c->what_without_backtrace();
  return e.what();
}

// One process group, whichever backend: the collectives as closures over the concrete class (its
// base class differs between libtorch 1.13, ProcessGroup, and 2.x, Backend).
struct Group {
  int rank = 0, size = 1;
  std::string backend, url, host;
  int port = 0;
  Ms timeout{300000};
  c10::intrusive_ptr<c10d::Store> store;
  std::function<WorkPtr(std::vector<at::Tensor>&, const c10d::AllreduceOptions&)> allreduce;
  std::function<WorkPtr(std::vector<at::Tensor>&, const c10d::BroadcastOptions&)> broadcast;
  std::function<WorkPtr(const c10d::BarrierOptions&)> barrier;
  std::function<void()> release;  // drops the process group
  // Totals since init, for `lia bench train`.
  double bytes = 0, ms = 0, calls = 0;
  // Heartbeats: every rank adds 1 to lia/beat/<rank> once a second through its own store client.
  std::unique_ptr<c10d::TCPStore> beatStore;
  std::mutex beatMutex;
  std::thread beatThread;
  std::atomic<bool> stop{false};
};

Group* g_group = nullptr;

template <class PG>
void bind(Group& g, c10::intrusive_ptr<PG> pg) {
  g.allreduce = [pg](std::vector<at::Tensor>& t, const c10d::AllreduceOptions& o) { return pg->allreduce(t, o); };
  g.broadcast = [pg](std::vector<at::Tensor>& t, const c10d::BroadcastOptions& o) { return pg->broadcast(t, o); };
  g.barrier = [pg](const c10d::BarrierOptions& o) { return pg->barrier(o); };
  g.release = [pg]() mutable { pg.reset(); };
}

std::string beatKey(int r) { return "lia/beat/" + std::to_string(r); }

void startHeartbeat(Group& g) {
  if (g.host.empty()) return;  // file stores: no heartbeat, gloo's own errors and timeout only
  c10d::TCPStoreOptions o;
  o.port = static_cast<std::uint16_t>(g.port);
  o.isServer = false;
  o.waitWorkers = false;
  o.timeout = Ms(10000);
  g.beatStore = std::make_unique<c10d::TCPStore>(g.host, o);
  g.beatThread = std::thread([&g]() {
    while (!g.stop.load()) {
      try {
        std::lock_guard<std::mutex> lock(g.beatMutex);
        g.beatStore->add(beatKey(g.rank), 1);
      } catch (...) {
        return;  // the store is gone (its host, rank 0, stopped): diagnose() says so
      }
      for (int i = 0; i < 10 && !g.stop.load(); ++i) std::this_thread::sleep_for(Ms(100));
    }
  });
}

void stopHeartbeat(Group& g) {
  g.stop = true;
  if (g.beatThread.joinable()) g.beatThread.join();
}

// After a failed collective: which ranks stopped answering? Heartbeat counters read twice, 3 s apart.
std::string diagnose(Group& g) {
  if (!g.beatStore) return " (a rank stopped or died; no heartbeats with a file store)";
  std::vector<int64_t> before(g.size), after(g.size);
  try {
    {
      std::lock_guard<std::mutex> lock(g.beatMutex);
      for (int r = 0; r < g.size; ++r) before[r] = g.beatStore->add(beatKey(r), 0);
    }
    std::this_thread::sleep_for(Ms(3000));
    std::lock_guard<std::mutex> lock(g.beatMutex);
    for (int r = 0; r < g.size; ++r) after[r] = g.beatStore->add(beatKey(r), 0);
  } catch (const std::exception&) {
    return g.rank == 0 ? " (the rendezvous store stopped answering)"
                       : "; rank 0 is dead or unreachable (the rendezvous store it hosts at " + g.host + ":" +
                             std::to_string(g.port) + " stopped answering)";
  }
  std::string dead;
  for (int r = 0; r < g.size; ++r)
    if (r != g.rank && after[r] == before[r]) dead += (dead.empty() ? "" : ", ") + std::to_string(r);
  if (dead.empty()) return " (every rank still sends heartbeats: a rank is stuck or the network failed)";
  return "; rank " + dead + (dead.find(',') == std::string::npos ? " is" : " are") + " dead or hung (no heartbeat for 3 s)";
}

[[noreturn]] void fail(Group& g, const std::string& op, const std::exception& e) {
  std::string msg = "torch.distributed rank " + std::to_string(g.rank) + " of " + std::to_string(g.size) + ": " + op +
                    " failed: " + what(e);
  throw std::runtime_error(msg + diagnose(g));
}

Group& group(const std::string& op) {
  if (!g_group) throw std::runtime_error("torch.distributed: " + op + " before init (no process group)");
  return *g_group;
}

void waitFor(Group& g, const WorkPtr& w) {
  if (!w->wait(g.timeout)) throw std::runtime_error("timed out after " + std::to_string(g.timeout.count() / 1000) + " s");
}

std::vector<at::Tensor> tensorsOf(const Napi::Value& v, const std::string& op) {
  auto arr = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    const at::Tensor& t = lia::tensorAt(arr.Get(i).As<Napi::Number>().Int64Value());
    if (t.scalar_type() != at::kFloat) throw std::runtime_error("torch.distributed " + op + ": tensor " + std::to_string(i) + " is not float32");
    out.push_back(t);
  }
  return out;
}

// Consecutive tensors packed into buckets of at least `cap` bytes (the last may be smaller). A bucket
// of one contiguous tensor is the tensor itself; others are flat copies written back afterwards.
template <class F>
double bucketed(std::vector<at::Tensor>& ts, double cap, F collective) {
  double bytes = 0;
  size_t i = 0;
  while (i < ts.size()) {
    size_t j = i;
    double b = 0;
    while (j < ts.size() && (j == i || b < cap)) b += static_cast<double>(ts[j++].numel()) * 4;
    bytes += b;
    if (j == i + 1 && ts[i].is_contiguous()) {
      std::vector<at::Tensor> one{ts[i]};
      collective(one);
    } else {
      std::vector<at::Tensor> flat;
      for (size_t k = i; k < j; ++k) flat.push_back(ts[k].reshape({-1}));
      std::vector<at::Tensor> bucket{at::cat(flat)};
      collective(bucket);
      int64_t off = 0;
      for (size_t k = i; k < j; ++k) {
        int64_t n = ts[k].numel();
        ts[k].copy_(bucket[0].narrow(0, off, n).view(ts[k].sizes()));
        off += n;
      }
    }
    i = j;
  }
  return bytes;
}

double nowMs() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

template <typename F>
Napi::Value guard(const Napi::CallbackInfo& info, F f) {
  try {
    return f();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), what(e));
  }
}

// init({url, rank, worldSize, backend, timeoutMs}) -> {rank, worldSize, backend}
Napi::Value Init(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    auto o = info[0].As<Napi::Object>();
    std::string url = o.Get("url").As<Napi::String>().Utf8Value();
    int rank = o.Get("rank").As<Napi::Number>().Int32Value();
    int size = o.Get("worldSize").As<Napi::Number>().Int32Value();
    std::string backend = o.Get("backend").As<Napi::String>().Utf8Value();
    Ms timeout(static_cast<int64_t>(o.Get("timeoutMs").As<Napi::Number>().DoubleValue()));
    if (g_group) throw std::runtime_error("torch.distributed: init called twice in one process");
    if (size < 1 || rank < 0 || rank >= size)
      throw std::runtime_error("torch.distributed: rank " + std::to_string(rank) + " is not in [0, " + std::to_string(size) + ")");
    auto g = std::make_unique<Group>();
    g->rank = rank;
    g->size = size;
    g->backend = backend;
    g->url = url;
    g->timeout = timeout;
    std::string where = "torch.distributed rank " + std::to_string(rank) + " of " + std::to_string(size) + ": init (" + url + ", " + backend + ")";
    try {
      if (url.rfind("tcp://", 0) == 0) {
        std::string hp = url.substr(6);
        auto colon = hp.rfind(':');
        if (colon == std::string::npos) throw std::runtime_error("expected tcp://HOST:PORT");
        g->host = hp.substr(0, colon);
        g->port = std::stoi(hp.substr(colon + 1));
        if (g->port < 1 || g->port > 65535) throw std::runtime_error("port " + std::to_string(g->port) + " is not in 1..65535");
        c10d::TCPStoreOptions so;
        so.port = static_cast<std::uint16_t>(g->port);
        so.isServer = rank == 0;
        so.numWorkers = size;
        so.waitWorkers = true;
        so.timeout = timeout;
        g->store = c10::make_intrusive<c10d::TCPStore>(g->host, so);
      } else if (url.rfind("file://", 0) == 0) {
        g->store = c10::make_intrusive<c10d::FileStore>(url.substr(7), size);
      } else {
        throw std::runtime_error("the rendezvous must be tcp://HOST:PORT or file:///path");
      }
      if (backend == "gloo") {
        auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
        bool loopback = g->host == "127.0.0.1" || g->host == "localhost" || g->host.empty();
        const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
        opts->devices.push_back(loopback ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                : ifname ? c10d::ProcessGroupGloo::createDeviceForInterface(ifname)
                                         : c10d::ProcessGroupGloo::createDefaultDevice());
        bind(*g, c10::make_intrusive<c10d::ProcessGroupGloo>(g->store, rank, size, opts));
      } else if (backend == "nccl") {
#ifdef LIA_DIST_NCCL
        auto opts = c10d::ProcessGroupNCCL::Options::create();
        opts->timeout = timeout;
        bind(*g, c10::make_intrusive<c10d::ProcessGroupNCCL>(g->store, rank, size, opts));
#else
        throw std::runtime_error("this addon was built without NCCL (it needs a CUDA libtorch with ProcessGroupNCCL and nccl.h); use --dist-backend gloo");
#endif
      } else {
        throw std::runtime_error("unknown backend '" + backend + "' (gloo or nccl)");
      }
      startHeartbeat(*g);
    } catch (const std::exception& e) {
      throw std::runtime_error(where + " failed: " + what(e));
    }
    g_group = g.release();
    auto out = Napi::Object::New(info.Env());
    out.Set("rank", rank);
    out.Set("worldSize", size);
    out.Set("backend", backend);
    return out;
  });
}

// allReduce(handles, average, bucketBytes) -> {bytes, ms}
Napi::Value AllReduce(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    Group& g = group("all-reduce");
    auto ts = tensorsOf(info[0], "all-reduce");
    bool average = info[1].As<Napi::Boolean>().Value();
    double cap = info[2].As<Napi::Number>().DoubleValue();
    double t0 = nowMs(), bytes = 0;
    try {
      bytes = bucketed(ts, cap, [&](std::vector<at::Tensor>& b) {
        waitFor(g, g.allreduce(b, c10d::AllreduceOptions()));
        if (average && g.size > 1) b[0].div_(static_cast<double>(g.size));
      });
    } catch (const std::exception& e) {
      fail(g, "all-reduce of " + std::to_string(ts.size()) + " tensors", e);
    }
    double ms = nowMs() - t0;
    g.bytes += bytes;
    g.ms += ms;
    g.calls += 1;
    auto out = Napi::Object::New(info.Env());
    out.Set("bytes", bytes);
    out.Set("ms", ms);
    return out;
  });
}

// broadcast(handles, root, bucketBytes) -> {bytes, ms}
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    Group& g = group("broadcast");
    auto ts = tensorsOf(info[0], "broadcast");
    int root = info[1].As<Napi::Number>().Int32Value();
    double cap = info[2].As<Napi::Number>().DoubleValue();
    double t0 = nowMs(), bytes = 0;
    try {
      bytes = bucketed(ts, cap, [&](std::vector<at::Tensor>& b) {
        c10d::BroadcastOptions o;
        o.rootRank = root;
        waitFor(g, g.broadcast(b, o));
      });
    } catch (const std::exception& e) {
      fail(g, "broadcast of " + std::to_string(ts.size()) + " tensors from rank " + std::to_string(root), e);
    }
    auto out = Napi::Object::New(info.Env());
    out.Set("bytes", bytes);
    out.Set("ms", nowMs() - t0);
    return out;
  });
}

// allReduceValues(Float64Array, what) -> Float64Array: the element-wise sum over ranks (losses, flags).
Napi::Value AllReduceValues(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    Group& g = group("all-reduce");
    auto in = info[0].As<Napi::Float64Array>();
    std::string label = info.Length() > 1 ? info[1].As<Napi::String>().Utf8Value() : "values";
    size_t n = in.ElementLength();
    at::Tensor t = at::empty({static_cast<int64_t>(n)}, at::kDouble);
    std::memcpy(t.data_ptr(), in.Data(), n * 8);
    if (g.backend == "nccl") t = t.to(lia::currentDevice());
    try {
      std::vector<at::Tensor> v{t};
      waitFor(g, g.allreduce(v, c10d::AllreduceOptions()));
    } catch (const std::exception& e) {
      fail(g, "all-reduce of " + label, e);
    }
    t = t.to(at::kCPU);
    auto out = Napi::Float64Array::New(info.Env(), n);
    std::memcpy(out.Data(), t.data_ptr(), n * 8);
    return out;
  });
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    Group& g = group("barrier");
    std::string label = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "barrier";
    try {
      c10d::BarrierOptions o;
      o.timeout = g.timeout;
      waitFor(g, g.barrier(o));
    } catch (const std::exception& e) {
      fail(g, label, e);
    }
    return info.Env().Undefined();
  });
}

Napi::Value Stats(const Napi::CallbackInfo& info) {
  auto out = Napi::Object::New(info.Env());
  if (g_group) {
    out.Set("bytes", g_group->bytes);
    out.Set("ms", g_group->ms);
    out.Set("calls", g_group->calls);
  }
  return out;
}

// destroy(): stops the heartbeat and drops the process group (peers must have finished their
// collectives). After a failure the group is only abandoned: its peers may be gone.
Napi::Value Destroy(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    if (!g_group) return info.Env().Undefined();
    bool clean = info.Length() > 0 && info[0].IsBoolean() && info[0].As<Napi::Boolean>().Value();
    stopHeartbeat(*g_group);
    if (clean) {
      g_group->release();
      g_group->beatStore.reset();
      delete g_group;
    }
    g_group = nullptr;
    return info.Env().Undefined();
  });
}
#endif

}  // namespace

void lia::registerDistributed(Napi::Env env, Napi::Object exports) {
  Napi::Object d = Napi::Object::New(env);
#ifdef LIA_DIST
  d.Set("available", true);
  Napi::Array backends = Napi::Array::New(env);
  backends.Set(0u, "gloo");
#ifdef LIA_DIST_NCCL
  backends.Set(1u, "nccl");
#endif
  d.Set("backends", backends);
  d.Set("init", Napi::Function::New(env, Init));
  d.Set("allReduce", Napi::Function::New(env, AllReduce));
  d.Set("broadcast", Napi::Function::New(env, Broadcast));
  d.Set("allReduceValues", Napi::Function::New(env, AllReduceValues));
  d.Set("barrier", Napi::Function::New(env, Barrier));
  d.Set("stats", Napi::Function::New(env, Stats));
  d.Set("destroy", Napi::Function::New(env, Destroy));
  // A process that exits with a live group must not wait on the heartbeat thread's next beat.
  env.AddCleanupHook([]() {
    if (g_group) stopHeartbeat(*g_group);
  });
#else
  d.Set("available", false);
  d.Set("why", "built without torch.distributed (no c10d/gloo headers: apt-get install libgloo-dev, then npm run build:torch)");
  d.Set("backends", Napi::Array::New(env));
#endif
  exports.Set("dist", d);
}
