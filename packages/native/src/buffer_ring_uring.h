// riopool native core: the io_uring buffer ring (Linux): buffers the application lends the
// kernel, from which a multishot receive takes what it needs (provided buffers,
// IORING_REGISTER_PBUF_RING, with incremental consumption, IOU_PBUF_RING_INC).
//
// Glossary
//   buffer ring   a ring of `entries` slots in memory shared with the kernel; the application
//                 writes a slot (address, length, bid) and moves the tail; the kernel takes
//                 buffers from the head
//   bid           the 16-bit id of a lent buffer; a completion names it in its flags
//   incremental   a receive consumes only what it fills: one large buffer serves many small
//                 receives, of many sockets, one after another; while room is left, the
//                 completion carries IORING_CQE_F_BUF_MORE and the buffer stays lent
//   lent          from Add() until a completion names the bid without IORING_CQE_F_BUF_MORE
//
// No policy: which memory to lend, and when, is the TypeScript side's (packages/pool/src/io/receive-ring.ts).
// The caller (backend_uring.cc) counts each lent buffer as an operation in flight on its
// registration, so the registration cannot be deregistered while the kernel may write it.
#pragma once
#if defined(__linux__) && __has_include(<linux/io_uring.h>)

#include <cstddef>
#include <cstdint>
#include <vector>

#include "prim.h"
#include "uring_uapi.h"

namespace riopool {

class BufferRing {
 public:
  BufferRing() = default;
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;
  ~BufferRing();

  // True when the kernel behind ring_fd takes an incremental buffer ring (6.12+): one is
  // registered under a scratch group id and unregistered again.
  static bool Probe(int ring_fd);

  // Maps the ring's slots and registers them as buffer group kBufferGroup, incremental.
  // Pre: not open; entries is a power of two, 1 .. 32,768.
  Status Open(int ring_fd, uint32_t entries);
  // Unregisters the ring (the kernel lets go of every lent buffer) and unmaps it. Idempotent.
  void Close(int ring_fd);
  bool open() const { return slots_ != nullptr; }

  // Lends [addr, addr + len) as buffer `bid`; `owner` is returned by Completed when the kernel is
  // done with it. Fails (EINVAL) for a bid out of range or already lent.
  // Pre: open; the memory stays valid while lent (the caller guards it).
  Status Add(uint16_t bid, char* addr, uint32_t len, uint32_t owner);

  // A completion that names a buffer (kCqeBuffer in `flags`): returns true with *owner set when
  // the kernel is done with that buffer (no kCqeBufferMore), false while it keeps it.
  bool Completed(uint32_t flags, uint32_t* owner);

  // Every buffer still lent, by owner (for Close's accounting).
  std::vector<uint32_t> LentOwners() const;

 private:
  struct Lent {
    bool lent = false;
    uint32_t owner = 0;
  };

  RingBuffer* slots_ = nullptr;
  size_t map_len_ = 0;
  uint32_t entries_ = 0;
  uint16_t tail_ = 0;
  std::vector<Lent> lent_;
};

}  // namespace riopool

#endif
