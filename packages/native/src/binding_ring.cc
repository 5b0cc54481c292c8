// riopool native core: the Ring class of the binding: a backend's ring of registered I/O, as one
// object that the TypeScript datapath uses as it is (docs/native.md, "Ring"). Made by
// backend.ring(); it keeps its backend alive, and once the backend is closed every call throws
// EBADF but inFlight and the plain socket calls (closeSocket, socketName, setNoDelay,
// setKeepAlive), which act on an fd, not on the ring.
//
//   start(callback)                    completions reach callback(ops, results, flags, count) in batches
//                                      on Node's event loop (the ring's fd watched with uv_poll)
//   accept(op, fd), connect(op, fd, host, port), receive(op, fd, bufferId, offset, length),
//   send(op, fd, bufferId, offset, length), cancel(op, target), shutdown(op, fd), close(op, fd)
//                                      queue one operation (no system call)
//   sendParts(op, fd, parts, count)    one SENDMSG of `count` ranges [bufferId, offset, length]
//                                      of registrations (an Int32Array of 3 x count)
//   receiveMultishot(op, fd)           a multishot receive into the buffer ring's buffers
//   receivePlain(op, fd, ab, offset, length), sendPlain(op, fd, ab, offset, length)
//                                      RECV / SEND on memory from map() that is not registered;
//                                      the mapping cannot be unmapped until they complete
//   submit()                           hands the queued operations to the kernel in one call
//   inFlight                           operations queued or in flight
//   features()                         { bufferRing, setup }: what this kernel's ring can do
//   setupBufferRing(entries), provide(bid, bufferId, offset, length), closeBufferRing()
//                                      the buffer ring, lending it a range of a registration, and
//                                      unregistering it (the kernel lets go of every lent buffer)
//   listen(host, port, backlog) -> [fd, port], socket(host) -> fd, closeSocket(fd),
//   socketName(fd, peer) -> [host, port, family], setNoDelay(fd, on), setKeepAlive(fd, on, idleS)
//                                      the plain socket calls around the operations (prim.h)
//
// The arrays a callback receives are reused for the next batch: copy what must outlive it.
// Validation is the TypeScript layer's; the backend checks every range against its registration.
#include <napi.h>

#include <algorithm>
#include <string>

#include "backend.h"
#include "binding.h"
#include "prim.h"

