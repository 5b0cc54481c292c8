// riopool native core: OS primitives for POSIX systems (Linux, macOS, the BSDs).
#ifndef _WIN32

#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "prim.h"

namespace riopool {
namespace {

const char* ErrnoCode(int e) {
  switch (e) {
    case EFAULT: return "EFAULT";
    case EINVAL: return "EINVAL";
    case ENOMEM: return "ENOMEM";
    case EPERM: return "EPERM";
    case EAGAIN: return "EAGAIN";
    case ENOSPC: return "ENOSPC";
    case ENOSYS: return "ENOSYS";
    case EBUSY: return "EBUSY";
    default: return "EIO";
  }
}

std::string MemlockLimitText() {
  struct rlimit rl;
  if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0) return "RLIMIT_MEMLOCK (unknown)";
  char buf[160];
  if (rl.rlim_cur == RLIM_INFINITY) {
    std::snprintf(buf, sizeof buf, "RLIMIT_MEMLOCK (soft limit unlimited)");
  } else {
    std::snprintf(buf, sizeof buf, "RLIMIT_MEMLOCK (soft limit %llu KiB)",
                  static_cast<unsigned long long>(rl.rlim_cur / 1024));
  }
  return buf;
}

// mlock / munlock as system calls on Linux: AddressSanitizer intercepts the libc functions and
// turns them into no-ops, and the sanitizer build must test real locking.
int SysMlock(void* addr, size_t bytes) {
#ifdef __linux__
  return static_cast<int>(syscall(SYS_mlock, addr, bytes));
#else
  return mlock(addr, bytes);
#endif
}
int SysMunlock(void* addr, size_t bytes) {
#ifdef __linux__
  return static_cast<int>(syscall(SYS_munlock, addr, bytes));
#else
  return munlock(addr, bytes);
#endif
}

}  // namespace

Status ErrnoStatus(int e, const char* what) {
  return Status::Fail(ErrnoCode(e), e, std::string(what) + ": " + std::strerror(e));
}

// The hint every refused lock or pin carries: which limit, and how to raise it.
std::string MemlockHint(const char* who) {
  return std::string(who) + " is limited by " + MemlockLimitText() +
         ". Raise it with `ulimit -l <KiB>` (or `unlimited`) in the shell that starts node, "
         "LimitMEMLOCK= in a systemd unit, a memlock line in /etc/security/limits.conf, or "
         "grant CAP_IPC_LOCK; or make the pool smaller (maxBytes).";
}

size_t page_size() {
  static const size_t size = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

Status os_map(size_t bytes, void** out) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return ErrnoStatus(errno, "mmap");
  *out = p;
  return Status::Ok();
}

Status os_unmap(void* addr, size_t bytes) {
  if (munmap(addr, bytes) != 0) return ErrnoStatus(errno, "munmap");
  return Status::Ok();
}

Status os_lock(void* addr, size_t bytes) {
  if (SysMlock(addr, bytes) != 0) {
    int e = errno;
    if (e == ENOMEM || e == EPERM || e == EAGAIN) {
      return Status::Fail(e == EAGAIN ? "ENOMEM" : ErrnoCode(e), e,
                          std::string("mlock of ") + std::to_string(bytes) + " bytes refused (" +
                              std::strerror(e) + "): " + MemlockHint("locked memory"));
    }
    return ErrnoStatus(e, "mlock");
  }
  return Status::Ok();
}

Status os_unlock(void* addr, size_t bytes) {
  if (SysMunlock(addr, bytes) != 0) return ErrnoStatus(errno, "munlock");
  return Status::Ok();
}

MemoryStatus os_memory_status() {
  MemoryStatus m;
#ifdef __linux__
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return m;
  char line[256];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    long long kb = 0;
    if (std::sscanf(line, "VmPin: %lld kB", &kb) == 1) m.pinned = kb * 1024;
    else if (std::sscanf(line, "VmLck: %lld kB", &kb) == 1) m.locked = kb * 1024;
    else if (std::sscanf(line, "VmRSS: %lld kB", &kb) == 1) m.rss = kb * 1024;
  }
  std::fclose(f);
#endif
  return m;
}

Status os_residency(void* addr, size_t bytes, int64_t* resident) {
  const size_t pages = (bytes + page_size() - 1) / page_size();
#if defined(__linux__)
  std::vector<unsigned char> vec(pages);
#else
  std::vector<char> vec(pages);
#endif
  if (mincore(addr, bytes, vec.data()) != 0) return ErrnoStatus(errno, "mincore");
  int64_t n = 0;
  for (auto v : vec) n += (v & 1);
  *resident = n;
  return Status::Ok();
}

}  // namespace riopool

#endif  // !_WIN32
