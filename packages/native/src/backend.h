// riopool native core: registration backends.
//
// A backend turns a byte range of a live mapping into a registration with a small integer
// buffer id, and back. It is the "registration" of docs/design.md:
//   uring  an io_uring instance whose sparse fixed-buffer table holds the registrations; the id
//          is the table index (Linux; backend_uring.cc).
//   rio    RIORegisterBuffer / RIODeregisterBuffer; the id indexes a table of RIO_BUFFERIDs
//          (Windows; backend_rio.cc).
//   lock   mlock / VirtualLock with page reference counts, so ranges that share a page stay
//          locked until the last of them is deregistered (backend_lock.cc).
//   none   no locking at all, ids only (backend_lock.cc).
//
// Ids are handed out by IdTable: the most recently freed id first (a stack),
// which is what "ids are reused after deregistration" needs and costs O(1).
#pragma once

#include <cassert>
#include <cstdint>
#include <memory>
#include <vector>

#include "prim.h"

namespace riopool {

// The limits, in one place (info().limits hands them to TypeScript):
// io_uring allows at most 16,384 entries in a fixed-buffer table and 1 GiB per registration; the
// rio backend keeps the same table size, and mappings are capped at what one registration takes.
constexpr uint32_t kMaxRegistrations = 16384;  // 1 << 14
constexpr size_t kMaxRegistrationBytes = size_t{1} << 30;  // 1 GiB

class IdTable {
 public:
  explicit IdTable(uint32_t limit) : limit_(limit) {}

  // Takes a free id. Returns false when all `limit` ids are in use.
  bool Take(uint32_t* id) {
    if (!free_.empty()) {
      *id = free_.back();
      free_.pop_back();
    } else if (next_ < limit_) {
      *id = next_++;
    } else {
      return false;
    }
    used_++;
    return true;
  }
  // Pre: id came from Take and has not been put back.
  void Put(uint32_t id) {
    assert(id < next_ && used_ > 0);
    free_.push_back(id);
    used_--;
  }
  uint32_t limit() const { return limit_; }
  uint32_t used() const { return used_; }

