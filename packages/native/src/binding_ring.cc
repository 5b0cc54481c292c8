// riopool native core: the binding's socket calls for the registered-I/O datapath (thin calls
// into prim.h): tcpListen(host, port, backlog) -> [fd, port], tcpSocket(host) -> fd,
// closeSocket(fd). Accepting, connecting, sending, receiving and closing a connection's socket
// are ring operations (registrar.cc); these are the plain calls around them.
#include <napi.h>

#include <algorithm>
#include <string>

#include "binding.h"
#include "prim.h"

namespace riopool {
namespace {


// tcpListen(host, port, backlog) -> [fd, port]: a listening TCP socket (numeric host).
Napi::Value TcpListen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) ThrowType(env, "host must be a string");
  std::string host = info[0].As<Napi::String>().Utf8Value();
  double port = ArgSize(info, 1, "port");
  double backlog = ArgSize(info, 2, "backlog");
  if (port > 65535) ThrowCode(env, Code::kEINVAL, "port must be 0 .. 65535");
  int fd = -1;
  int bound = 0;
  Status s = os_tcp_listen(host.c_str(), static_cast<int>(port), static_cast<int>(std::min(backlog, 65535.0)), &fd, &bound);
  if (!s.ok()) Throw(env, s);
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, fd));
  out.Set(1u, Napi::Number::New(env, bound));
  return out;
}

// tcpSocket(host) -> fd: a TCP socket of host's family, TCP_NODELAY set, not yet connected.
Napi::Value TcpSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) ThrowType(env, "host must be a string");
  int fd = -1;
  Status s = os_tcp_socket(info[0].As<Napi::String>().Utf8Value().c_str(), &fd);
  if (!s.ok()) Throw(env, s);
  return Napi::Number::New(env, fd);
}

// closeSocket(fd): closes a socket that no operation uses (a listener, a socket never connected).
Napi::Value CloseSocket(const Napi::CallbackInfo& info) {
  Status s = os_close_socket(static_cast<int>(ArgSize(info, 0, "fd")));
  if (!s.ok()) Throw(info.Env(), s);
  return info.Env().Undefined();
}

}  // namespace

void DefineSockets(Napi::Env env, Napi::Object exports) {
  exports.Set("tcpListen", Napi::Function::New<TcpListen>(env, "tcpListen"));
  exports.Set("tcpSocket", Napi::Function::New<TcpSocket>(env, "tcpSocket"));
  exports.Set("closeSocket", Napi::Function::New<CloseSocket>(env, "closeSocket"));
}

}  // namespace riopool
