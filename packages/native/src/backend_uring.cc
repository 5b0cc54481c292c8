// riopool native core: the `uring` backend (Linux): registrations and the ring of registered
// I/O on one io_uring.
//
// Registrations. At open, the ring's fixed-buffer table is registered empty
// (IORING_REGISTER_BUFFERS2 with IORING_RSRC_REGISTER_SPARSE), `entries` slots long (the kernel
// allows at most 16,384). Register fills one slot with IORING_REGISTER_BUFFERS_UPDATE; Deregister
// clears it with the same call and an empty iovec. The buffer id is the slot index. The kernel
// charges each registration's pages to the user's locked memory (VmPin), per registration: two
// registrations sharing a page pay for it twice.
//
// Ring. Receive and Send are IORING_OP_READ_FIXED / WRITE_FIXED on the socket with
// buf_index = the buffer id, so the kernel reads and writes the slab through the registration
// (no per-operation page pinning); SendParts is one IORING_OP_SENDMSG over several ranges of
// registrations. A multishot receive (IORING_OP_RECV with IORING_RECV_MULTISHOT) takes its
// buffers from the buffer ring (buffer_ring_uring.h), whose buffers are ranges of registrations
// too. ReceivePlain / SendPlain (RECV / SEND) move memory that is not registered (the pool's
// overflow slabs), kept mapped by the binding's guard until they complete. Accept, Connect,
// Shutdown and Close are the ring's own operations, Cancel is IORING_OP_ASYNC_CANCEL by op id.
// Sockets stay blocking: io_uring then arms a poll and completes the operation when the socket
// is ready, instead of failing with EAGAIN. Completions are signalled on an eventfd
// (IORING_REGISTER_EVENTFD) that the binding watches from Node's event loop.
//
// Rule 2 of docs/design.md, enforced here too: each registration counts the operations in flight
// on it and the buffers of it lent to the buffer ring, and Deregister refuses (EBUSY) while it
// has any. Close() with operations in flight cancels them all and waits for their completions
// before the buffer ring and the table are unregistered, so the kernel never touches a slab
// after riopool may unmap it.
//
// Over 300 lines for a reason: the registrations and the ring share each registration's count
// of operations in flight, which is that guard; apart, the counts would have to be shared state
// between two files. The buffer ring's own bookkeeping is in buffer_ring_uring.cc.
#if defined(__linux__) && __has_include(<linux/io_uring.h>)

#include <linux/io_uring.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>
#include <memory>
#include <unordered_map>
#include <vector>

#include "backend.h"
#include "buffer_ring_uring.h"
#include "ring_uring.h"
#include "uring_uapi.h"

namespace riopool {
namespace {

// Submission and completion queue sizes: completions may outnumber submissions in one turn
// (every connection's receive and send), and the kernel keeps overflow beyond the CQ anyway.
constexpr unsigned kSqEntries = 256;
constexpr unsigned kCqEntries = 4096;
// user_data of the backend's own cancel-everything at close: no op id (they are 32-bit).
constexpr uint64_t kInternal = uint64_t{1} << 63;

int SysRegister(int fd, unsigned op, void* arg, unsigned nr) {
  return static_cast<int>(syscall(__NR_io_uring_register, fd, op, arg, nr));
}

struct Registration {
  char* addr = nullptr;
  size_t len = 0;
  uint32_t in_flight = 0;
};

// SendParts' message: kept until the completion.
struct Message {
  msghdr header;
  iovec iov[kMaxParts];
};

struct Pending {
  OpKind kind;
  // The registrations the operation reads or writes, one entry per range (none for most).
  std::vector<uint32_t> buffer_ids;
  std::unique_ptr<sockaddr_storage> address;  // Connect: kept until the completion
  std::unique_ptr<Message> message;            // SendParts: kept until the completion
  std::shared_ptr<void> hold;                  // ReceivePlain / SendPlain: the memory's guard
};

class UringBackend final : public Backend, public Ring {
 public:
  explicit UringBackend(uint32_t entries) : ids_(entries), regs_(entries) {}
  ~UringBackend() override { Close(); }

