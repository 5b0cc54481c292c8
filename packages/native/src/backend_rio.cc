// riopool native core: the `rio` backend (Windows registered I/O).
//
// At open: WSAStartup, a socket created with WSA_FLAG_REGISTERED_IO, and the RIO function table
// from WSAIoctl(SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER, WSAID_MULTIPLE_RIO). Register
// calls RIORegisterBuffer and stores the RIO_BUFFERID in a table; the buffer id riopool hands
// out is the table index (RIO_BUFFERID is an opaque pointer-sized handle, not a small integer).
// RIO_INVALID_BUFFERID is turned into a Status from WSAGetLastError, following the
// RIORegisterBuffer error table: WSAEFAULT -> EFAULT, WSAEINVAL -> EINVAL.
#ifdef _WIN32

#include "rio_compat.h"

#include <string>
#include <vector>

#include "backend.h"

namespace riopool {
namespace {

Status WsaStatus(int e, const char* what) {
  Code code = Code::kEIO;
  switch (e) {
    case WSAEFAULT: code = Code::kEFAULT; break;
    case WSAEINVAL: code = Code::kEINVAL; break;
    case WSAENOBUFS:
    case WSA_NOT_ENOUGH_MEMORY:
    case ERROR_WORKING_SET_QUOTA: code = Code::kENOMEM; break;
    case WSAEACCES: code = Code::kEPERM; break;
    default: break;
  }
  Status s = Status::Fail(code, e, std::string(what) + " failed with Winsock error " + std::to_string(e));
  if (code == Code::kENOMEM) s.limit = MemlockLimit();
  return s;
}

class RioBackend final : public Backend {
 public:
  RioBackend(SOCKET socket, const RIO_EXTENSION_FUNCTION_TABLE& table, uint32_t entries)
      : socket_(socket), table_(table), ids_(entries), handles_(entries, RIO_INVALID_BUFFERID) {}
  ~RioBackend() override { Close(); }

  const char* kind() const override { return "rio"; }
  bool locks() const override { return true; }
  uint32_t capacity() const override { return ids_.limit(); }

  Status Register(void* addr, size_t len, uint32_t* id) override {
    if (socket_ == INVALID_SOCKET) return Status::Fail(Code::kEBADF, 0, "the rio backend is closed");
    if (len > 0xFFFFFFFFu) return Status::Fail(Code::kEINVAL, 0, "RIORegisterBuffer takes at most 4 GiB");
    uint32_t slot;
    if (!ids_.Take(&slot)) {
      return Status::Fail(Code::kENOSPC, 0, "every rio registration id is in use");
    }
    RIO_BUFFERID handle = table_.RIORegisterBuffer(static_cast<PCHAR>(addr), static_cast<DWORD>(len));
    if (handle == RIO_INVALID_BUFFERID) {
      ids_.Put(slot);
      return WsaStatus(WSAGetLastError(), "RIORegisterBuffer");
    }
    handles_[slot] = handle;
    *id = slot;
    return Status::Ok();
  }

  Status Deregister(uint32_t id, bool /*memory_gone*/) override {
    if (socket_ == INVALID_SOCKET) return Status::Fail(Code::kEBADF, 0, "the rio backend is closed");
    table_.RIODeregisterBuffer(handles_[id]);
    handles_[id] = RIO_INVALID_BUFFERID;
    ids_.Put(id);
    return Status::Ok();
  }

  void Close() override {
    if (socket_ == INVALID_SOCKET) return;
    for (auto& h : handles_) {
      if (h != RIO_INVALID_BUFFERID) table_.RIODeregisterBuffer(h);
      h = RIO_INVALID_BUFFERID;
    }
    closesocket(socket_);
    socket_ = INVALID_SOCKET;
    WSACleanup();
  }

 private:
  SOCKET socket_;
  RIO_EXTENSION_FUNCTION_TABLE table_;
  IdTable ids_;
  std::vector<RIO_BUFFERID> handles_;
};

}  // namespace

std::unique_ptr<Backend> OpenRioBackend(uint32_t entries, Status* status) {
  WSADATA data;
  int e = WSAStartup(MAKEWORD(2, 2), &data);
  if (e != 0) {
    *status = WsaStatus(e, "WSAStartup");
    return nullptr;
  }
  SOCKET s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, WSA_FLAG_REGISTERED_IO);
  if (s == INVALID_SOCKET) {
    *status = WsaStatus(WSAGetLastError(), "WSASocketW(WSA_FLAG_REGISTERED_IO)");
    WSACleanup();
    return nullptr;
  }
  GUID id = WSAID_MULTIPLE_RIO;
  RIO_EXTENSION_FUNCTION_TABLE table;
  ZeroMemory(&table, sizeof table);
  table.cbSize = sizeof table;
  DWORD bytes = 0;
  if (WSAIoctl(s, SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER, &id, sizeof id, &table,
               sizeof table, &bytes, nullptr, nullptr) != 0) {
    *status = WsaStatus(WSAGetLastError(), "WSAIoctl(WSAID_MULTIPLE_RIO)");
    closesocket(s);
    WSACleanup();
    return nullptr;
  }
  return std::unique_ptr<Backend>(new RioBackend(s, table, entries));
}

}  // namespace riopool

#else  // not Windows

#include "backend.h"

namespace riopool {
std::unique_ptr<Backend> OpenRioBackend(uint32_t, Status* status) {
  *status = Status::Fail(Code::kENOSYS, 0, "the rio backend is only built on Windows");
  return nullptr;
}
}  // namespace riopool

#endif
