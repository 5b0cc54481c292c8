// riopool native core: the Registrar class of the binding: one backend instance (for `uring`,
// one io_uring: its fixed-buffer table holds the registrations, and its queues carry the
// registered-I/O datapath).
//
//   new Registrar(kind, entries?)   register(ab, offset?, length?) -> id, deregister(id), close(),
//                                   kind, locks, capacity, size
//   ioStart(callback)               completions reach callback(ops, results, count) in batches,
//                                   on Node's event loop (an eventfd watched with uv_poll)
//   opAccept(op, fd), opConnect(op, fd, host, port), opReceive(op, fd, bufferId, offset, length),
//   opSend(op, fd, bufferId, offset, length), opCancel(op, target), opShutdown(op, fd),
//   opClose(op, fd)                 queue one operation (no system call)
//   submit()                        hands the queued operations to the kernel in one call
//   inFlight                        operations queued or in flight
//
// The arrays a callback receives are reused for the next batch: copy what must outlive it.
// Validation is the TypeScript layer's; here are the cheap guards that keep the kernel inside
// the registrations (the backend checks each range against its registration).
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

const napi_type_tag kRegistrarTag = {0x72696f706f6f6c21ULL, 0x5265676973747261ULL};

Status ErrnoStatusOf(int e, const char* what) {
#ifdef _WIN32
  return Status::Fail(Code::kEIO, e, std::string(what) + " failed");
#else
  return ErrnoStatus(e, what);
#endif
}