  Status Open() {
    Status s = queues_.Open(kSqEntries, kCqEntries);
    if (!s.ok()) return s;
    io_uring_rsrc_register reg;
    std::memset(&reg, 0, sizeof reg);
    reg.nr = ids_.limit();
    reg.flags = IORING_RSRC_REGISTER_SPARSE;
    if (SysRegister(queues_.fd(), IORING_REGISTER_BUFFERS2, &reg, sizeof reg) < 0) {
      int e = errno;
      queues_.Close();
      return ErrnoStatus(e, "io_uring_register(IORING_REGISTER_BUFFERS2, sparse)");
    }
    features_.buffer_ring = BufferRing::Probe(queues_.fd());
    const unsigned setup = queues_.setup_flags();
    if (setup & IORING_SETUP_COOP_TASKRUN) features_.setup.push_back("COOP_TASKRUN");
    if (setup & IORING_SETUP_TASKRUN_FLAG) features_.setup.push_back("TASKRUN_FLAG");
    if (setup & IORING_SETUP_SINGLE_ISSUER) features_.setup.push_back("SINGLE_ISSUER");
    return Status::Ok();
  }

  const char* kind() const override { return "uring"; }
  bool locks() const override { return true; }
  uint32_t capacity() const override { return ids_.limit(); }
  Ring* ring() override { return queues_.fd() >= 0 ? this : nullptr; }

  Status Register(void* addr, size_t len, uint32_t* id) override {
    assert(addr != nullptr && len > 0);
    if (queues_.fd() < 0) return Status::Fail(Code::kEBADF, EBADF, "the io_uring backend is closed");
    uint32_t slot;
    if (!ids_.Take(&slot)) {
      return Status::Fail(Code::kENOSPC, ENOSPC, "the io_uring fixed-buffer table is full (" + std::to_string(ids_.limit()) + " registrations)");
    }
    int err = Update(slot, addr, len);
    if (err != 0) {
      ids_.Put(slot);
      if (err == ENOMEM || err == EPERM || err == EAGAIN) {
        Status s = Status::Fail(err == EPERM ? Code::kEPERM : Code::kENOMEM, err,
                                "io_uring could not pin " + std::to_string(len) + " bytes (" + std::strerror(err) + ")");
        s.limit = MemlockLimit();
        return s;
      }
      return ErrnoStatus(err, "io_uring_register(IORING_REGISTER_BUFFERS_UPDATE)");
    }
    regs_[slot] = Registration{static_cast<char*>(addr), len, 0};
    *id = slot;
    return Status::Ok();
  }

  Status Deregister(uint32_t id, bool /*memory_gone*/) override {
    if (queues_.fd() < 0) return Status::Fail(Code::kEBADF, EBADF, "the io_uring backend is closed");
    assert(id < regs_.size() && regs_[id].addr != nullptr);
    if (regs_[id].in_flight != 0) {
      return Status::Fail(Code::kEBUSY, EBUSY,
                          "buffer id " + std::to_string(id) + " has " + std::to_string(regs_[id].in_flight) +
                              " operation(s) in flight or buffer(s) lent to the buffer ring");
    }
    // Clearing the slot only drops the kernel's page references: safe even when the mapping is
    // already gone.
    int err = Update(id, nullptr, 0);
    if (err != 0) return ErrnoStatus(err, "io_uring_register(IORING_REGISTER_BUFFERS_UPDATE)");
    regs_[id] = Registration{};
    ids_.Put(id);
    return Status::Ok();
  }

  void Close() override {
    if (queues_.fd() < 0) return;
    CancelAllAndWait();
    CloseBufferRing();
    // Unregister the whole table first: closing the ring alone releases the pins later, from a
    // kernel worker, and VmPin would still count them when Close returns.
    SysRegister(queues_.fd(), IORING_UNREGISTER_BUFFERS, nullptr, 0);
    queues_.Close();
  }