 private:
  uint32_t limit_;
  uint32_t next_ = 0;
  uint32_t used_ = 0;
  std::vector<uint32_t> free_;
};

// A backend's ring: socket operations on its registrations, queued without a system call and
// handed to the kernel by Submit(). Only `uring` has one on Linux (the io_uring whose table holds
// the registrations); rio's is declared in backend_rio.cc. The pool's `uring` datapath runs on it.
//
// Every operation carries the caller's op id (> 0, unique among the operations in flight) and
// completes with Drain()'s report (op, result, flags): result is bytes, a new socket, 0, or
// -errno; flags are the completion's (uring_features.h: kCqeMore, kCqeBuffer, kCqeBufferMore).
// A multishot receive completes many times, each with kCqeMore but the last. Receive and Send
// name a registration and a range inside it; the backend refuses a range outside it (EINVAL),
// an id that is not registered (EFAULT), and counts the operations in flight on each
// registration, and the buffers it lent the kernel's buffer ring: Deregister refuses (EBUSY)
// while there are any.
enum class OpKind : uint8_t {
  kAccept = 1,
  kConnect,
  kReceive,           // into a registration (READ_FIXED)
  kSend,              // from a registration (WRITE_FIXED)
  kSendParts,         // from several ranges of registrations in one operation (SENDMSG)
  kReceiveMultishot,  // a multishot receive into the buffer ring's buffers
  kReceivePlain,      // into memory that is not registered (RECV), guarded by `hold`
  kSendPlain,         // from memory that is not registered (SEND), guarded by `hold`
  kCancel,
  kShutdown,
  kClose,
};

// One range of a registration, for kSendParts.
struct Part {
  uint32_t buffer_id;
  uint64_t offset;
  uint32_t length;
};

struct OpRequest {
  OpKind kind = OpKind::kAccept;
  uint32_t op = 0;
  int fd = -1;
  // Receive / Send: the registration and the range within it.
  uint32_t buffer_id = 0;
  uint64_t offset = 0;
  uint32_t length = 0;
  // SendParts: the ranges (at most kMaxParts), copied by the backend.
  const Part* parts = nullptr;
  uint32_t part_count = 0;
  // ReceivePlain / SendPlain: the memory, kept alive (and its mapping guarded) by `hold` until
  // the completion.
  void* memory = nullptr;
  std::shared_ptr<void> hold;
  // Cancel: the op id to cancel.
  uint32_t target = 0;
  // Connect: the address (a sockaddr of `address_len` bytes), copied by the backend.
  const void* address = nullptr;
  uint32_t address_len = 0;
};

// The most ranges one kSendParts operation takes.
constexpr uint32_t kMaxParts = 64;

// What the ring can do on this kernel, asked once when it opens.
struct RingFeatures {
  // A buffer ring with incremental consumption (IORING_REGISTER_PBUF_RING with
  // IOU_PBUF_RING_INC, 6.12+) and multishot receives from it.
  bool buffer_ring = false;
  // The ring's setup flags, by name (uring: "COOP_TASKRUN", "TASKRUN_FLAG", "SINGLE_ISSUER";
  // ring_uring.cc, kSetupChoices), as the kernel accepted them.
  std::vector<const char*> setup;
};

class Ring {
 public:
  virtual ~Ring() = default;
  virtual RingFeatures Features() const = 0;
  // Queues one operation (no system call). ENOSPC when the queue is full even after a submit.
  virtual Status Queue(const OpRequest& request) = 0;
  // Hands the queued operations to the kernel in one call; returns how many, or -errno.
  virtual int Submit() = 0;
  // A descriptor that polls readable while completions wait to be drained (the io_uring's own
  // fd), for the event loop to watch; -1 where the ring has none (rio: not wired up).
  virtual int ReadyFd() const = 0;
  // Reports every ready completion as (op, result, flags); returns how many.
  virtual unsigned Drain(void (*report)(void* context, uint32_t op, int32_t result, uint32_t flags), void* context) = 0;
  // Operations queued or in flight.
  virtual uint32_t InFlight() const = 0;
  // The buffer ring (buffer group 0) with `entries` slots (a power of two, at most 32,768).
  // Pre: Features().buffer_ring; not set up before.
  virtual Status SetupBufferRing(uint32_t entries) = 0;
  // Lends the kernel [offset, offset + length) of registration `buffer_id` as buffer `bid` of
  // the buffer ring. It stays lent until a completion names `bid` without kCqeBufferMore.
  // Fails with EINVAL for a bad range, a bid in use or out of range, a full ring.
  virtual Status Provide(uint16_t bid, uint32_t buffer_id, uint64_t offset, uint32_t length) = 0;
  // Unregisters the buffer ring: the kernel lets go of every lent buffer (a multishot receive
  // that needs one later completes with -ENOBUFS). Idempotent.
  virtual void CloseBufferRing() = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // The backend's ring, or nullptr where it has none (or once closed).
  virtual Ring* ring() { return nullptr; }

  virtual const char* kind() const = 0;
  // True when registration locks or pins the memory.
  virtual bool locks() const = 0;
  // How many registrations may be live at once.
  virtual uint32_t capacity() const = 0;

  // Registers [addr, addr + len).
  // Pre: len > 0; the range lies inside one live mapping; the backend is open.
  // Fails with ENOSPC when every id is in use, ENOMEM / EPERM when the OS refuses to lock or pin.
  virtual Status Register(void* addr, size_t len, uint32_t* id) = 0;

  // Deregisters id.
  // Pre: id is registered. `memory_gone` is true when the mapping was already unmapped (then
  // nothing may touch the address range: it may belong to a newer mapping).
  virtual Status Deregister(uint32_t id, bool memory_gone) = 0;

  // Deregisters everything and releases OS resources. Idempotent.
  virtual void Close() = 0;
};

// Each returns nullptr and sets *status when the backend cannot open here.
std::unique_ptr<Backend> OpenUringBackend(uint32_t entries, Status* status);
std::unique_ptr<Backend> OpenRioBackend(uint32_t entries, Status* status);
std::unique_ptr<Backend> OpenLockBackend(bool lock, Status* status);

// The backends compiled into this build, as a comma-free list of names.
std::vector<const char*> CompiledBackends();

}  // namespace riopool