class Registrar : public Napi::ObjectWrap<Registrar>, public Closable {
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
                           InstanceMethod<&Registrar::IoStart>("ioStart"),
                           InstanceMethod<&Registrar::OpAccept>("opAccept"),
                           InstanceMethod<&Registrar::OpConnect>("opConnect"),
                           InstanceMethod<&Registrar::OpReceive>("opReceive"),
                           InstanceMethod<&Registrar::OpSend>("opSend"),
                           InstanceMethod<&Registrar::OpCancel>("opCancel"),
                           InstanceMethod<&Registrar::OpShutdown>("opShutdown"),
                           InstanceMethod<&Registrar::OpClose>("opClose"),
                           InstanceMethod<&Registrar::Submit>("submit"),
                           InstanceAccessor<&Registrar::InFlight>("inFlight"),
                       });
  }

  explicit Registrar(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Registrar>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) ThrowType(env, "kind must be a string");
    std::string kind = info[0].As<Napi::String>().Utf8Value();
    uint32_t entries = kMaxRegistrations;
    if (info.Length() > 1 && !info[1].IsUndefined()) {
      double e = ArgSize(info, 1, "entries");
      if (e < 1 || e > kMaxRegistrations) ThrowCode(env, Code::kEINVAL, "entries must be 1 .. " + std::to_string(kMaxRegistrations));
      entries = static_cast<uint32_t>(e);
    }
    Status s;
    if (kind == "uring") backend_ = OpenUringBackend(entries, &s);
    else if (kind == "rio") backend_ = OpenRioBackend(entries, &s);
    else if (kind == "lock") backend_ = OpenLockBackend(true, &s);
    else if (kind == "none") backend_ = OpenLockBackend(false, &s);
    else ThrowCode(env, Code::kEINVAL, "unknown backend '" + kind + "' (uring, rio, lock, none)");
    if (!backend_) Throw(env, s);
    state_ = GetState(env);
    state_->registrars.insert(this);
    info.This().As<Napi::Object>().TypeTag(&kRegistrarTag);
  }

  ~Registrar() override { CloseAll(); }

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
    if (state_) state_->registrars.erase(this);
  }

 private:
  void CheckSelf(const Napi::CallbackInfo& info) {
    if (!info.This().IsObject() || !info.This().As<Napi::Object>().CheckTypeTag(&kRegistrarTag)) {
      ThrowType(info.Env(), "not a Registrar");
    }
  }

  Backend& Open(Napi::Env env) {
    if (!backend_) ThrowCode(env, Code::kEBADF, "the registrar is closed");
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
    if (length == 0) ThrowCode(env, Code::kEINVAL, "length must be greater than zero");
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

  // ------------------------------------------------------------------------------------------
  // The datapath (docs/native.md, "Datapath"): ioStart(callback), op*(op id, ...), submit().

  Datapath& Io(Napi::Env env) {
    Datapath* d = backend_ ? backend_->datapath() : nullptr;
    if (d == nullptr) {
      ThrowCode(env, Code::kENOSYS, std::string("the ") + (backend_ ? backend_->kind() : "closed") + " backend has no registered-I/O datapath");
    }
    return *d;
  }

  static uint32_t ArgOp(const Napi::CallbackInfo& info, size_t i) {
    double v = ArgSize(info, i, "op");
    if (v < 1 || v > 2147483647.0) ThrowCode(info.Env(), Code::kEINVAL, "op id must be 1 .. 2^31 - 1");
    return static_cast<uint32_t>(v);
  }
  static int ArgFd(const Napi::CallbackInfo& info, size_t i) {
    double v = ArgSize(info, i, "fd");
    if (v > 2147483647.0) ThrowCode(info.Env(), Code::kEINVAL, "fd out of range");
    return static_cast<int>(v);
  }

  Napi::Value Queue(const Napi::CallbackInfo& info, const OpRequest& r) {
    Status s = Io(info.Env()).Queue(r);
    if (!s.ok()) Throw(info.Env(), s);
    if (notifier_) notifier_->KeepLoopAlive(true);
    return info.Env().Undefined();
  }

  Napi::Value IoStart(const Napi::CallbackInfo& info) {
    CheckSelf(info);
    Napi::Env env = info.Env();
    Datapath& io = Io(env);
    if (info.Length() < 1 || !info[0].IsFunction()) ThrowType(env, "callback must be a function");
    if (notifier_) ThrowCode(env, Code::kEINVAL, "the datapath is already started");
    Status s;
    notifier_ = Notifier::Start(env, io, info[0].As<Napi::Function>(), &s);
    if (!notifier_) Throw(env, s);
    return env.Undefined();
  }

  Napi::Value OpAccept(const Napi::CallbackInfo& info) {
    CheckSelf(info);
    return Queue(info, OpRequest{OpKind::kAccept, ArgOp(info, 0), ArgFd(info, 1), 0, 0, 0, 0, nullptr, 0});
  }

  Napi::Value OpConnect(const Napi::CallbackInfo& info) {
    CheckSelf(info);
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[2].IsString()) ThrowType(env, "host must be a string");
    unsigned char address[128];
    uint32_t len = 0;
    Status s = os_socket_address(info[2].As<Napi::String>().Utf8Value().c_str(), static_cast<int>(ArgSize(info, 3, "port")), address, &len);
    if (!s.ok()) Throw(env, s);
    return Queue(info, OpRequest{OpKind::kConnect, ArgOp(info, 0), ArgFd(info, 1), 0, 0, 0, 0, address, len});
  }

  Napi::Value OpData(const Napi::CallbackInfo& info, OpKind kind) {
    CheckSelf(info);
    double id = ArgSize(info, 2, "bufferId");
    double offset = ArgSize(info, 3, "offset");
    double length = ArgSize(info, 4, "length");
    if (id > 65535 || length > 4294967295.0) ThrowCode(info.Env(), Code::kEINVAL, "buffer id or length out of range");
    return Queue(info, OpRequest{kind, ArgOp(info, 0), ArgFd(info, 1), static_cast<uint32_t>(id), static_cast<uint64_t>(offset),
                                 static_cast<uint32_t>(length), 0, nullptr, 0});
  }
  Napi::Value OpReceive(const Napi::CallbackInfo& info) { return OpData(info, OpKind::kReceive); }
  Napi::Value OpSend(const Napi::CallbackInfo& info) { return OpData(info, OpKind::kSend); }

  Napi::Value OpCancel(const Napi::CallbackInfo& info) {
    CheckSelf(info);
    return Queue(info, OpRequest{OpKind::kCancel, ArgOp(info, 0), -1, 0, 0, 0, ArgOp(info, 1), nullptr, 0});
  }
  Napi::Value OpShutdown(const Napi::CallbackInfo& info) {
    CheckSelf(info);
    return Queue(info, OpRequest{OpKind::kShutdown, ArgOp(info, 0), ArgFd(info, 1), 0, 0, 0, 0, nullptr, 0});
  }
  Napi::Value OpClose(const Napi::CallbackInfo& info) {
    CheckSelf(info);
    return Queue(info, OpRequest{OpKind::kClose, ArgOp(info, 0), ArgFd(info, 1), 0, 0, 0, 0, nullptr, 0});
  }

  Napi::Value Submit(const Napi::CallbackInfo& info) {
    CheckSelf(info);
    int n = Io(info.Env()).Submit();
    if (n < 0) Throw(info.Env(), ErrnoStatusOf(-n, "io_uring_enter"));
    return Napi::Number::New(info.Env(), n);
  }

  Napi::Value InFlight(const Napi::CallbackInfo& info) {
    Datapath* d = backend_ ? backend_->datapath() : nullptr;
    return Napi::Number::New(info.Env(), d ? d->InFlight() : 0);
  }

  std::unique_ptr<Notifier> notifier_;
  std::unique_ptr<Backend> backend_;
  std::shared_ptr<State> state_;
  std::unordered_map<uint32_t, std::shared_ptr<Mapping>> regs_;
};

}  // namespace

Napi::Function DefineRegistrar(Napi::Env env) {
  return Registrar::Define(env);
}

}  // namespace riopool