  // ------------------------------------------------------------------------------------------
  // Ring

  RingFeatures Features() const override { return features_; }

  Status Queue(const OpRequest& r) override {
    if (queues_.fd() < 0) return Status::Fail(Code::kEBADF, EBADF, "the io_uring backend is closed");
    if (r.op == 0 || pending_.count(r.op) != 0) return Status::Fail(Code::kEINVAL, EINVAL, "op id is 0 or already in flight");
    Pending p{r.kind, {}, nullptr, nullptr, nullptr};
    char* addr = nullptr;
    if (r.kind == OpKind::kReceive || r.kind == OpKind::kSend) {
      Status s = Range(r.buffer_id, r.offset, r.length, &addr);
      if (!s.ok()) return s;
      p.buffer_ids.push_back(r.buffer_id);
    } else if (r.kind == OpKind::kSendParts) {
      if (r.part_count == 0 || r.part_count > kMaxParts) return Status::Fail(Code::kEINVAL, EINVAL, "part count out of range");
      p.message.reset(new Message);
      std::memset(&p.message->header, 0, sizeof p.message->header);
      for (uint32_t i = 0; i < r.part_count; i++) {
        const Part& part = r.parts[i];
        char* base = nullptr;
        Status s = Range(part.buffer_id, part.offset, part.length, &base);
        if (!s.ok()) return s;
        p.message->iov[i].iov_base = base;
        p.message->iov[i].iov_len = part.length;
        p.buffer_ids.push_back(part.buffer_id);
      }
      p.message->header.msg_iov = p.message->iov;
      p.message->header.msg_iovlen = r.part_count;
    } else if (r.kind == OpKind::kReceivePlain || r.kind == OpKind::kSendPlain) {
      if (r.memory == nullptr || r.length == 0 || !r.hold) return Status::Fail(Code::kEINVAL, EINVAL, "no memory to move");
      p.hold = r.hold;
    } else if (r.kind == OpKind::kReceiveMultishot) {
      if (!buffers_.open()) return Status::Fail(Code::kEINVAL, EINVAL, "the buffer ring is not set up");
    } else if (r.kind == OpKind::kConnect) {
      if (r.address_len == 0 || r.address_len > sizeof(sockaddr_storage)) return Status::Fail(Code::kEINVAL, EINVAL, "bad address");
      p.address.reset(new sockaddr_storage);
      std::memcpy(p.address.get(), r.address, r.address_len);
    }
    io_uring_sqe* sqe = NextSqe();
    if (sqe == nullptr) return Status::Fail(Code::kENOSPC, ENOSPC, "the submission queue is full");
    sqe->user_data = r.op;
    sqe->fd = r.fd;
    switch (r.kind) {
      case OpKind::kAccept:
        sqe->opcode = IORING_OP_ACCEPT;
        sqe->accept_flags = SOCK_CLOEXEC;
        break;
      case OpKind::kConnect:
        sqe->opcode = IORING_OP_CONNECT;
        sqe->addr = reinterpret_cast<uint64_t>(p.address.get());
        sqe->off = r.address_len;
        break;
      case OpKind::kReceive:
      case OpKind::kSend:
        sqe->opcode = r.kind == OpKind::kReceive ? IORING_OP_READ_FIXED : IORING_OP_WRITE_FIXED;
        sqe->addr = reinterpret_cast<uint64_t>(addr);
        sqe->len = r.length;
        sqe->buf_index = static_cast<uint16_t>(r.buffer_id);
        sqe->off = 0;
        break;
      case OpKind::kSendParts:
        sqe->opcode = IORING_OP_SENDMSG;
        sqe->addr = reinterpret_cast<uint64_t>(&p.message->header);
        sqe->len = 1;
        sqe->msg_flags = MSG_NOSIGNAL;
        break;
      case OpKind::kReceiveMultishot:
        sqe->opcode = IORING_OP_RECV;
        sqe->ioprio = kRecvMultishot;
        sqe->flags = IOSQE_BUFFER_SELECT;
        sqe->buf_group = kBufferGroup;
        break;
      case OpKind::kReceivePlain:
      case OpKind::kSendPlain:
        sqe->opcode = r.kind == OpKind::kReceivePlain ? IORING_OP_RECV : IORING_OP_SEND;
        sqe->addr = reinterpret_cast<uint64_t>(r.memory);
        sqe->len = r.length;
        if (r.kind == OpKind::kSendPlain) sqe->msg_flags = MSG_NOSIGNAL;
        break;
      case OpKind::kCancel:
        sqe->opcode = IORING_OP_ASYNC_CANCEL;
        sqe->addr = r.target;
        sqe->fd = -1;
        break;
      case OpKind::kShutdown:
        sqe->opcode = IORING_OP_SHUTDOWN;
        sqe->len = SHUT_WR;
        break;
      case OpKind::kClose:
        sqe->opcode = IORING_OP_CLOSE;
        break;
    }
    for (uint32_t id : p.buffer_ids) regs_[id].in_flight++;
    pending_.emplace(r.op, std::move(p));
    return Status::Ok();
  }

