// riopool native core: the Node-API binding.
//
// Exports (all a thin layer over prim.h and backend.h; no policy):
//   pageSize()                       the OS page size
//   map(bytes)                       page-aligned memory as an external ArrayBuffer
//   unmap(arrayBuffer)               detach every view, then unmap; idempotent
//   lock(arrayBuffer) / unlock(...)  lock the mapping's pages
//   residency(arrayBuffer)           resident pages (mincore), or null where unknown
//   memoryStatus()                   { pinned, locked, rss } in bytes, null where unknown
//   info()                           page size, compiled backends, live mappings, counters
//   Registrar(kind, entries?)        a backend: register(ab, offset?, length?) -> id,
//                                    deregister(id), close(), kind, locks, capacity, size
//
// Memory safety (DESIGN.md, rules 1 and 2):
// - Every mapping is a Mapping record shared by the table of live mappings, the ArrayBuffer's
//   finalizer and the registrations on it. Whoever unmaps first marks it `unmapped`; everyone
//   after that leaves the address range alone (it may already belong to a newer mapping).
// - unmap() detaches the ArrayBuffer before unmapping, so every JS view reads as length 0.
// - unmap() refuses (EBUSY) while the mapping has registrations: deregister first.
// - When the environment (the main thread or a worker) is torn down, a cleanup hook closes
//   every backend and unmaps whatever is left; finalizers that run later find `unmapped` set.
//
// Failures throw an Error whose `code` is errno-style ("EFAULT", "EINVAL", "ENOMEM", "EPERM",
// "ENOSPC", "EBUSY", ...), with `errno` (the OS number, 0 if none) and `syscall`-free message.
// Wrong argument types throw a TypeError. The TypeScript layer maps codes to RioError.
#include <napi.h>

#include <cmath>
#include <memory>
#include <set>
#include <unordered_map>

#include "backend.h"
#include "prim.h"

namespace riopool {
namespace {

// 1 GiB: io_uring's largest registration, and well inside what an ArrayBuffer may hold.
constexpr double kMaxMapBytes = 1024.0 * 1024 * 1024;

struct State;

struct Mapping {
  void* addr;
  size_t len;
  bool unmapped = false;
  uint32_t registrations = 0;
  std::weak_ptr<State> state;
};

class Registrar;

struct State {
  std::unordered_map<void*, std::shared_ptr<Mapping>> live;
  std::set<Registrar*> registrars;
  // Counters the tests use to prove "freed exactly once".
  double maps = 0;
  double explicit_unmaps = 0;
  double finalizer_unmaps = 0;
  double finalizer_skips = 0;

  void TearDown();
  ~State() { TearDown(); }
};

const napi_type_tag kRegistrarTag = {0x72696f706f6f6c21ULL, 0x5265676973747261ULL};

std::shared_ptr<State>& GetState(Napi::Env env) {
  return *env.GetInstanceData<std::shared_ptr<State>>();
}

[[noreturn]] void Throw(Napi::Env env, const Status& s) {
  Napi::Error e = Napi::Error::New(env, s.message);
  e.Set("code", Napi::String::New(env, s.code));
  e.Set("errno", Napi::Number::New(env, s.sys));
  throw e;
}

[[noreturn]] void ThrowCode(Napi::Env env, const char* code, const std::string& message) {
  Throw(env, Status::Fail(code, 0, message));
}

[[noreturn]] void ThrowType(Napi::Env env, const std::string& message) {
  throw Napi::TypeError::New(env, message);
}

Napi::ArrayBuffer ArgArrayBuffer(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsArrayBuffer()) {
    ThrowType(info.Env(), std::string(name) + " must be an ArrayBuffer from map()");
  }
  return info[i].As<Napi::ArrayBuffer>();
}

// A byte count or offset: a number (else TypeError) that is a non-negative integer (else
// EINVAL, the seed's WSAEINVAL).
double ArgSize(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsNumber()) {
    ThrowType(info.Env(), std::string(name) + " must be a number");
  }
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(v) || v < 0 || std::floor(v) != v) {
    ThrowCode(info.Env(), "EINVAL", std::string(name) + " must be a non-negative integer");
  }
  return v;
}

