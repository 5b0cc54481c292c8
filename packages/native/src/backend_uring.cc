// riopool native core: the `uring` backend (Linux).
//
// One io_uring instance per backend object. At open, the ring's fixed-buffer table is
// registered empty (IORING_REGISTER_BUFFERS2 with IORING_RSRC_REGISTER_SPARSE), `entries` slots
// long (the kernel allows at most 16,384). Register fills one slot with
// IORING_REGISTER_BUFFERS_UPDATE; Deregister clears it with the same call and an empty iovec.
// The buffer id is the slot index, so READ_FIXED / WRITE_FIXED on this ring take it as
// `buf_index`. The kernel charges each registration's pages to the user's locked memory
// (VmPin), counted per registration: two registrations sharing a page pay for it twice.
#if defined(__linux__) && __has_include(<linux/io_uring.h>)

#include <linux/io_uring.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "backend.h"

namespace riopool {
namespace {

int SysSetup(unsigned entries, io_uring_params* p) {
  return static_cast<int>(syscall(__NR_io_uring_setup, entries, p));
}
int SysRegister(int fd, unsigned op, void* arg, unsigned nr) {
  return static_cast<int>(syscall(__NR_io_uring_register, fd, op, arg, nr));
}

class UringBackend final : public Backend {
 public:
  UringBackend(int fd, uint32_t entries) : fd_(fd), ids_(entries) {}
  ~UringBackend() override { Close(); }

  const char* kind() const override { return "uring"; }
  bool locks() const override { return true; }
  uint32_t capacity() const override { return ids_.limit(); }

  Status Register(void* addr, size_t len, uint32_t* id) override {
    if (fd_ < 0) return Status::Fail("EBADF", EBADF, "the io_uring backend is closed");
    uint32_t slot;
    if (!ids_.Take(&slot)) {
      return Status::Fail("ENOSPC", ENOSPC,
                          "the io_uring fixed-buffer table is full (" +
                              std::to_string(ids_.limit()) +
                              " registrations); group buffers into fewer, larger registrations");
    }
    int err = Update(slot, addr, len);
    if (err != 0) {
      ids_.Put(slot);
      if (err == ENOMEM || err == EPERM || err == EAGAIN) {
        return Status::Fail(err == EPERM ? "EPERM" : "ENOMEM", err,
                            "io_uring could not pin " + std::to_string(len) + " bytes (" +
                                std::strerror(err) + "): " +
                                MemlockHint("io_uring's pinned-memory accounting (VmPin)"));
      }
      return ErrnoStatus(err, "io_uring_register(IORING_REGISTER_BUFFERS_UPDATE)");
    }
    *id = slot;
    return Status::Ok();
  }

  Status Deregister(uint32_t id, bool /*memory_gone*/) override {
    if (fd_ < 0) return Status::Fail("EBADF", EBADF, "the io_uring backend is closed");
    // Clearing the slot only drops the kernel's page references: safe even when the mapping is
    // already gone.
    int err = Update(id, nullptr, 0);
    if (err != 0) return ErrnoStatus(err, "io_uring_register(IORING_REGISTER_BUFFERS_UPDATE)");
    ids_.Put(id);
    return Status::Ok();
  }

  void Close() override {
    if (fd_ < 0) return;
    // Unregister the whole table first: closing the ring alone releases the pins later, from a
    // kernel worker, and VmPin would still count them when Close returns.
    SysRegister(fd_, IORING_UNREGISTER_BUFFERS, nullptr, 0);
    close(fd_);
    fd_ = -1;
  }

 private:
  // Returns 0 or an errno value.
  int Update(uint32_t slot, void* addr, size_t len) {
    struct iovec iov;
    iov.iov_base = addr;
    iov.iov_len = len;
    struct io_uring_rsrc_update2 up;
    std::memset(&up, 0, sizeof up);
    up.offset = slot;
    up.data = reinterpret_cast<uint64_t>(&iov);
    up.nr = 1;
    int r = SysRegister(fd_, IORING_REGISTER_BUFFERS_UPDATE, &up, sizeof up);
    return r < 0 ? errno : 0;
  }

  int fd_;
  IdTable ids_;
};

}  // namespace

std::unique_ptr<Backend> OpenUringBackend(uint32_t entries, Status* status) {
  if (entries == 0 || entries > 16384) {
    *status = Status::Fail("EINVAL", EINVAL, "io_uring table entries must be 1 .. 16384");
    return nullptr;
  }
  io_uring_params params;
  std::memset(&params, 0, sizeof params);
  int fd = SysSetup(8, &params);
  if (fd < 0) {
    int e = errno;
    if (e == ENOMEM) {
      // The ring's own queue memory is charged to the same locked-memory account.
      *status = Status::Fail("ENOMEM", e,
                             std::string("io_uring_setup refused the ring's memory (") +
                                 std::strerror(e) + "): " +
                                 MemlockHint("io_uring's pinned-memory accounting (VmPin)"));
    } else {
      *status = ErrnoStatus(e, e == EPERM ? "io_uring_setup (io_uring is disabled here: see the "
                                            "kernel.io_uring_disabled sysctl)"
                                          : "io_uring_setup");
    }
    return nullptr;
  }
  struct io_uring_rsrc_register reg;
  std::memset(&reg, 0, sizeof reg);
  reg.nr = entries;
  reg.flags = IORING_RSRC_REGISTER_SPARSE;
  if (SysRegister(fd, IORING_REGISTER_BUFFERS2, &reg, sizeof reg) < 0) {
    int e = errno;
    close(fd);
    *status = ErrnoStatus(e, "io_uring_register(IORING_REGISTER_BUFFERS2, sparse)");
    return nullptr;
  }
  return std::unique_ptr<Backend>(new UringBackend(fd, entries));
}

}  // namespace riopool

#else  // not Linux with io_uring headers

#include "backend.h"

namespace riopool {
std::unique_ptr<Backend> OpenUringBackend(uint32_t, Status* status) {
  *status = Status::Fail("ENOSYS", 0, "the uring backend is only built on Linux");
  return nullptr;
}
}  // namespace riopool

#endif
