// riopool native core: the Node-API binding.
//
// Exports (all a thin layer over prim.h and backend.h; no policy):
//   pageSize()                       the OS page size
//   map(bytes)                       page-aligned memory as an external ArrayBuffer
//   unmap(arrayBuffer)               detach every view, then unmap; idempotent
//   residency(arrayBuffer)           resident pages (mincore), or null where unknown
//   memoryStatus()                   { pinned, locked, rss } in bytes, null where unknown
//   info()                           page size, compiled backends, live mappings, counters
//   Backend(kind, entries?)          a registration backend: register(ab, offset?, length?) -> id,
//                                    deregister(id), close(), kind, locks, capacity, size, and
//                                    ring(): its Ring of registered I/O, or null
//                                    (binding_backend.cc, binding_ring.cc)
//
// Memory safety (docs/design.md, rules 1 and 2):
// - Every mapping is a Mapping record shared by the table of live mappings, the ArrayBuffer's
//   finalizer and the registrations on it. Whoever unmaps first marks it `unmapped`; everyone
//   after that leaves the address range alone (it may already belong to a newer mapping).
// - unmap() detaches the ArrayBuffer before unmapping, so every JS view reads as length 0.
// - unmap() refuses (EBUSY) while the mapping has registrations: deregister first.
// - When the environment (the main thread or a worker) is torn down, a cleanup hook closes
//   every backend and unmaps whatever is left; finalizers that run later find `unmapped` set.
// - Memory that escaped (user code moved it to another ArrayBuffer with
//   ArrayBuffer.prototype.transfer or a transfer list, which detaches ours without unmap()) is
//   never unmapped here: the buffer holding it may outlive this environment (a worker that
//   posted it to its parent and ended). Node runs an external ArrayBuffer's finalizer at
//   teardown whether or not its memory moved, so the finalizer, unmap() and teardown each ask
//   whether the mapping's own ArrayBuffer (a weak reference) is detached. Known gap: an escaped
//   mapping whose original ArrayBuffer was collected before anyone asked looks like an ordinary
//   one and is unmapped at teardown.
//
// Failures throw an Error whose `code` is errno-style ("EFAULT", "EINVAL", "ENOMEM", "EPERM",
// "ENOSPC", "EBUSY", ...), with `errno` (the OS number, 0 if none); a refused lock or pin also
// carries `limit` (its name) and `limitBytes` (its value, null if unlimited).
// Wrong argument types throw a TypeError. The TypeScript layer maps codes to RioError.
#include <napi.h>

#include <cmath>
#include <memory>

#include "backend.h"
#include "binding.h"
#include "prim.h"

namespace riopool {

// The boundary between the Code enum and the `code` string of a JavaScript error.
const char* CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "OK";
    case Code::kEFAULT: return "EFAULT";
    case Code::kEINVAL: return "EINVAL";
    case Code::kENOMEM: return "ENOMEM";
    case Code::kEPERM: return "EPERM";
    case Code::kEAGAIN: return "EAGAIN";
    case Code::kENOSPC: return "ENOSPC";
    case Code::kENOSYS: return "ENOSYS";
    case Code::kEBUSY: return "EBUSY";
    case Code::kEBADF: return "EBADF";
    case Code::kEADDRINUSE: return "EADDRINUSE";
    case Code::kEADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case Code::kEACCES: return "EACCES";
    case Code::kEAFNOSUPPORT: return "EAFNOSUPPORT";
    case Code::kEIO: return "EIO";
  }
  return "EIO";
}

std::shared_ptr<State>& GetState(Napi::Env env) {
  return *env.GetInstanceData<std::shared_ptr<State>>();
}

[[noreturn]] void Throw(Napi::Env env, const Status& s) {
  Napi::Error e = Napi::Error::New(env, s.message);
  e.Set("code", Napi::String::New(env, CodeName(s.code)));
  e.Set("errno", Napi::Number::New(env, s.sys));
  if (s.refused_by_limit()) {
    // Facts only: the TypeScript layer writes the advice (packages/native/src/advice.ts).
    e.Set("limit", Napi::String::New(env, s.limit.name));
    e.Set("limitBytes", s.limit.bytes < 0 ? env.Null() : Napi::Number::New(env, static_cast<double>(s.limit.bytes)));
  }
  throw e;
}

[[noreturn]] void ThrowCode(Napi::Env env, Code code, const std::string& message) {
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

double ArgSize(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsNumber()) {
    ThrowType(info.Env(), std::string(name) + " must be a number");
  }
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(v) || v < 0 || std::floor(v) != v) {
    ThrowCode(info.Env(), Code::kEINVAL, std::string(name) + " must be a non-negative integer");
  }
  return v;
}

std::shared_ptr<Mapping> FindMapping(Napi::Env env, Napi::ArrayBuffer ab) {
  auto& state = GetState(env);
  void* data = ab.Data();
  auto it = data == nullptr ? state->live.end() : state->live.find(data);
  if (it == state->live.end() || it->second->len != ab.ByteLength()) {
    ThrowCode(env, Code::kEFAULT, "the ArrayBuffer is not a live mapping from map()");
  }
  return it->second;
}

Status UnmapNow(Mapping& m) {
  m.unmapped = true;
  return os_unmap(m.addr, m.len);
}

