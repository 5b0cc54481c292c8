// riopool native core: the io_uring buffer ring (see buffer_ring_uring.h).
#if defined(__linux__) && __has_include(<linux/io_uring.h>)

#include "buffer_ring_uring.h"

#include <sys/mman.h>

#include <cassert>
#include <cerrno>
#include <cstring>
#include <string>

#include "ring_uring.h"

namespace riopool {
namespace {

// The argument of IORING_(UN)REGISTER_PBUF_RING (struct io_uring_buf_reg): 6.1's header calls
// `flags` `pad`, so it is spelled out here with the kernel's layout.
struct BufferRingRegistration {
  uint64_t ring_addr;
  uint32_t ring_entries;
  uint16_t bgid;
  uint16_t flags;
  uint64_t resv[3];
};
static_assert(sizeof(BufferRingRegistration) == 40, "io_uring_buf_reg is 40 bytes");

// A buffer group id for the probe only (riopool's buffers are in kBufferGroup).
constexpr uint16_t kProbeGroup = 0xFFFF;

// Registers `entries` slots at `slots` as group `bgid`, incremental; returns 0 or errno.
int RegisterRing(int ring_fd, void* slots, uint32_t entries, uint16_t bgid) {
  BufferRingRegistration reg;
  std::memset(&reg, 0, sizeof reg);
  reg.ring_addr = reinterpret_cast<uint64_t>(slots);
  reg.ring_entries = entries;
  reg.bgid = bgid;
  reg.flags = kPbufRingIncremental;
  return UringRegister(ring_fd, IORING_REGISTER_PBUF_RING, &reg, 1);
}

void UnregisterRing(int ring_fd, uint16_t bgid) {
  BufferRingRegistration reg;
  std::memset(&reg, 0, sizeof reg);
  reg.bgid = bgid;
  (void)UringRegister(ring_fd, IORING_UNREGISTER_PBUF_RING, &reg, 1);
}

}  // namespace

BufferRing::~BufferRing() {
  // Close(ring_fd) is the owner's to call while the ring is open; here only the memory goes.
  if (slots_ != nullptr) munmap(slots_, map_len_);
}

bool BufferRing::Probe(int ring_fd) {
  void* page = mmap(nullptr, page_size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return false;
  const bool ok = RegisterRing(ring_fd, page, 1, kProbeGroup) == 0;
  if (ok) UnregisterRing(ring_fd, kProbeGroup);
  munmap(page, page_size());
  return ok;
}

Status BufferRing::Open(int ring_fd, uint32_t entries) {
  assert(slots_ == nullptr);
  if (entries == 0 || entries > 32768 || (entries & (entries - 1)) != 0) {
    return Status::Fail(Code::kEINVAL, EINVAL, "buffer ring entries " + std::to_string(entries) + " are not a power of two from 1 to 32,768");
  }
  const size_t bytes = entries * sizeof(RingBuffer);
  const size_t len = (bytes + page_size() - 1) / page_size() * page_size();
  void* m = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return ErrnoStatus(errno, "mmap (buffer ring)");
  const int e = RegisterRing(ring_fd, m, entries, kBufferGroup);
  if (e != 0) {
    munmap(m, len);
    return ErrnoStatus(e, "io_uring_register(IORING_REGISTER_PBUF_RING)");
  }
  slots_ = static_cast<RingBuffer*>(m);
  map_len_ = len;
  entries_ = entries;
  tail_ = 0;
  lent_.assign(entries, Lent{});
  return Status::Ok();
}

void BufferRing::Close(int ring_fd) {
  if (slots_ == nullptr) return;
  UnregisterRing(ring_fd, kBufferGroup);
  munmap(slots_, map_len_);
  slots_ = nullptr;
  lent_.clear();
  entries_ = 0;
}

Status BufferRing::Add(uint16_t bid, char* addr, uint32_t len, uint32_t owner) {
  assert(slots_ != nullptr && addr != nullptr && len > 0);
  if (bid >= entries_) return Status::Fail(Code::kEINVAL, EINVAL, "bid " + std::to_string(bid) + " is past the buffer ring");
  if (lent_[bid].lent) return Status::Fail(Code::kEINVAL, EINVAL, "bid " + std::to_string(bid) + " is lent already");
  // At most entries_ buffers are lent, one per bid, so the slot at the tail is free.
  RingBuffer& slot = slots_[tail_ & (entries_ - 1)];
  slot.addr = reinterpret_cast<uint64_t>(addr);
  slot.len = len;
  slot.bid = bid;
  lent_[bid] = Lent{true, owner};
  tail_++;
  // The tail is slot 0's last 16 bits (struct io_uring_buf_ring); the kernel reads it with an
  // acquire, after the slot written above.
  __atomic_store_n(&slots_[0].resv, tail_, __ATOMIC_RELEASE);
  return Status::Ok();
}

bool BufferRing::Completed(uint32_t flags, uint32_t* owner) {
  const uint32_t bid = flags >> kCqeBufferShift;
  // A completion drained after Close() names a buffer the kernel no longer has: nothing to do.
  if (bid >= entries_ || !lent_[bid].lent || (flags & kCqeBufferMore) != 0) return false;
  lent_[bid].lent = false;
  *owner = lent_[bid].owner;
  return true;
}

std::vector<uint32_t> BufferRing::LentOwners() const {
  std::vector<uint32_t> owners;
  for (const Lent& l : lent_) {
    if (l.lent) owners.push_back(l.owner);
  }
  return owners;
}

}  // namespace riopool

#endif