namespace riopool {
namespace {

const napi_type_tag kRingTag = {0x72696f706f6f6c21ULL, 0x52696e6752696e67ULL};

Status SubmitStatus(int e) {
#ifdef _WIN32
  return Status::Fail(Code::kEIO, e, "submit failed");
#else
  return ErrnoStatus(e, "io_uring_enter");
#endif
}

class RingObject : public Napi::ObjectWrap<RingObject> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Ring",
                       {
                           InstanceMethod<&RingObject::Start>("start"),
                           InstanceMethod<&RingObject::Accept>("accept"),
                           InstanceMethod<&RingObject::Connect>("connect"),
                           InstanceMethod<&RingObject::Receive>("receive"),
                           InstanceMethod<&RingObject::Send>("send"),
                           InstanceMethod<&RingObject::SendParts>("sendParts"),
                           InstanceMethod<&RingObject::ReceiveMultishot>("receiveMultishot"),
                           InstanceMethod<&RingObject::ReceivePlain>("receivePlain"),
                           InstanceMethod<&RingObject::SendPlain>("sendPlain"),
                           InstanceMethod<&RingObject::Features>("features"),
                           InstanceMethod<&RingObject::SetupBufferRing>("setupBufferRing"),
                           InstanceMethod<&RingObject::Provide>("provide"),
                           InstanceMethod<&RingObject::CloseBufferRing>("closeBufferRing"),
                           InstanceMethod<&RingObject::Cancel>("cancel"),
                           InstanceMethod<&RingObject::Shutdown>("shutdown"),
                           InstanceMethod<&RingObject::Close>("close"),
                           InstanceMethod<&RingObject::Submit>("submit"),
                           InstanceAccessor<&RingObject::InFlight>("inFlight"),
                           InstanceMethod<&RingObject::Listen>("listen"),
                           InstanceMethod<&RingObject::Socket>("socket"),
                           InstanceMethod<&RingObject::CloseSocket>("closeSocket"),
                           InstanceMethod<&RingObject::SocketName>("socketName"),
                           InstanceMethod<&RingObject::SetNoDelay>("setNoDelay"),
                           InstanceMethod<&RingObject::SetKeepAlive>("setKeepAlive"),
                       });
  }

  // Only NewRingObject makes these: info[0] is the backend object, info[1] its RingOwner.
  explicit RingObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RingObject>(info) {
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsExternal()) ThrowType(info.Env(), "rings come from backend.ring()");
    backend_ = Napi::Persistent(info[0].As<Napi::Object>());
    owner_ = info[1].As<Napi::External<RingOwner>>().Data();
    info.This().As<Napi::Object>().TypeTag(&kRingTag);
  }

 private:
  Ring& Open(const Napi::CallbackInfo& info) {
    if (!info.This().IsObject() || !info.This().As<Napi::Object>().CheckTypeTag(&kRingTag)) ThrowType(info.Env(), "not a Ring");
    Ring* r = owner_->ring();
    if (r == nullptr) ThrowCode(info.Env(), Code::kEBADF, "the backend is closed");
    return *r;
  }

  static uint32_t ArgOp(const Napi::CallbackInfo& info, size_t i) {
    double v = ArgSize(info, i, "op");
    if (v < 1 || v > 2147483647.0) ThrowCode(info.Env(), Code::kEINVAL, "op id is not 1 .. 2^31 - 1");
    return static_cast<uint32_t>(v);
  }
  static int ArgFd(const Napi::CallbackInfo& info, size_t i) {
    double v = ArgSize(info, i, "fd");
    if (v > 2147483647.0) ThrowCode(info.Env(), Code::kEINVAL, "fd out of range");
    return static_cast<int>(v);
  }
  static std::string ArgHost(const Napi::CallbackInfo& info, size_t i) {
    if (i >= info.Length() || !info[i].IsString()) ThrowType(info.Env(), "host must be a string");
    return info[i].As<Napi::String>().Utf8Value();
  }

  Napi::Value Queue(const Napi::CallbackInfo& info, Ring& ring, const OpRequest& r) {
    Status s = ring.Queue(r);
    if (!s.ok()) Throw(info.Env(), s);
    owner_->Queued();
    return info.Env().Undefined();
  }

  static OpRequest Request(OpKind kind, uint32_t op, int fd) {
    OpRequest r;
    r.kind = kind;
    r.op = op;
    r.fd = fd;
    return r;
  }

  Napi::Value Start(const Napi::CallbackInfo& info) {
    Open(info);
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) ThrowType(env, "callback must be a function");
    Status s = owner_->StartNotifier(env, info[0].As<Napi::Function>());
    if (!s.ok()) Throw(env, s);
    return env.Undefined();
  }

  Napi::Value Accept(const Napi::CallbackInfo& info) {
    Ring& ring = Open(info);
    return Queue(info, ring, Request(OpKind::kAccept, ArgOp(info, 0), ArgFd(info, 1)));
  }

  Napi::Value Connect(const Napi::CallbackInfo& info) {
    Ring& ring = Open(info);
    unsigned char address[128];
    uint32_t len = 0;
    Status s = os_socket_address(ArgHost(info, 2).c_str(), static_cast<int>(std::min(ArgSize(info, 3, "port"), 65536.0)), address, &len);
    if (!s.ok()) Throw(info.Env(), s);
    OpRequest r = Request(OpKind::kConnect, ArgOp(info, 0), ArgFd(info, 1));
    r.address = address;
    r.address_len = len;
    return Queue(info, ring, r);
  }

  Napi::Value Data(const Napi::CallbackInfo& info, OpKind kind) {
    Ring& ring = Open(info);
    double id = ArgSize(info, 2, "bufferId");
    double offset = ArgSize(info, 3, "offset");
    double length = ArgSize(info, 4, "length");
    if (id > 65535 || length > 4294967295.0) ThrowCode(info.Env(), Code::kEINVAL, "buffer id or length out of range");
    OpRequest r = Request(kind, ArgOp(info, 0), ArgFd(info, 1));
    r.buffer_id = static_cast<uint32_t>(id);
    r.offset = static_cast<uint64_t>(offset);
    r.length = static_cast<uint32_t>(length);
    return Queue(info, ring, r);
  }
  Napi::Value Receive(const Napi::CallbackInfo& info) { return Data(info, OpKind::kReceive); }
  Napi::Value Send(const Napi::CallbackInfo& info) { return Data(info, OpKind::kSend); }

  // sendParts(op, fd, parts, count): parts holds [bufferId, offset, length] per range.
  Napi::Value SendParts(const Napi::CallbackInfo& info) {
    Ring& ring = Open(info);
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      ThrowType(env, "parts must be an Int32Array");
    }
    Napi::Int32Array parts = info[2].As<Napi::Int32Array>();
    double count = ArgSize(info, 3, "count");
    if (count < 1 || count > kMaxParts || count * 3 > static_cast<double>(parts.ElementLength())) {
      ThrowCode(env, Code::kEINVAL, "count is not 1 .. " + std::to_string(kMaxParts) + " ranges within parts");
    }
    Part copied[kMaxParts];
    for (uint32_t i = 0; i < static_cast<uint32_t>(count); i++) {
      const int32_t id = parts[i * 3], offset = parts[i * 3 + 1], length = parts[i * 3 + 2];
      if (id < 0 || offset < 0 || length < 1) ThrowCode(env, Code::kEINVAL, "a range of parts is negative or empty");
      copied[i] = Part{static_cast<uint32_t>(id), static_cast<uint64_t>(offset), static_cast<uint32_t>(length)};
    }
    OpRequest r = Request(OpKind::kSendParts, ArgOp(info, 0), ArgFd(info, 1));
    r.parts = copied;
    r.part_count = static_cast<uint32_t>(count);
    return Queue(info, ring, r);
  }

  Napi::Value ReceiveMultishot(const Napi::CallbackInfo& info) {
    Ring& ring = Open(info);
    return Queue(info, ring, Request(OpKind::kReceiveMultishot, ArgOp(info, 0), ArgFd(info, 1)));
  }

  // receivePlain / sendPlain(op, fd, arrayBuffer, offset, length): memory from map(), not
  // registered. The mapping's count of operations in flight keeps unmap() away until the
  // completion (binding.h, MappingGuard).
  Napi::Value Plain(const Napi::CallbackInfo& info, OpKind kind) {
    Ring& ring = Open(info);
    Napi::Env env = info.Env();
    std::shared_ptr<Mapping> m = FindMapping(env, ArgArrayBuffer(info, 2, "arrayBuffer"));
    double offset = ArgSize(info, 3, "offset");
    double length = ArgSize(info, 4, "length");
    if (length < 1 || length > 4294967295.0 || offset + length > static_cast<double>(m->len)) {
      ThrowCode(env, Code::kEINVAL, "the range lies outside the mapping");
    }
    OpRequest r = Request(kind, ArgOp(info, 0), ArgFd(info, 1));
    r.memory = static_cast<char*>(m->addr) + static_cast<size_t>(offset);
    r.length = static_cast<uint32_t>(length);
    r.hold = std::make_shared<MappingGuard>(m);
    return Queue(info, ring, r);
  }
  Napi::Value ReceivePlain(const Napi::CallbackInfo& info) { return Plain(info, OpKind::kReceivePlain); }
  Napi::Value SendPlain(const Napi::CallbackInfo& info) { return Plain(info, OpKind::kSendPlain); }

  Napi::Value Features(const Napi::CallbackInfo& info) {
    RingFeatures f = Open(info).Features();
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("bufferRing", Napi::Boolean::New(info.Env(), f.buffer_ring));
    Napi::Array setup = Napi::Array::New(info.Env(), f.setup.size());
    for (uint32_t i = 0; i < f.setup.size(); i++) setup.Set(i, Napi::String::New(info.Env(), f.setup[i]));
    o.Set("setup", setup);
    return o;
  }

  Napi::Value SetupBufferRing(const Napi::CallbackInfo& info) {
    Ring& ring = Open(info);
    double entries = ArgSize(info, 0, "entries");
    Status s = ring.SetupBufferRing(entries > 0xFFFFFFFFu ? 0 : static_cast<uint32_t>(entries));
    if (!s.ok()) Throw(info.Env(), s);
    return info.Env().Undefined();
  }

  // provide(bid, bufferId, offset, length): lends a range of a registration to the buffer ring.
  Napi::Value Provide(const Napi::CallbackInfo& info) {
    Ring& ring = Open(info);
    double bid = ArgSize(info, 0, "bid");
    double id = ArgSize(info, 1, "bufferId");
    double offset = ArgSize(info, 2, "offset");
    double length = ArgSize(info, 3, "length");
    if (bid > 65535 || id > 65535 || length > 4294967295.0) ThrowCode(info.Env(), Code::kEINVAL, "bid, buffer id or length out of range");
    Status s = ring.Provide(static_cast<uint16_t>(bid), static_cast<uint32_t>(id), static_cast<uint64_t>(offset), static_cast<uint32_t>(length));
    if (!s.ok()) Throw(info.Env(), s);
    owner_->Queued();
    return info.Env().Undefined();
  }

  Napi::Value CloseBufferRing(const Napi::CallbackInfo& info) {
    Open(info).CloseBufferRing();
    return info.Env().Undefined();
  }

  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    Ring& ring = Open(info);
    OpRequest r = Request(OpKind::kCancel, ArgOp(info, 0), -1);
    r.target = ArgOp(info, 1);
    return Queue(info, ring, r);
  }
  Napi::Value Shutdown(const Napi::CallbackInfo& info) {
    Ring& ring = Open(info);
    return Queue(info, ring, Request(OpKind::kShutdown, ArgOp(info, 0), ArgFd(info, 1)));
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Ring& ring = Open(info);
    return Queue(info, ring, Request(OpKind::kClose, ArgOp(info, 0), ArgFd(info, 1)));
  }

  Napi::Value Submit(const Napi::CallbackInfo& info) {
    int n = Open(info).Submit();
    if (n < 0) Throw(info.Env(), SubmitStatus(-n));
    return Napi::Number::New(info.Env(), n);
  }

  Napi::Value InFlight(const Napi::CallbackInfo& info) {
    Ring* r = owner_->ring();
    return Napi::Number::New(info.Env(), r ? r->InFlight() : 0);
  }

  // listen(host, port, backlog) -> [fd, port]: a listening TCP socket (numeric host).
  Napi::Value Listen(const Napi::CallbackInfo& info) {
    Open(info);
    Napi::Env env = info.Env();
    std::string host = ArgHost(info, 0);
    double port = ArgSize(info, 1, "port");
    double backlog = ArgSize(info, 2, "backlog");
    int fd = -1;
    int bound = 0;
    Status s = os_tcp_listen(host.c_str(), static_cast<int>(std::min(port, 65536.0)), static_cast<int>(std::min(backlog, 65535.0)), &fd,
                             &bound);
    if (!s.ok()) Throw(env, s);
    Napi::Array out = Napi::Array::New(env, 2);
    out.Set(0u, Napi::Number::New(env, fd));
    out.Set(1u, Napi::Number::New(env, bound));
    return out;
  }

  // socket(host) -> fd: a TCP socket of host's family, TCP_NODELAY set, not yet connected.
  Napi::Value Socket(const Napi::CallbackInfo& info) {
    Open(info);
    int fd = -1;
    Status s = os_tcp_socket(ArgHost(info, 0).c_str(), &fd);
    if (!s.ok()) Throw(info.Env(), s);
    return Napi::Number::New(info.Env(), fd);
  }

  // closeSocket(fd): closes a socket that no operation uses (a listener, a socket never connected).
  Napi::Value CloseSocket(const Napi::CallbackInfo& info) {
    Status s = os_close_socket(ArgFd(info, 0));
    if (!s.ok()) Throw(info.Env(), s);
    return info.Env().Undefined();
  }

  static bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* what) {
    if (i >= info.Length() || !info[i].IsBoolean()) ThrowType(info.Env(), std::string(what) + " must be a boolean");
    return info[i].As<Napi::Boolean>().Value();
  }

  // socketName(fd, peer) -> [host, port, family]: getsockname (peer false) or getpeername.
  // Guard: fd a number in range (ArgFd), peer a boolean; the socket is the caller's (TS passes
  // only fds of its own live transports), and an fd that is not a socket is the OS's EBADF /
  // ENOTSOCK, thrown as a coded error.
  Napi::Value SocketName(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int fd = ArgFd(info, 0);
    bool peer = ArgBool(info, 1, "peer");
    char host[64] = {0};
    int port = 0;
    int family = 0;
    Status s = os_socket_name(fd, peer, host, sizeof host, &port, &family);
    if (!s.ok()) Throw(env, s);
    Napi::Array out = Napi::Array::New(env, 3);
    out.Set(0u, Napi::String::New(env, host));
    out.Set(1u, Napi::Number::New(env, port));
    out.Set(2u, Napi::Number::New(env, family));
    return out;
  }

  // setNoDelay(fd, on): TCP_NODELAY. Guard: fd in range, on a boolean; the socket is the caller's.
  Napi::Value SetNoDelay(const Napi::CallbackInfo& info) {
    int fd = ArgFd(info, 0);
    Status s = os_tcp_nodelay(fd, ArgBool(info, 1, "on"));
    if (!s.ok()) Throw(info.Env(), s);
    return info.Env().Undefined();
  }

  // setKeepAlive(fd, on, idleSeconds): SO_KEEPALIVE, and TCP_KEEPIDLE when on and idleSeconds > 0.
  // Guard: fd in range, on a boolean, idleSeconds 0 .. 32767 (os_tcp_keepalive's precondition);
  // TS converts node:net's initialDelay in milliseconds.
  Napi::Value SetKeepAlive(const Napi::CallbackInfo& info) {
    int fd = ArgFd(info, 0);
    bool on = ArgBool(info, 1, "on");
    double idle = ArgSize(info, 2, "idleSeconds");
    if (idle > 32767) ThrowCode(info.Env(), Code::kEINVAL, "idleSeconds is not 0 .. 32767");
    Status s = os_tcp_keepalive(fd, on, static_cast<int>(idle));
    if (!s.ok()) Throw(info.Env(), s);
    return info.Env().Undefined();
  }

  Napi::ObjectReference backend_;
  RingOwner* owner_ = nullptr;
};

}  // namespace

void DefineRing(Napi::Env env) {
  GetState(env)->ring_constructor = Napi::Persistent(RingObject::Define(env));
}

Napi::Object NewRingObject(Napi::Env env, Napi::Object backend, RingOwner* owner) {
  return GetState(env)->ring_constructor.New({backend, Napi::External<RingOwner>::New(env, owner)});
}

}  // namespace riopool
