// riopool native core: the Backend class of the binding: one registration backend instance (for
// `uring`, one io_uring whose fixed-buffer table holds the registrations and whose queues are the
// ring of registered I/O).
//
//   new Backend(kind, entries?)   register(ab, offset?, length?) -> id, deregister(id), close(),
//                                 kind, locks, capacity, size
//   ring()                        the backend's Ring object (binding_ring.cc), or null where the
//                                 backend has none; the same object while it is reachable
//
// Validation is the TypeScript layer's; here are the cheap guards that keep the kernel inside
// live mappings.
#include <napi.h>

#include <memory>
#include <string>
#include <unordered_map>

#include "backend.h"
#include "binding.h"
#include "notifier.h"
#include "prim.h"

namespace riopool {
namespace {

const napi_type_tag kBackendTag = {0x72696f706f6f6c21ULL, 0x5265676973747261ULL};

class BackendObject : public Napi::ObjectWrap<BackendObject>, public Closable, public RingOwner {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Backend",
                       {
                           InstanceMethod<&BackendObject::Register>("register"),
                           InstanceMethod<&BackendObject::Deregister>("deregister"),
                           InstanceMethod<&BackendObject::CloseJs>("close"),
                           InstanceMethod<&BackendObject::RingJs>("ring"),
                           InstanceAccessor<&BackendObject::Kind>("kind"),
                           InstanceAccessor<&BackendObject::Locks>("locks"),
                           InstanceAccessor<&BackendObject::Capacity>("capacity"),
                           InstanceAccessor<&BackendObject::Size>("size"),
                       });
  }

  explicit BackendObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BackendObject>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) ThrowType(env, "kind must be a string");
    std::string kind = info[0].As<Napi::String>().Utf8Value();
    // The table size's range is the backend's to check (OpenUringBackend, OpenRioBackend).
    uint32_t entries = kMaxRegistrations;
    if (info.Length() > 1 && !info[1].IsUndefined()) {
      double e = ArgSize(info, 1, "entries");
      entries = e > 0xFFFFFFFFu ? 0xFFFFFFFFu : static_cast<uint32_t>(e);
    }
    Status s;
    if (kind == "uring") backend_ = OpenUringBackend(entries, &s);
    else if (kind == "rio") backend_ = OpenRioBackend(entries, &s);
    else if (kind == "lock") backend_ = OpenLockBackend(true, &s);
    else if (kind == "none") backend_ = OpenLockBackend(false, &s);
    else ThrowCode(env, Code::kEINVAL, "unknown backend '" + kind + "'");
    if (!backend_) Throw(env, s);
    state_ = GetState(env);
    state_->backends.insert(this);
    info.This().As<Napi::Object>().TypeTag(&kBackendTag);
  }

  ~BackendObject() override { CloseAll(); }

  // Closes the backend: operations in flight are cancelled and waited for (the backend does
  // it), then every registration goes. Idempotent; also run at environment teardown.
  void CloseAll() override {
    if (!backend_) return;
    notifier_.reset();
    for (auto& entry : regs_) {
      (void)backend_->Deregister(entry.first, entry.second->unmapped);  // EBUSY if in flight: Close() below
      entry.second->registrations--;
    }
    regs_.clear();
    backend_->Close();
    backend_.reset();
    if (state_) state_->backends.erase(this);
  }

  // RingOwner (the Ring object's way back to this backend).
  Ring* ring() override { return backend_ ? backend_->ring() : nullptr; }
  Status StartNotifier(Napi::Env env, Napi::Function callback) override {
    Ring* r = ring();
    if (r == nullptr) return Status::Fail(Code::kEBADF, 0, "the backend is closed");
    if (notifier_) return Status::Fail(Code::kEINVAL, 0, "the ring is already started");
    Status s;
    notifier_ = Notifier::Start(env, *r, callback, &s);
    return s;
  }
  void Queued() override {
    if (notifier_) notifier_->KeepLoopAlive(true);
  }

 private:
  void CheckSelf(const Napi::CallbackInfo& info) {
    if (!info.This().IsObject() || !info.This().As<Napi::Object>().CheckTypeTag(&kBackendTag)) {
      ThrowType(info.Env(), "not a Backend");
    }
  }

  Backend& Open(Napi::Env env) {
    if (!backend_) ThrowCode(env, Code::kEBADF, "the backend is closed");
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
    if (length == 0) ThrowCode(env, Code::kEINVAL, "length is zero");
    if (offset + length > static_cast<double>(m->len)) {
      ThrowCode(env, Code::kEINVAL, "offset + length lies outside the mapping");
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
    if (it == regs_.end()) ThrowCode(env, Code::kEINVAL, "buffer id is not registered here");
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

  // The Ring object, made on the first call (null where the backend has no ring).
  Napi::Value RingJs(const Napi::CallbackInfo& info) {
    CheckSelf(info);
    Napi::Env env = info.Env();
    if (!ring_object_.IsEmpty()) {
      Napi::Object alive = ring_object_.Value();
      if (!alive.IsEmpty()) return alive;
    }
    if (ring() == nullptr) return env.Null();
    Napi::Object object = NewRingObject(env, info.This().As<Napi::Object>(), this);
    ring_object_ = Napi::Weak(object);
    return object;
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

  std::unique_ptr<Notifier> notifier_;
  std::unique_ptr<Backend> backend_;
  std::shared_ptr<State> state_;
  std::unordered_map<uint32_t, std::shared_ptr<Mapping>> regs_;
  // The Ring object, weakly: it holds this backend alive, not the other way round.
  Napi::ObjectReference ring_object_;
};

}  // namespace

Napi::Function DefineBackend(Napi::Env env) {
  return BackendObject::Define(env);
}

}  // namespace riopool
