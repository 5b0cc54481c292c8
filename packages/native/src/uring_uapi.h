// riopool native core: the io_uring interface values newer than the <linux/io_uring.h> a build
// machine may have (Debian 12's is Linux 6.1's), in one place. Each is the kernel's own uapi
// value (include/uapi/linux/io_uring.h); whether the running kernel has the feature is asked at
// run time (backend_uring.cc, Probe), never assumed from the header.
#pragma once
#if defined(__linux__) && __has_include(<linux/io_uring.h>)

#include <linux/io_uring.h>

#include <cstdint>

namespace riopool {

// struct io_uring_buf_reg's flags (enum io_uring_register_pbuf_ring_flags).
// IOU_PBUF_RING_INC (6.12): a buffer is consumed a receive at a time instead of whole, and a
// completion that leaves room in it says so with IORING_CQE_F_BUF_MORE.
constexpr uint16_t kPbufRingIncremental = 2;  // IOU_PBUF_RING_INC

// io_uring_cqe.flags. The first three are in 6.1's header too; they are repeated here so that
// docs/native.md and the TypeScript side (packages/pool/src/io/receive-ring.ts) have one list.
constexpr uint32_t kCqeBuffer = 1u << 0;      // IORING_CQE_F_BUFFER: bits 16..31 are the buffer id
constexpr uint32_t kCqeMore = 1u << 1;        // IORING_CQE_F_MORE: a multishot operation goes on
constexpr uint32_t kCqeBufferMore = 1u << 4;  // IORING_CQE_F_BUF_MORE (6.12): the buffer has room left
constexpr unsigned kCqeBufferShift = 16;      // IORING_CQE_BUFFER_SHIFT

// sqe->ioprio for IORING_OP_RECV (6.0): the receive is multishot.
constexpr uint16_t kRecvMultishot = 1u << 1;  // IORING_RECV_MULTISHOT

// The one buffer group riopool registers.
constexpr uint16_t kBufferGroup = 0;

// struct io_uring_buf, as the kernel reads each slot of a buffer ring (16 bytes).
struct RingBuffer {
  uint64_t addr;
  uint32_t len;
  uint16_t bid;
  uint16_t resv;  // slot 0's is the ring's tail
};
static_assert(sizeof(RingBuffer) == 16, "io_uring_buf is 16 bytes");

}  // namespace riopool

#endif
