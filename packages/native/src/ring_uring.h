// riopool native core: one io_uring, its submission and completion queues (Linux).
//
// Glossary
//   SQ / SQE   the submission queue and its entries: operations queued for the kernel
//   CQ / CQE   the completion queue and its entries: one result per operation
//   op id      the caller's 32-bit tag of an operation; it is the SQE's user_data
//
// A thin layer over the raw system calls and <linux/io_uring.h>, with no policy: the caller
// decides what to queue and when to submit. Queuing writes shared memory only; Submit() is the
// one io_uring_enter. The ring's fd is also the fixed-buffer table the `uring` backend
// registers slabs in, so READ_FIXED / WRITE_FIXED name a slab by its buffer id; the three
// io_uring_register calls on that table are here too, beside setup and submit. What each
// operation writes into its SQE is the backend's (backend_uring.cc, one Prep function per
// operation).
#pragma once
#if defined(__linux__) && __has_include(<linux/io_uring.h>)

#include <linux/io_uring.h>

#include <cstddef>
#include <cstdint>

#include "prim.h"

namespace riopool {

// io_uring_register(2) on the ring `ring_fd`: `op` (an IORING_REGISTER_* or IORING_UNREGISTER_*)
// with its argument. Returns 0 or an errno value. The fixed-buffer table's calls are
// UringQueues' below; the buffer ring (buffer_ring_uring.cc) calls this one directly.
int UringRegister(int ring_fd, unsigned op, void* arg, unsigned nr);

class UringQueues {
 public:
  UringQueues() = default;
  UringQueues(const UringQueues&) = delete;
  UringQueues& operator=(const UringQueues&) = delete;
  ~UringQueues() { Close(); }

  // Sets the ring up: `sq_entries` submission entries, `cq_entries` completion entries.
  // Pre: not open. Post on success: fd() >= 0.
  Status Open(unsigned sq_entries, unsigned cq_entries);
  // Unmaps the queues and closes the ring. Idempotent.
  void Close();

  int fd() const { return fd_; }

  // The fixed-buffer table, each call one io_uring_register returning 0 or an errno value:
  // `entries` empty slots (IORING_REGISTER_BUFFERS2, sparse); slot `slot` filled with
  // [addr, addr + len), or cleared with (nullptr, 0) (IORING_REGISTER_BUFFERS_UPDATE); the whole
  // table dropped at once (IORING_UNREGISTER_BUFFERS). Pre: open.
  int RegisterBufferTable(unsigned entries);
  int UpdateBuffer(unsigned slot, void* addr, size_t len);
  int UnregisterBufferTable();

  // A zeroed SQE to fill, or nullptr when the SQ is full (Submit() first).
  io_uring_sqe* NextSqe();
  // Hands every queued SQE to the kernel in one io_uring_enter. Returns how many the kernel
  // took (>= 0) or -errno. SQEs it did not take stay queued for the next call.
  int Submit();
  // Waits in the kernel until at least one completion is ready (used only when closing).
  int WaitOne();
  // Runs the kernel's work for this ring that waits for this thread (IORING_SQ_TASKRUN) and
  // flushes completions that overflowed the CQ (IORING_SQ_CQ_OVERFLOW), so that they can be
  // drained. One system call when the SQ ring's flags say so; none otherwise.
  void RunPendingWork();
  // The IORING_SETUP_* flags the kernel accepted (besides CQSIZE): see kSetupChoices.
  unsigned setup_flags() const { return setup_flags_; }

  // Calls f(user_data, res, flags) for every ready CQE, then marks them consumed.
  template <typename F>
  unsigned Drain(F&& f) {
    unsigned head = *cq_head_;
    const unsigned tail = __atomic_load_n(cq_tail_, __ATOMIC_ACQUIRE);
    unsigned n = 0;
    while (head != tail) {
      const io_uring_cqe& cqe = cqes_[head & *cq_mask_];
      f(cqe.user_data, cqe.res, cqe.flags);
      head++;
      n++;
    }
    __atomic_store_n(cq_head_, head, __ATOMIC_RELEASE);
    return n;
  }

  // Operations queued and not yet taken by the kernel.
  unsigned Unsubmitted() const { return sq_local_tail_ - sq_submitted_; }

 private:
  int fd_ = -1;
  void* sq_map_ = nullptr;
  size_t sq_map_len_ = 0;
  void* cq_map_ = nullptr;
  size_t cq_map_len_ = 0;
  io_uring_sqe* sqes_ = nullptr;
  size_t sqes_len_ = 0;
  unsigned sq_entries_ = 0;
  unsigned* sq_head_ = nullptr;
  unsigned* sq_tail_ = nullptr;
  unsigned* sq_mask_ = nullptr;
  unsigned* sq_flags_ = nullptr;
  unsigned* sq_array_ = nullptr;
  unsigned* cq_head_ = nullptr;
  unsigned* cq_tail_ = nullptr;
  unsigned* cq_mask_ = nullptr;
  io_uring_cqe* cqes_ = nullptr;
  unsigned sq_local_tail_ = 0;
  unsigned sq_submitted_ = 0;
  unsigned setup_flags_ = 0;
};

}  // namespace riopool

#endif