  int Submit() override { return queues_.Submit(); }

  int ReadyFd() const override { return queues_.fd(); }

  unsigned Drain(void (*report)(void*, uint32_t, int32_t, uint32_t), void* context) override {
    queues_.RunPendingWork();
    return queues_.Drain([&](uint64_t user_data, int32_t res, uint32_t flags) {
      if (user_data & kInternal) return;
      const uint32_t op = static_cast<uint32_t>(user_data);
      auto it = pending_.find(op);
      assert(it != pending_.end());  // every completion is of an operation we queued
      if (it == pending_.end()) return;
      uint32_t owner = 0;
      if ((flags & kCqeBuffer) != 0 && it->second.kind == OpKind::kReceiveMultishot && buffers_.Completed(flags, &owner)) {
        assert(regs_[owner].in_flight > 0);
        regs_[owner].in_flight--;  // the kernel is done with that lent buffer
      }
      // A multishot operation stays in flight while its completions say more will come.
      const bool more = it->second.kind == OpKind::kReceiveMultishot && (flags & kCqeMore) != 0;
      if (!more) {
        for (uint32_t id : it->second.buffer_ids) {
          assert(regs_[id].in_flight > 0);
          regs_[id].in_flight--;
        }
        pending_.erase(it);
      }
      if (report != nullptr) report(context, op, res, flags);
    });
  }

  uint32_t InFlight() const override { return static_cast<uint32_t>(pending_.size()); }

  Status SetupBufferRing(uint32_t entries) override {
    if (queues_.fd() < 0) return Status::Fail(Code::kEBADF, EBADF, "the io_uring backend is closed");
    if (!features_.buffer_ring) return Status::Fail(Code::kENOSYS, ENOSYS, "this kernel has no incremental buffer ring");
    if (buffers_.open()) return Status::Fail(Code::kEINVAL, EINVAL, "the buffer ring is set up already");
    return buffers_.Open(queues_.fd(), entries);
  }

  Status Provide(uint16_t bid, uint32_t buffer_id, uint64_t offset, uint32_t length) override {
    if (queues_.fd() < 0) return Status::Fail(Code::kEBADF, EBADF, "the io_uring backend is closed");
    if (!buffers_.open()) return Status::Fail(Code::kEINVAL, EINVAL, "the buffer ring is not set up");
    char* addr = nullptr;
    Status s = Range(buffer_id, offset, length, &addr);
    if (!s.ok()) return s;
    s = buffers_.Add(bid, addr, length, buffer_id);
    if (!s.ok()) return s;
    regs_[buffer_id].in_flight++;  // until the kernel is done with it (Drain)
    return Status::Ok();
  }

