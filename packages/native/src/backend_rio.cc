// riopool native core: the `rio` backend (Windows registered I/O).
//
// At open: WSAStartup, a socket created with WSA_FLAG_REGISTERED_IO, and the RIO function table
// from WSAIoctl(SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER, WSAID_MULTIPLE_RIO). Register
// calls RIORegisterBuffer and stores the RIO_BUFFERID in a table; the buffer id riopool hands
// out is the table index (RIO_BUFFERID is an opaque pointer-sized handle, not a small integer).
// RIO_INVALID_BUFFERID is turned into a Status from WSAGetLastError, following the
// RIORegisterBuffer error table: WSAEFAULT -> EFAULT, WSAEINVAL -> EINVAL.
//
// Ring (RIOReceive / RIOSend): one completion queue (RIOCreateCompletionQueue, signalled
// through an event) for the backend, one request queue per socket (RIOCreateRequestQueue, made at
// its first operation); a receive or send is a RIO_BUF of (the registration's RIO_BUFFERID,
// offset, length), queued with RIO_MSG_DEFER and committed by Submit (RIO_MSG_COMMIT_ONLY), so a
// turn's operations reach the kernel together; RIODequeueCompletion drains results, and each
// registration counts its operations in flight (Deregister refuses with EBUSY), as for uring.
// Not built yet, each an ENOSYS: accept, connect, shutdown, close and cancel (RIO has none; they
// would be AcceptEx / ConnectEx / closesocket), and the completion event's wiring into Node's
// loop (ReadyFd). The pool therefore runs the `net` datapath on Windows (docs/native.md).
#ifdef _WIN32

#include "rio_compat.h"

#include <string>
#include <unordered_map>
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

class RioBackend final : public Backend, public Ring {
 public:
  RioBackend(SOCKET socket, const RIO_EXTENSION_FUNCTION_TABLE& table, uint32_t entries)
      : socket_(socket),
        table_(table),
        ids_(entries),
        handles_(entries, RIO_INVALID_BUFFERID),
        lengths_(entries, 0),
        in_flight_(entries, 0) {}
  ~RioBackend() override { Close(); }