// The live mapping behind an ArrayBuffer, or EFAULT (the seed's WSAEFAULT).
std::shared_ptr<Mapping> FindMapping(Napi::Env env, Napi::ArrayBuffer ab) {
  auto& state = GetState(env);
  void* data = ab.Data();
  auto it = data == nullptr ? state->live.end() : state->live.find(data);
  if (it == state->live.end() || it->second->len != ab.ByteLength()) {
    ThrowCode(env, "EFAULT", "the ArrayBuffer is not a live mapping from map()");
  }
  return it->second;
}

void UnmapNow(Mapping& m) {
  os_unmap(m.addr, m.len);
  m.unmapped = true;
}

// ---------------------------------------------------------------------------------------------
// Mappings

void FinalizeMapping(Napi::Env /*env*/, void* /*data*/, std::shared_ptr<Mapping>* holder) {
  std::shared_ptr<Mapping> m = *holder;
  delete holder;
  std::shared_ptr<State> state = m->state.lock();
  if (m->unmapped) {
    if (state) state->finalizer_skips++;
    return;
  }
  UnmapNow(*m);
  if (state) {
    state->live.erase(m->addr);
    state->finalizer_unmaps++;
  }
}

Napi::Value PageSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(page_size()));
}

Napi::Value Map(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double bytes = ArgSize(info, 0, "bytes");
  if (bytes == 0) ThrowCode(env, "EINVAL", "bytes must be greater than zero");
  if (bytes > kMaxMapBytes) ThrowCode(env, "EINVAL", "bytes must be at most 1 GiB");
  size_t len = round_to_pages(static_cast<size_t>(bytes));
  void* addr = nullptr;
  Status s = os_map(len, &addr);
  if (!s.ok()) Throw(env, s);

  auto& state = GetState(env);
  auto m = std::make_shared<Mapping>();
  m->addr = addr;
  m->len = len;
  m->state = state;
  auto* holder = new std::shared_ptr<Mapping>(m);
  Napi::ArrayBuffer ab;
  try {
    ab = Napi::ArrayBuffer::New(env, addr, len, FinalizeMapping, holder);
  } catch (...) {
    delete holder;
    UnmapNow(*m);
    throw;
  }
  state->live[addr] = m;
  state->maps++;
  return ab;
}

Napi::Value Unmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::ArrayBuffer ab = ArgArrayBuffer(info, 0, "arrayBuffer");
  // Already detached: unmapped before (or transferred away, in which case the mapping stays
  // until the finalizer of the buffer that holds it now). Either way, nothing to do.
  if (ab.IsDetached() || ab.Data() == nullptr) return Napi::Boolean::New(env, false);
  std::shared_ptr<Mapping> m = FindMapping(env, ab);
  if (m->registrations != 0) {
    ThrowCode(env, "EBUSY",
              "the mapping still has " + std::to_string(m->registrations) +
                  " registration(s): deregister before unmapping");
  }
  ab.Detach();  // Every view over the memory now has length 0.
  UnmapNow(*m);
  auto& state = GetState(env);
  state->live.erase(m->addr);
  state->explicit_unmaps++;
  return Napi::Boolean::New(env, true);
}

Napi::Value Lock(const Napi::CallbackInfo& info) {
  std::shared_ptr<Mapping> m = FindMapping(info.Env(), ArgArrayBuffer(info, 0, "arrayBuffer"));
  Status s = os_lock(m->addr, m->len);
  if (!s.ok()) Throw(info.Env(), s);
  return info.Env().Undefined();
}

Napi::Value Unlock(const Napi::CallbackInfo& info) {
  std::shared_ptr<Mapping> m = FindMapping(info.Env(), ArgArrayBuffer(info, 0, "arrayBuffer"));
  Status s = os_unlock(m->addr, m->len);
  if (!s.ok()) Throw(info.Env(), s);
  return info.Env().Undefined();
}

Napi::Value Residency(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<Mapping> m = FindMapping(env, ArgArrayBuffer(info, 0, "arrayBuffer"));
  int64_t resident = -1;
  Status s = os_residency(m->addr, m->len, &resident);
  if (!s.ok()) Throw(env, s);
  if (resident < 0) return env.Null();
  return Napi::Number::New(env, static_cast<double>(resident));
}

