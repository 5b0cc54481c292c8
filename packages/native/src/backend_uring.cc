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
// Each operation's SQE is filled by its own Prep function ("Preparing an operation" below;
// docs/native.md, "Adding a ring operation"); the queues and io_uring_register are ring_uring.h's.
// Sockets stay blocking: io_uring then arms a poll and completes the operation when the socket
// is ready, instead of failing with EAGAIN. The binding watches the ring's own fd from Node's
// event loop (ReadyFd; docs/native.md, "Waking up").
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
#include <sys/uio.h>

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
    const int e = queues_.RegisterBufferTable(ids_.limit());
    if (e != 0) {
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
    int err = queues_.UpdateBuffer(slot, addr, len);
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
    int err = queues_.UpdateBuffer(id, nullptr, 0);
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
    (void)queues_.UnregisterBufferTable();
    queues_.Close();
  }

  // ------------------------------------------------------------------------------------------
  // Ring

  RingFeatures Features() const override { return features_; }

  Status Queue(const OpRequest& r) override {
    if (queues_.fd() < 0) return Status::Fail(Code::kEBADF, EBADF, "the io_uring backend is closed");
    if (r.op == 0 || pending_.count(r.op) != 0) return Status::Fail(Code::kEINVAL, EINVAL, "op id is 0 or already in flight");
    Pending p{r.kind, {}, nullptr, nullptr, nullptr};
    // Prepared aside, so that a request refused half-way leaves the submission queue untouched.
    io_uring_sqe prepared{};
    Status s = Prepare(r, &p, &prepared);
    if (!s.ok()) return s;
    io_uring_sqe* sqe = NextSqe();
    if (sqe == nullptr) return Status::Fail(Code::kENOSPC, ENOSPC, "the submission queue is full");
    *sqe = prepared;
    sqe->user_data = r.op;
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

  // ------------------------------------------------------------------------------------------
  // Preparing an operation: one Prep function per OpKind, the only place that knows the
  // operation's opcode (docs/native.md, "Adding a ring operation"). Each checks what the request
  // names, keeps in *p what the kernel reads after Queue returns (the registrations it counts as
  // in flight, memory to keep alive), and fills *sqe, zeroed, with the opcode, the fd and the
  // fields that opcode reads. Queue adds the op id (user_data) and copies the SQE into the ring.

  Status Prepare(const OpRequest& r, Pending* p, io_uring_sqe* sqe) {
    switch (r.kind) {  // no default: -Wswitch names an OpKind without its Prep function
      case OpKind::kAccept: return PrepAccept(r, sqe);
      case OpKind::kConnect: return PrepConnect(r, p, sqe);
      case OpKind::kReceive: return PrepFixed(r, p, sqe, IORING_OP_READ_FIXED);
      case OpKind::kSend: return PrepFixed(r, p, sqe, IORING_OP_WRITE_FIXED);
      case OpKind::kSendParts: return PrepSendParts(r, p, sqe);
      case OpKind::kReceiveMultishot: return PrepReceiveMultishot(r, sqe);
      case OpKind::kReceivePlain: return PrepPlain(r, p, sqe, IORING_OP_RECV, 0);
      case OpKind::kSendPlain: return PrepPlain(r, p, sqe, IORING_OP_SEND, MSG_NOSIGNAL);
      case OpKind::kCancel: return PrepCancel(r, sqe);
      case OpKind::kShutdown: return PrepShutdown(r, sqe);
      case OpKind::kClose: return PrepClose(r, sqe);
    }
    return Status::Fail(Code::kEINVAL, EINVAL, "unknown operation");
  }

  // IORING_OP_ACCEPT: the new socket is close-on-exec.
  static Status PrepAccept(const OpRequest& r, io_uring_sqe* sqe) {
    sqe->opcode = IORING_OP_ACCEPT;
    sqe->fd = r.fd;
    sqe->accept_flags = SOCK_CLOEXEC;
    return Status::Ok();
  }

  // IORING_OP_CONNECT: the kernel reads the address after Queue returns, so it is copied.
  static Status PrepConnect(const OpRequest& r, Pending* p, io_uring_sqe* sqe) {
    if (r.address_len == 0 || r.address_len > sizeof(sockaddr_storage)) return Status::Fail(Code::kEINVAL, EINVAL, "bad address");
    p->address.reset(new sockaddr_storage);
    std::memcpy(p->address.get(), r.address, r.address_len);
    sqe->opcode = IORING_OP_CONNECT;
    sqe->fd = r.fd;
    sqe->addr = reinterpret_cast<uint64_t>(p->address.get());
    sqe->off = r.address_len;
    return Status::Ok();
  }

  // IORING_OP_READ_FIXED / WRITE_FIXED (Receive / Send): a range of one registration, named to the
  // kernel by its buffer id (buf_index) and address.
  Status PrepFixed(const OpRequest& r, Pending* p, io_uring_sqe* sqe, uint8_t opcode) const {
    char* addr = nullptr;
    Status s = Range(r.buffer_id, r.offset, r.length, &addr);
    if (!s.ok()) return s;
    p->buffer_ids.push_back(r.buffer_id);
    sqe->opcode = opcode;
    sqe->fd = r.fd;
    sqe->addr = reinterpret_cast<uint64_t>(addr);
    sqe->len = r.length;
    sqe->buf_index = static_cast<uint16_t>(r.buffer_id);
    return Status::Ok();
  }

  // IORING_OP_SENDMSG (SendParts): one message whose iovecs are ranges of registrations, kept
  // until the completion.
  Status PrepSendParts(const OpRequest& r, Pending* p, io_uring_sqe* sqe) const {
    if (r.part_count == 0 || r.part_count > kMaxParts) return Status::Fail(Code::kEINVAL, EINVAL, "part count out of range");
    p->message.reset(new Message);
    std::memset(&p->message->header, 0, sizeof p->message->header);
    for (uint32_t i = 0; i < r.part_count; i++) {
      const Part& part = r.parts[i];
      char* base = nullptr;
      Status s = Range(part.buffer_id, part.offset, part.length, &base);
      if (!s.ok()) return s;
      p->message->iov[i].iov_base = base;
      p->message->iov[i].iov_len = part.length;
      p->buffer_ids.push_back(part.buffer_id);
    }
    p->message->header.msg_iov = p->message->iov;
    p->message->header.msg_iovlen = r.part_count;
    sqe->opcode = IORING_OP_SENDMSG;
    sqe->fd = r.fd;
    sqe->addr = reinterpret_cast<uint64_t>(&p->message->header);
    sqe->len = 1;
    sqe->msg_flags = MSG_NOSIGNAL;
    return Status::Ok();
  }

  // IORING_OP_RECV, multishot, its buffers selected from the buffer ring's group.
  Status PrepReceiveMultishot(const OpRequest& r, io_uring_sqe* sqe) const {
    if (!buffers_.open()) return Status::Fail(Code::kEINVAL, EINVAL, "the buffer ring is not set up");
    sqe->opcode = IORING_OP_RECV;
    sqe->fd = r.fd;
    sqe->ioprio = kRecvMultishot;
    sqe->flags = IOSQE_BUFFER_SELECT;
    sqe->buf_group = kBufferGroup;
    return Status::Ok();
  }

  // IORING_OP_RECV / SEND (ReceivePlain / SendPlain) on memory that is not registered, kept
  // mapped by `hold` until the completion.
  static Status PrepPlain(const OpRequest& r, Pending* p, io_uring_sqe* sqe, uint8_t opcode, uint32_t msg_flags) {
    if (r.memory == nullptr || r.length == 0 || !r.hold) return Status::Fail(Code::kEINVAL, EINVAL, "no memory to move");
    p->hold = r.hold;
    sqe->opcode = opcode;
    sqe->fd = r.fd;
    sqe->addr = reinterpret_cast<uint64_t>(r.memory);
    sqe->len = r.length;
    sqe->msg_flags = msg_flags;
    return Status::Ok();
  }

  // IORING_OP_ASYNC_CANCEL of the operation whose op id (user_data) is r.target.
  static Status PrepCancel(const OpRequest& r, io_uring_sqe* sqe) {
    sqe->opcode = IORING_OP_ASYNC_CANCEL;
    sqe->fd = -1;
    sqe->addr = r.target;
    return Status::Ok();
  }

  // IORING_OP_ASYNC_CANCEL of every operation in flight (ANY | ALL: Linux 5.19, the same release
  // as the sparse fixed-buffer table every uring backend needs, so no kernel that opens one lacks it).
  static void PrepCancelAll(io_uring_sqe* sqe) {
    sqe->opcode = IORING_OP_ASYNC_CANCEL;
    sqe->fd = -1;
    sqe->cancel_flags = IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL;
  }

  // IORING_OP_SHUTDOWN of the sending side.
  static Status PrepShutdown(const OpRequest& r, io_uring_sqe* sqe) {
    sqe->opcode = IORING_OP_SHUTDOWN;
    sqe->fd = r.fd;
    sqe->len = SHUT_WR;
    return Status::Ok();
  }

  // IORING_OP_CLOSE.
  static Status PrepClose(const OpRequest& r, io_uring_sqe* sqe) {
    sqe->opcode = IORING_OP_CLOSE;
    sqe->fd = r.fd;
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
      PrepCancelAll(sqe);
      sqe->user_data = kInternal;
    }
    queues_.Submit();
    while (!pending_.empty()) {
      if (Drain(nullptr, nullptr) > 0) continue;
      if (queues_.Unsubmitted() > 0) queues_.Submit();
      if (queues_.WaitOne() < 0) break;
    }
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
