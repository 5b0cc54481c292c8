// riopool native core: io_uring queues over the raw system calls (see ring_uring.h).
#if defined(__linux__) && __has_include(<linux/io_uring.h>)

#include "ring_uring.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>
#include <string>

namespace riopool {
namespace {

int SysSetup(unsigned entries, io_uring_params* p) {
  return static_cast<int>(syscall(__NR_io_uring_setup, entries, p));
}
int SysEnter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags) {
  return static_cast<int>(syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, nullptr, 0));
}

// The setup flags tried in order, the first the kernel accepts wins (docs/native.md, "Waking
// up"). Completed socket work (a receive's data, an accept) is task work the kernel runs on this
// thread; how it gets to run decides how promptly and cheaply a completion reaches the loop:
//   COOP_TASKRUN (5.19)   no inter-processor interrupt per completion: the work runs when the
//                         thread next enters the kernel, and a thread asleep in epoll is woken
//   TASKRUN_FLAG (5.19)   the SQ ring's flags say IORING_SQ_TASKRUN while such work waits, so
//                         Drain enters the kernel only when there is something to run
//   SINGLE_ISSUER (6.0)   only this thread submits: the kernel skips some locking
// DEFER_TASKRUN is deliberately not used: its work runs only inside io_uring_enter, so the loop
// would have to be woken by the ring's eventfd, and a signal raised from the network's softirq
// is deferred through an RCU callback: 4 jiffies (~16 ms at HZ 250) per round trip here.
constexpr unsigned kSetupChoices[] = {
    IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SINGLE_ISSUER,
    IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
    0,
};

}  // namespace

int UringRegister(int ring_fd, unsigned op, void* arg, unsigned nr) {
  return syscall(__NR_io_uring_register, ring_fd, op, arg, nr) < 0 ? errno : 0;
}

int UringQueues::RegisterBufferTable(unsigned entries) {
  io_uring_rsrc_register reg;
  std::memset(&reg, 0, sizeof reg);
  reg.nr = entries;
  reg.flags = IORING_RSRC_REGISTER_SPARSE;
  return UringRegister(fd_, IORING_REGISTER_BUFFERS2, &reg, sizeof reg);
}

int UringQueues::UpdateBuffer(unsigned slot, void* addr, size_t len) {
  iovec iov;
  iov.iov_base = addr;
  iov.iov_len = len;
  io_uring_rsrc_update2 up;
  std::memset(&up, 0, sizeof up);
  up.offset = slot;
  up.data = reinterpret_cast<uint64_t>(&iov);
  up.nr = 1;
  return UringRegister(fd_, IORING_REGISTER_BUFFERS_UPDATE, &up, sizeof up);
}

int UringQueues::UnregisterBufferTable() { return UringRegister(fd_, IORING_UNREGISTER_BUFFERS, nullptr, 0); }