Napi::Value NumberOrNull(Napi::Env env, int64_t v) {
  if (v < 0) return env.Null();
  return Napi::Number::New(env, static_cast<double>(v));
}

Napi::Value MemoryStatusJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MemoryStatus ms = os_memory_status();
  Napi::Object o = Napi::Object::New(env);
  o.Set("pinned", NumberOrNull(env, ms.pinned));
  o.Set("locked", NumberOrNull(env, ms.locked));
  o.Set("rss", NumberOrNull(env, ms.rss));
  return o;
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto& state = GetState(env);
  Napi::Object o = Napi::Object::New(env);
  o.Set("pageSize", Napi::Number::New(env, static_cast<double>(page_size())));
  Napi::Array names = Napi::Array::New(env);
  uint32_t i = 0;
  for (const char* n : CompiledBackends()) names.Set(i++, Napi::String::New(env, n));
  o.Set("backends", names);
  double bytes = 0;
  for (auto& entry : state->live) bytes += static_cast<double>(entry.second->len);
  o.Set("liveMappings", Napi::Number::New(env, static_cast<double>(state->live.size())));
  o.Set("mappedBytes", Napi::Number::New(env, bytes));
  o.Set("maps", Napi::Number::New(env, state->maps));
  o.Set("explicitUnmaps", Napi::Number::New(env, state->explicit_unmaps));
  o.Set("finalizerUnmaps", Napi::Number::New(env, state->finalizer_unmaps));
  o.Set("finalizerSkips", Napi::Number::New(env, state->finalizer_skips));
  return o;
}

// ---------------------------------------------------------------------------------------------
// Registrar: one backend instance (for `uring`, one ring with its fixed-buffer table).

