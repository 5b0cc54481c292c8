// riopool native core: what the binding's files share (addon.cc: mappings and start-up;
// binding_backend.cc: the Backend class; binding_ring.cc: the Ring class).
//
// Every mapping is a Mapping record shared by the table of live mappings, the ArrayBuffer's
// finalizer and the registrations on it. Whoever unmaps first marks it `unmapped`; everyone
// after that leaves the address range alone (it may already belong to a newer mapping).
#pragma once

#include <napi.h>

#include <memory>
#include <set>
#include <string>
#include <unordered_map>

#include "backend.h"
#include "prim.h"

namespace riopool {

struct State;

struct Mapping {
  void* addr;
  size_t len;
  bool unmapped = false;
  // The memory went to another ArrayBuffer (ArrayBuffer.prototype.transfer, a transfer list),
  // which detached ours: whoever holds it now may outlive this environment (another thread's
  // isolate), so nothing here unmaps it; the range stays mapped for the process's life.
  bool escaped = false;
  // A weak reference to the mapping's own ArrayBuffer, to tell "detached by unmap()" from
  // "detached by a transfer" (addon.cc); nullptr once unmapped or finalized.
  napi_env env = nullptr;
  napi_ref self = nullptr;
  uint32_t registrations = 0;
  // Ring operations on this memory without a registration (receivePlain / sendPlain) in flight.
  uint32_t in_flight = 0;
  std::weak_ptr<State> state;
};

// Counts one operation in flight on a mapping for as long as it lives (the ring keeps it until
// the operation's completion): unmap() refuses (EBUSY) meanwhile.
class MappingGuard {
 public:
  explicit MappingGuard(std::shared_ptr<Mapping> m) : m_(std::move(m)) { m_->in_flight++; }
  ~MappingGuard() { m_->in_flight--; }
  MappingGuard(const MappingGuard&) = delete;
  MappingGuard& operator=(const MappingGuard&) = delete;

 private:
  std::shared_ptr<Mapping> m_;
};

// What the environment's teardown closes: each open Backend.
class Closable {
 public:
  virtual void CloseAll() = 0;

 protected:
  ~Closable() = default;
};

struct State {
  std::unordered_map<void*, std::shared_ptr<Mapping>> live;
  std::set<Closable*> backends;
  // The Ring class (binding_ring.cc); released at teardown.
  Napi::FunctionReference ring_constructor;
  // Counters the tests use to prove "freed exactly once".
  double maps = 0;
  double explicit_unmaps = 0;
  double finalizer_unmaps = 0;
  double finalizer_skips = 0;

  void TearDown();
  ~State() { TearDown(); }
};

std::shared_ptr<State>& GetState(Napi::Env env);

// Errors: an Error whose `code` is errno-style and `errno` the OS number; or a TypeError.
[[noreturn]] void Throw(Napi::Env env, const Status& s);
[[noreturn]] void ThrowCode(Napi::Env env, Code code, const std::string& message);
[[noreturn]] void ThrowType(Napi::Env env, const std::string& message);

// Arguments, guarded cheaply (the TypeScript layer validates first).
Napi::ArrayBuffer ArgArrayBuffer(const Napi::CallbackInfo& info, size_t i, const char* name);
// A byte count or offset: a number (else TypeError), a non-negative integer (else EINVAL).
double ArgSize(const Napi::CallbackInfo& info, size_t i, const char* name);
// The live mapping behind an ArrayBuffer, or EFAULT.
std::shared_ptr<Mapping> FindMapping(Napi::Env env, Napi::ArrayBuffer ab);
// Unmaps now and marks the record; the result of os_unmap is reported, never ignored.
Status UnmapNow(Mapping& m);

// What a Ring object needs of the backend that made it (binding_backend.cc implements it).
class RingOwner {
 public:
  // The backend's ring; nullptr once the backend is closed.
  virtual Ring* ring() = 0;
  // Starts delivering completions to `callback` (notifier.h).
  virtual Status StartNotifier(Napi::Env env, Napi::Function callback) = 0;
  // An operation was queued: the loop stays alive until it completes.
  virtual void Queued() = 0;

 protected:
  ~RingOwner() = default;
};

// The Backend class (binding_backend.cc).
Napi::Function DefineBackend(Napi::Env env);
// The Ring class (binding_ring.cc): defined once per environment, instances made by backend.ring().
void DefineRing(Napi::Env env);
Napi::Object NewRingObject(Napi::Env env, Napi::Object backend, RingOwner* owner);

}  // namespace riopool