Status UringQueues::Open(unsigned sq_entries, unsigned cq_entries) {
  assert(fd_ < 0);
  io_uring_params p;
  int fd = -1;
  for (unsigned flags : kSetupChoices) {
    std::memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_CQSIZE | flags;
    p.cq_entries = cq_entries;
    fd = SysSetup(sq_entries, &p);
    if (fd >= 0 || errno != EINVAL) break;  // EINVAL: a flag this kernel does not know
  }
  if (fd < 0) return ErrnoStatus(errno, "io_uring_setup");
  fd_ = fd;
  setup_flags_ = p.flags & ~IORING_SETUP_CQSIZE;
  sq_entries_ = p.sq_entries;

  sq_map_len_ = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  cq_map_len_ = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
  const bool single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
  if (single && cq_map_len_ > sq_map_len_) sq_map_len_ = cq_map_len_;
  sq_map_ = mmap(nullptr, sq_map_len_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
  if (sq_map_ == MAP_FAILED) {
    sq_map_ = nullptr;
    Status s = ErrnoStatus(errno, "mmap(io_uring SQ ring)");
    Close();
    return s;
  }
  if (single) {
    cq_map_ = sq_map_;
  } else {
    cq_map_ = mmap(nullptr, cq_map_len_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
    if (cq_map_ == MAP_FAILED) {
      cq_map_ = nullptr;
      Status s = ErrnoStatus(errno, "mmap(io_uring CQ ring)");
      Close();
      return s;
    }
  }
  sqes_len_ = p.sq_entries * sizeof(io_uring_sqe);
  void* sqes = mmap(nullptr, sqes_len_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
  if (sqes == MAP_FAILED) {
    Status s = ErrnoStatus(errno, "mmap(io_uring SQEs)");
    Close();
    return s;
  }
  sqes_ = static_cast<io_uring_sqe*>(sqes);

  char* sq = static_cast<char*>(sq_map_);
  sq_head_ = reinterpret_cast<unsigned*>(sq + p.sq_off.head);
  sq_tail_ = reinterpret_cast<unsigned*>(sq + p.sq_off.tail);
  sq_mask_ = reinterpret_cast<unsigned*>(sq + p.sq_off.ring_mask);
  sq_flags_ = reinterpret_cast<unsigned*>(sq + p.sq_off.flags);
  sq_array_ = reinterpret_cast<unsigned*>(sq + p.sq_off.array);
  char* cq = static_cast<char*>(cq_map_);
  cq_head_ = reinterpret_cast<unsigned*>(cq + p.cq_off.head);
  cq_tail_ = reinterpret_cast<unsigned*>(cq + p.cq_off.tail);
  cq_mask_ = reinterpret_cast<unsigned*>(cq + p.cq_off.ring_mask);
  cqes_ = reinterpret_cast<io_uring_cqe*>(cq + p.cq_off.cqes);
  sq_local_tail_ = sq_submitted_ = *sq_tail_;
  return Status::Ok();
}

void UringQueues::Close() {
  if (sqes_ != nullptr) munmap(sqes_, sqes_len_);
  if (cq_map_ != nullptr && cq_map_ != sq_map_) munmap(cq_map_, cq_map_len_);
  if (sq_map_ != nullptr) munmap(sq_map_, sq_map_len_);
  sqes_ = nullptr;
  cq_map_ = sq_map_ = nullptr;
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

io_uring_sqe* UringQueues::NextSqe() {
  const unsigned head = __atomic_load_n(sq_head_, __ATOMIC_ACQUIRE);
  if (sq_local_tail_ - head >= sq_entries_) return nullptr;
  const unsigned index = sq_local_tail_ & *sq_mask_;
  io_uring_sqe* sqe = &sqes_[index];
  std::memset(sqe, 0, sizeof *sqe);
  sq_array_[index] = index;
  sq_local_tail_++;
  return sqe;
}

int UringQueues::Submit() {
  const unsigned pending = sq_local_tail_ - sq_submitted_;
  if (pending == 0) return 0;
  __atomic_store_n(sq_tail_, sq_local_tail_, __ATOMIC_RELEASE);
  int r;
  do {
    r = SysEnter(fd_, pending, 0, 0);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return -errno;
  sq_submitted_ += static_cast<unsigned>(r);
  return r;
}

void UringQueues::RunPendingWork() {
  // IORING_SQ_TASKRUN (with TASKRUN_FLAG): completed work waits for this thread to enter the
  // kernel. IORING_SQ_CQ_OVERFLOW: completions that did not fit the CQ wait in the kernel, and
  // the ring's fd stays readable until they are flushed. Either way, one io_uring_enter.
  const unsigned flags = __atomic_load_n(sq_flags_, __ATOMIC_RELAXED);
  if ((flags & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW)) == 0) return;
  int r;
  do {
    r = SysEnter(fd_, 0, 0, IORING_ENTER_GETEVENTS);
  } while (r < 0 && errno == EINTR);
}

int UringQueues::WaitOne() {
  int r;
  do {
    r = SysEnter(fd_, 0, 1, IORING_ENTER_GETEVENTS);
  } while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : r;
}

}  // namespace riopool

#endif