class Registrar : public Napi::ObjectWrap<Registrar> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Registrar",
                       {
                           InstanceMethod<&Registrar::Register>("register"),
                           InstanceMethod<&Registrar::Deregister>("deregister"),
                           InstanceMethod<&Registrar::CloseJs>("close"),
                           InstanceAccessor<&Registrar::Kind>("kind"),
                           InstanceAccessor<&Registrar::Locks>("locks"),
                           InstanceAccessor<&Registrar::Capacity>("capacity"),
                           InstanceAccessor<&Registrar::Size>("size"),
                       });
  }

  explicit Registrar(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Registrar>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) ThrowType(env, "kind must be a string");
    std::string kind = info[0].As<Napi::String>().Utf8Value();
    uint32_t entries = 16384;
    if (info.Length() > 1 && !info[1].IsUndefined()) {
      double e = ArgSize(info, 1, "entries");
      if (e < 1 || e > 16384) ThrowCode(env, "EINVAL", "entries must be 1 .. 16384");
      entries = static_cast<uint32_t>(e);
    }
    Status s;
    if (kind == "uring") backend_ = OpenUringBackend(entries, &s);
    else if (kind == "rio") backend_ = OpenRioBackend(entries, &s);
    else if (kind == "lock") backend_ = OpenLockBackend(true, &s);
    else if (kind == "none") backend_ = OpenLockBackend(false, &s);
    else ThrowCode(env, "EINVAL", "unknown backend '" + kind + "' (uring, rio, lock, none)");
    if (!backend_) Throw(env, s);
    state_ = GetState(env);
    state_->registrars.insert(this);
    info.This().As<Napi::Object>().TypeTag(&kRegistrarTag);
  }

  ~Registrar() override { CloseAll(); }

  // Deregisters everything, closes the backend. Idempotent; also run at environment teardown.
  void CloseAll() {
    if (!backend_) return;
    for (auto& entry : regs_) {
      backend_->Deregister(entry.first, entry.second->unmapped);
      entry.second->registrations--;
    }
    regs_.clear();
    backend_->Close();
    backend_.reset();
    if (state_) state_->registrars.erase(this);
  }

 private:
  void CheckSelf(const Napi::CallbackInfo& info) {
    if (!info.This().IsObject() || !info.This().As<Napi::Object>().CheckTypeTag(&kRegistrarTag)) {
      ThrowType(info.Env(), "not a Registrar");
    }
  }

  Backend& Open(Napi::Env env) {
    if (!backend_) ThrowCode(env, "EBADF", "the registrar is closed");
    return *backend_;
  }

  Napi::Value Register(const Napi::CallbackInfo& info) {
    CheckSelf(info);
    Napi::Env env = info.Env();
    Napi::ArrayBuffer ab = ArgArrayBuffer(info, 0, "arrayBuffer");
    std::shared_ptr<Mapping> m = FindMapping(env, ab);
    double offset = info.Length() > 1 && !info[1].IsUndefined() ? ArgSize(info, 1, "offset") : 0;
    double length = info.Length() > 2 && !info[2].IsUndefined()
                        ? ArgSize(info, 2, "length")
                        : static_cast<double>(m->len) - offset;
    if (length == 0) ThrowCode(env, "EINVAL", "length must be greater than zero");
    if (offset + length > static_cast<double>(m->len)) {
      ThrowCode(env, "EINVAL", "offset + length lies outside the mapping");
    }
    uint32_t id = 0;
    Status s = Open(env).Register(static_cast<char*>(m->addr) + static_cast<size_t>(offset),
                                  static_cast<size_t>(length), &id);
    if (!s.ok()) Throw(env, s);
    m->registrations++;
    regs_[id] = m;
    return Napi::Number::New(env, id);
  }

  Napi::Value Deregister(const Napi::CallbackInfo& info) {
    CheckSelf(info);
    Napi::Env env = info.Env();
    double id = ArgSize(info, 0, "bufferId");
    Backend& backend = Open(env);
    auto it = id > 0xFFFFFFFFu ? regs_.end() : regs_.find(static_cast<uint32_t>(id));
    if (it == regs_.end()) ThrowCode(env, "EINVAL", "buffer id is not registered here");
    Status s = backend.Deregister(it->first, it->second->unmapped);
    if (!s.ok()) Throw(env, s);
    it->second->registrations--;
    regs_.erase(it);
    return env.Undefined();
  }

  Napi::Value CloseJs(const Napi::CallbackInfo& info) {
    CheckSelf(info);
    CloseAll();
    return info.Env().Undefined();
  }

  Napi::Value Kind(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), backend_ ? backend_->kind() : "closed");
  }
  Napi::Value Locks(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), backend_ && backend_->locks());
  }
  Napi::Value Capacity(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), backend_ ? backend_->capacity() : 0);
  }
  Napi::Value Size(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(regs_.size()));
  }

  std::unique_ptr<Backend> backend_;
  std::shared_ptr<State> state_;
  std::unordered_map<uint32_t, std::shared_ptr<Mapping>> regs_;
};

void State::TearDown() {
  // Copy: CloseAll erases from the set.
  std::set<Registrar*> open = registrars;
  for (Registrar* r : open) r->CloseAll();
  for (auto& entry : live) {
    if (!entry.second->unmapped) UnmapNow(*entry.second);
  }
  live.clear();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* state = new std::shared_ptr<State>(std::make_shared<State>());
  env.SetInstanceData<std::shared_ptr<State>>(state);
  std::weak_ptr<State> weak = *state;
  env.AddCleanupHook([weak]() {
    if (auto s = weak.lock()) s->TearDown();
  });

  exports.Set("pageSize", Napi::Function::New<PageSize>(env, "pageSize"));
  exports.Set("map", Napi::Function::New<Map>(env, "map"));
  exports.Set("unmap", Napi::Function::New<Unmap>(env, "unmap"));
  exports.Set("lock", Napi::Function::New<Lock>(env, "lock"));
  exports.Set("unlock", Napi::Function::New<Unlock>(env, "unlock"));
  exports.Set("residency", Napi::Function::New<Residency>(env, "residency"));
  exports.Set("memoryStatus", Napi::Function::New<MemoryStatusJs>(env, "memoryStatus"));
  exports.Set("info", Napi::Function::New<Info>(env, "info"));
  exports.Set("Registrar", Registrar::Define(env));
  return exports;
}

}  // namespace
}  // namespace riopool

static Napi::Object InitRiopool(Napi::Env env, Napi::Object exports) {
  return riopool::Init(env, exports);
}

NODE_API_MODULE(riopool, InitRiopool)