namespace {

// Drops the mapping's weak reference to its ArrayBuffer.
void DropSelf(Mapping& m) {
  if (m.self == nullptr) return;
  napi_delete_reference(m.env, m.self);
  m.self = nullptr;
}

// True when the mapping's own ArrayBuffer is alive and detached though nobody unmapped it: its
// memory escaped (see the file's comment). Marks it.
bool CheckEscaped(Mapping& m) {
  if (m.escaped) return true;
  if (m.unmapped || m.self == nullptr) return false;
  bool detached = false;
  napi_handle_scope scope = nullptr;
  if (napi_open_handle_scope(m.env, &scope) != napi_ok) return false;
  napi_value ab = nullptr;
  if (napi_get_reference_value(m.env, m.self, &ab) == napi_ok && ab != nullptr) {
    if (napi_is_detached_arraybuffer(m.env, ab, &detached) != napi_ok) detached = false;
  }
  napi_close_handle_scope(m.env, scope);
  if (detached) m.escaped = true;
  return m.escaped;
}


// ---------------------------------------------------------------------------------------------
// Mappings

void FinalizeMapping(Napi::Env /*env*/, void* /*data*/, std::shared_ptr<Mapping>* holder) {
  std::shared_ptr<Mapping> m = *holder;
  delete holder;
  std::shared_ptr<State> state = m->state.lock();
  const bool escaped = CheckEscaped(*m);
  DropSelf(*m);
  if (m->unmapped || m->in_flight != 0 || escaped) {
    // Unmapped before, or (never, while the pool holds the lease of an operation in flight) the
    // kernel may still write it, or it escaped to a buffer that may outlive us: leave it alone.
    if (state) state->finalizer_skips++;
    return;
  }
  // A finalizer cannot report a failure to anyone; munmap of a range we mapped does not fail.
  (void)UnmapNow(*m);
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
  if (bytes == 0) ThrowCode(env, Code::kEINVAL, "bytes must be greater than zero");
  if (bytes > static_cast<double>(kMaxRegistrationBytes)) ThrowCode(env, Code::kEINVAL, "bytes must be at most 1 GiB");
  size_t len = static_cast<size_t>(bytes);
  if (len % page_size() != 0) {
    ThrowCode(env, Code::kEINVAL, "bytes must be a multiple of the page size (" + std::to_string(page_size()) + ")");
  }
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
    (void)UnmapNow(*m);  // the error being thrown is the one to report
    throw;
  }
  state->live[addr] = m;
  state->maps++;
  // Without the reference (no memory for it) the mapping cannot tell an escape: as before.
  m->env = env;
  if (napi_create_reference(env, ab, 0, &m->self) != napi_ok) m->self = nullptr;
  return ab;
}

Napi::Value Unmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::ArrayBuffer ab = ArgArrayBuffer(info, 0, "arrayBuffer");
  // Already detached: unmapped before, or its memory escaped (transferred away), which is now
  // recorded so that nothing unmaps it later. Either way, nothing to unmap.
  if (ab.IsDetached() || ab.Data() == nullptr) {
    for (auto& entry : GetState(env)->live) CheckEscaped(*entry.second);
    return Napi::Boolean::New(env, false);
  }
  std::shared_ptr<Mapping> m = FindMapping(env, ab);
  if (m->registrations != 0 || m->in_flight != 0) {
    ThrowCode(env, Code::kEBUSY,
              "the mapping has " + std::to_string(m->registrations) + " registration(s) and " + std::to_string(m->in_flight) +
                  " operation(s) in flight");
  }
  ab.Detach();  // Every view over the memory now has length 0.
  DropSelf(*m);
  Status s = UnmapNow(*m);
  auto& state = GetState(env);
  state->live.erase(m->addr);
  state->explicit_unmaps++;
  if (!s.ok()) Throw(env, s);
  return Napi::Boolean::New(env, true);
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
  o.Set("lockLimit", NumberOrNull(env, ms.lock_limit));
  return o;
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto& state = GetState(env);
  Napi::Object o = Napi::Object::New(env);
  o.Set("pageSize", Napi::Number::New(env, static_cast<double>(page_size())));
  Napi::Object limits = Napi::Object::New(env);
  limits.Set("maxRegistrations", Napi::Number::New(env, kMaxRegistrations));
  limits.Set("maxRegistrationBytes", Napi::Number::New(env, static_cast<double>(kMaxRegistrationBytes)));
  o.Set("limits", limits);
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


}  // namespace

void State::TearDown() {
  // Copy: CloseAll erases from the set.
  std::set<Closable*> open = backends;
  for (Closable* b : open) b->CloseAll();
  ring_constructor.Reset();
  for (auto& entry : live) {
    // At teardown, nobody to tell. Escaped memory stays (see the file's comment).
    if (!entry.second->unmapped && !CheckEscaped(*entry.second)) (void)UnmapNow(*entry.second);
    DropSelf(*entry.second);
  }
  live.clear();
}

namespace {

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
  exports.Set("residency", Napi::Function::New<Residency>(env, "residency"));
  exports.Set("memoryStatus", Napi::Function::New<MemoryStatusJs>(env, "memoryStatus"));
  exports.Set("info", Napi::Function::New<Info>(env, "info"));
  exports.Set("Backend", DefineBackend(env));
  DefineRing(env);
  return exports;
}

}  // namespace
}  // namespace riopool

static Napi::Object InitRiopool(Napi::Env env, Napi::Object exports) {
  return riopool::Init(env, exports);
}

NODE_API_MODULE(riopool, InitRiopool)