  const char* kind() const override { return "rio"; }
  bool locks() const override { return true; }
  uint32_t capacity() const override { return ids_.limit(); }
  Ring* ring() override { return socket_ == INVALID_SOCKET ? nullptr : this; }

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
    lengths_[slot] = len;
    *id = slot;
    return Status::Ok();
  }

  Status Deregister(uint32_t id, bool /*memory_gone*/) override {
    if (socket_ == INVALID_SOCKET) return Status::Fail(Code::kEBADF, 0, "the rio backend is closed");
    if (in_flight_[id] != 0) {
      return Status::Fail(Code::kEBUSY, 0, "buffer id " + std::to_string(id) + " has operations in flight");
    }
    table_.RIODeregisterBuffer(handles_[id]);
    handles_[id] = RIO_INVALID_BUFFERID;
    lengths_[id] = 0;
    ids_.Put(id);
    return Status::Ok();
  }

  void Close() override {
    if (socket_ == INVALID_SOCKET) return;
    // Closing a socket cancels its RIO requests; the completion queue goes after them.
    request_queues_.clear();
    if (cq_ != RIO_INVALID_CQ) table_.RIOCloseCompletionQueue(cq_);
    cq_ = RIO_INVALID_CQ;
    if (event_ != nullptr) CloseHandle(event_);
    event_ = nullptr;
    for (auto& h : handles_) {
      if (h != RIO_INVALID_BUFFERID) table_.RIODeregisterBuffer(h);
      h = RIO_INVALID_BUFFERID;
    }
    closesocket(socket_);
    socket_ = INVALID_SOCKET;
    WSACleanup();
  }

  // ------------------------------------------------------------------------------------------
  // Ring

  Status Queue(const OpRequest& r) override {
    if (socket_ == INVALID_SOCKET) return Status::Fail(Code::kEBADF, 0, "the rio backend is closed");
    if (r.kind != OpKind::kReceive && r.kind != OpKind::kSend) {
      return Status::Fail(Code::kENOSYS, 0, "the rio ring has receive and send only (accept, connect, shutdown, close, cancel: not built)");
    }
    if (r.op == 0 || pending_.count(r.op) != 0) return Status::Fail(Code::kEINVAL, 0, "op id is 0 or already in flight");
    if (r.buffer_id >= handles_.size() || handles_[r.buffer_id] == RIO_INVALID_BUFFERID) {
      return Status::Fail(Code::kEFAULT, 0, "buffer id " + std::to_string(r.buffer_id) + " is not registered");
    }
    if (r.length == 0 || r.offset > lengths_[r.buffer_id] || r.length > lengths_[r.buffer_id] - r.offset) {
      return Status::Fail(Code::kEINVAL, 0, "the range lies outside buffer id " + std::to_string(r.buffer_id));
    }
    Status s = EnsureQueues(r.fd);
    if (!s.ok()) return s;
    RIO_BUF buf;
    buf.BufferId = handles_[r.buffer_id];
    buf.Offset = static_cast<ULONG>(r.offset);
    buf.Length = r.length;
    RIO_RQ rq = request_queues_[r.fd];
    PVOID context = reinterpret_cast<PVOID>(static_cast<uintptr_t>(r.op));
    BOOL ok = r.kind == OpKind::kReceive ? table_.RIOReceive(rq, &buf, 1, RIO_MSG_DEFER, context)
                                         : table_.RIOSend(rq, &buf, 1, RIO_MSG_DEFER, context);
    if (!ok) return WsaStatus(WSAGetLastError(), r.kind == OpKind::kReceive ? "RIOReceive" : "RIOSend");
    in_flight_[r.buffer_id]++;
    pending_.emplace(r.op, r.buffer_id);
    uncommitted_.push_back(rq);
    return Status::Ok();
  }

  // Commits the deferred requests of each request queue that has some: one call per socket.
  int Submit() override {
    int n = static_cast<int>(uncommitted_.size());
    RIO_RQ last = RIO_INVALID_RQ;
    for (RIO_RQ rq : uncommitted_) {
      if (rq == last) continue;
      table_.RIOSend(rq, nullptr, 0, RIO_MSG_COMMIT_ONLY, nullptr);
      last = rq;
    }
    uncommitted_.clear();
    return n;
  }

  RingFeatures Features() const override { return RingFeatures{}; }

  Status SetupBufferRing(uint32_t) override {
    return Status::Fail(Code::kENOSYS, 0, "the rio ring has no buffer ring");
  }

  Status Provide(uint16_t, uint32_t, uint64_t, uint32_t) override {
    return Status::Fail(Code::kENOSYS, 0, "the rio ring has no buffer ring");
  }

  void CloseBufferRing() override {}

  int ReadyFd() const override { return -1; }  // completions are not wired into the event loop

  unsigned Drain(void (*report)(void*, uint32_t, int32_t, uint32_t), void* context) override {
    if (cq_ == RIO_INVALID_CQ) return 0;
    RIORESULT results[256];
    unsigned total = 0;
    for (;;) {
      ULONG n = table_.RIODequeueCompletion(cq_, results, 256);
      if (n == 0 || n == RIO_CORRUPT_CQ) break;
      for (ULONG i = 0; i < n; i++) {
        const uint32_t op = static_cast<uint32_t>(results[i].RequestContext);
        auto it = pending_.find(op);
        if (it == pending_.end()) continue;
        in_flight_[it->second]--;
        pending_.erase(it);
        const int32_t res = results[i].Status == 0 ? static_cast<int32_t>(results[i].BytesTransferred) : -results[i].Status;
        if (report != nullptr) report(context, op, res, 0);
      }
      total += n;
    }
    return total;
  }

  uint32_t InFlight() const override { return static_cast<uint32_t>(pending_.size()); }

 private:
  // The completion queue (once) and the socket's request queue (at its first operation).
  Status EnsureQueues(int fd) {
    if (cq_ == RIO_INVALID_CQ) {
      event_ = CreateEventW(nullptr, FALSE, FALSE, nullptr);
      if (event_ == nullptr) return Status::Fail(Code::kEIO, static_cast<int>(GetLastError()), "CreateEventW failed");
      RIO_NOTIFICATION_COMPLETION notify;
      ZeroMemory(&notify, sizeof notify);
      notify.Type = RIO_EVENT_COMPLETION;
      notify.Event.EventHandle = event_;
      notify.Event.NotifyReset = TRUE;
      cq_ = table_.RIOCreateCompletionQueue(kCqSize, &notify);
      if (cq_ == RIO_INVALID_CQ) return WsaStatus(WSAGetLastError(), "RIOCreateCompletionQueue");
    }
    if (request_queues_.count(fd) == 0) {
      RIO_RQ rq = table_.RIOCreateRequestQueue(static_cast<SOCKET>(fd), kPerSocket, 1, kPerSocket, 1, cq_, cq_, nullptr);
      if (rq == RIO_INVALID_RQ) return WsaStatus(WSAGetLastError(), "RIOCreateRequestQueue");
      request_queues_[fd] = rq;
    }
    return Status::Ok();
  }

  static constexpr DWORD kCqSize = 4096;
  static constexpr ULONG kPerSocket = 64;

  SOCKET socket_;
  RIO_EXTENSION_FUNCTION_TABLE table_;
  IdTable ids_;
  std::vector<RIO_BUFFERID> handles_;
  std::vector<size_t> lengths_;
  std::vector<uint32_t> in_flight_;
  RIO_CQ cq_ = RIO_INVALID_CQ;
  HANDLE event_ = nullptr;
  std::unordered_map<int, RIO_RQ> request_queues_;
  std::unordered_map<uint32_t, uint32_t> pending_;  // op id -> buffer id
  std::vector<RIO_RQ> uncommitted_;
};

}  // namespace

std::unique_ptr<Backend> OpenRioBackend(uint32_t entries, Status* status) {
  if (entries == 0 || entries > kMaxRegistrations) {
    *status = Status::Fail(Code::kEINVAL, 0, "table entries " + std::to_string(entries) + " are not 1 .. " + std::to_string(kMaxRegistrations));
    return nullptr;
  }
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