  void CloseBufferRing() override {
    if (!buffers_.open()) return;
    // The kernel lets go of every lent buffer with the buffer ring.
    for (uint32_t id : buffers_.LentOwners()) regs_[id].in_flight--;
    buffers_.Close(queues_.fd());
  }

 private:
  // The address of [offset, offset + length) of registration `id`: EFAULT for an id that is not
  // registered, EINVAL for a range outside it.
  Status Range(uint32_t id, uint64_t offset, uint32_t length, char** addr) const {
    if (id >= regs_.size() || regs_[id].addr == nullptr) {
      return Status::Fail(Code::kEFAULT, EFAULT, "buffer id " + std::to_string(id) + " is not registered");
    }
    const Registration& reg = regs_[id];
    if (length == 0 || offset > reg.len || length > reg.len - offset) {
      return Status::Fail(Code::kEINVAL, EINVAL, "the range lies outside buffer id " + std::to_string(id));
    }
    *addr = reg.addr + offset;
    return Status::Ok();
  }

  // An SQE, submitting what is queued first if the queue is full.
  io_uring_sqe* NextSqe() {
    io_uring_sqe* sqe = queues_.NextSqe();
    if (sqe == nullptr && queues_.Submit() > 0) sqe = queues_.NextSqe();
    return sqe;
  }

  // Cancels every operation in flight and waits for all of their completions (dropping them).
  void CancelAllAndWait() {
    if (pending_.empty()) return;
    io_uring_sqe* sqe = NextSqe();
    if (sqe != nullptr) {
      sqe->opcode = IORING_OP_ASYNC_CANCEL;
      sqe->fd = -1;
      sqe->cancel_flags = IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL;
      sqe->user_data = kInternal;
    }
    queues_.Submit();
    while (!pending_.empty()) {
      if (Drain(nullptr, nullptr) > 0) continue;
      if (queues_.Unsubmitted() > 0) queues_.Submit();
      if (queues_.WaitOne() < 0) break;
    }
  }

  // Returns 0 or an errno value.
  int Update(uint32_t slot, void* addr, size_t len) {
    struct iovec iov;
    iov.iov_base = addr;
    iov.iov_len = len;
    io_uring_rsrc_update2 up;
    std::memset(&up, 0, sizeof up);
    up.offset = slot;
    up.data = reinterpret_cast<uint64_t>(&iov);
    up.nr = 1;
    int r = SysRegister(queues_.fd(), IORING_REGISTER_BUFFERS_UPDATE, &up, sizeof up);
    return r < 0 ? errno : 0;
  }

  UringQueues queues_;
  IdTable ids_;
  std::vector<Registration> regs_;
  std::unordered_map<uint32_t, Pending> pending_;
  BufferRing buffers_;
  RingFeatures features_;
};

}  // namespace

std::unique_ptr<Backend> OpenUringBackend(uint32_t entries, Status* status) {
  if (entries == 0 || entries > kMaxRegistrations) {
    *status = Status::Fail(Code::kEINVAL, EINVAL, "table entries " + std::to_string(entries) + " are not 1 .. " + std::to_string(kMaxRegistrations));
    return nullptr;
  }
  std::unique_ptr<UringBackend> backend(new UringBackend(entries));
  Status s = backend->Open();
  if (!s.ok()) {
    if (s.sys == ENOMEM) {
      // The ring's own queue memory is charged to the same locked-memory account.
      s.message = "io_uring_setup refused the ring's memory (" + std::string(std::strerror(s.sys)) + ")";
      s.limit = MemlockLimit();
    }
    *status = s;
    return nullptr;
  }
  return backend;
}

}  // namespace riopool

#else  // not Linux with io_uring headers

#include "backend.h"

namespace riopool {
std::unique_ptr<Backend> OpenUringBackend(uint32_t, Status* status) {
  *status = Status::Fail(Code::kENOSYS, 0, "the uring backend is only built on Linux");
  return nullptr;
}
}  // namespace riopool

#endif
