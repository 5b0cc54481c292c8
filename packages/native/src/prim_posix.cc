// riopool native core: OS primitives for POSIX systems (Linux, macOS, the BSDs).
#ifndef _WIN32

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "prim.h"

namespace riopool {
namespace {

Code ErrnoCode(int e) {
  switch (e) {
    case EFAULT: return Code::kEFAULT;
    case EINVAL: return Code::kEINVAL;
    case ENOMEM: return Code::kENOMEM;
    case EPERM: return Code::kEPERM;
    case EAGAIN: return Code::kEAGAIN;
    case ENOSPC: return Code::kENOSPC;
    case ENOSYS: return Code::kENOSYS;
    case EBUSY: return Code::kEBUSY;
    case EBADF: return Code::kEBADF;
    case EADDRINUSE: return Code::kEADDRINUSE;
    case EADDRNOTAVAIL: return Code::kEADDRNOTAVAIL;
    case EACCES: return Code::kEACCES;
    case EAFNOSUPPORT: return Code::kEAFNOSUPPORT;
    default: return Code::kEIO;
  }
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

// The limit every refused lock or pin names: the soft RLIMIT_MEMLOCK, in bytes.
Limit MemlockLimit() {
  Limit limit;
  limit.name = "RLIMIT_MEMLOCK";
  struct rlimit rl;
  if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) limit.bytes = static_cast<int64_t>(rl.rlim_cur);
  return limit;
}

size_t page_size() {
  static const size_t size = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

Status os_map(size_t bytes, void** out) {
  assert(bytes > 0 && bytes % page_size() == 0);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return ErrnoStatus(errno, "mmap");
  *out = p;
  return Status::Ok();
}

Status os_unmap(void* addr, size_t bytes) {
  assert(reinterpret_cast<uintptr_t>(addr) % page_size() == 0 && bytes % page_size() == 0);
  if (munmap(addr, bytes) != 0) return ErrnoStatus(errno, "munmap");
  return Status::Ok();
}

Status os_lock(void* addr, size_t bytes) {
  assert(bytes > 0);
  if (SysMlock(addr, bytes) != 0) {
    int e = errno;
    if (e == ENOMEM || e == EPERM || e == EAGAIN) {
      Status s = Status::Fail(e == EAGAIN ? Code::kENOMEM : ErrnoCode(e), e,
                              std::string("mlock of ") + std::to_string(bytes) + " bytes refused (" + std::strerror(e) + ")");
      s.limit = MemlockLimit();
      return s;
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
  bool cap_ipc_lock = false;
#ifdef __linux__
  unsigned long long caps = 0;
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return m;
  char line[256];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    long long kb = 0;
    if (std::sscanf(line, "VmPin: %lld kB", &kb) == 1) m.pinned = kb * 1024;
    else if (std::sscanf(line, "VmLck: %lld kB", &kb) == 1) m.locked = kb * 1024;
    else if (std::sscanf(line, "VmRSS: %lld kB", &kb) == 1) m.rss = kb * 1024;
    else if (std::sscanf(line, "CapEff: %llx", &caps) == 1) cap_ipc_lock = (caps >> 14) & 1;  // CAP_IPC_LOCK = 14
  }
  std::fclose(f);
#endif
  if (!cap_ipc_lock) m.lock_limit = MemlockLimit().bytes;
  return m;
}

Status os_residency(void* addr, size_t bytes, int64_t* resident) {
  assert(reinterpret_cast<uintptr_t>(addr) % page_size() == 0);
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

Status os_socket_address(const char* host, int port, void* address, uint32_t* len) {
  if (port < 0 || port > 65535) return Status::Fail(Code::kEINVAL, EINVAL, "port must be 0 .. 65535");
  sockaddr_in v4;
  std::memset(&v4, 0, sizeof v4);
  if (inet_pton(AF_INET, host, &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(static_cast<uint16_t>(port));
    std::memcpy(address, &v4, sizeof v4);
    *len = sizeof v4;
    return Status::Ok();
  }
  sockaddr_in6 v6;
  std::memset(&v6, 0, sizeof v6);
  if (inet_pton(AF_INET6, host, &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(static_cast<uint16_t>(port));
    std::memcpy(address, &v6, sizeof v6);
    *len = sizeof v6;
    return Status::Ok();
  }
  return Status::Fail(Code::kEINVAL, EINVAL, std::string("not a numeric IPv4 or IPv6 address: ") + host);
}

namespace {

// A blocking, close-on-exec TCP socket for host's family, with TCP_NODELAY.
Status NewTcpSocket(const sockaddr_storage& address, int* fd) {
  int s = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
  if (s < 0) return ErrnoStatus(errno, "socket");
  (void)os_tcp_nodelay(s, true);  // best effort, as node:net does: a socket without it still works
  *fd = s;
  return Status::Ok();
}

}  // namespace

Status os_tcp_socket(const char* host, int* fd) {
  sockaddr_storage address;
  uint32_t len = 0;
  Status st = os_socket_address(host, 0, &address, &len);
  if (!st.ok()) return st;
  return NewTcpSocket(address, fd);
}

Status os_tcp_listen(const char* host, int port, int backlog, int* fd, int* bound_port) {
  sockaddr_storage address;
  uint32_t len = 0;
  Status st = os_socket_address(host, port, &address, &len);
  if (!st.ok()) return st;
  int s = -1;
  st = NewTcpSocket(address, &s);
  if (!st.ok()) return st;
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(s, reinterpret_cast<sockaddr*>(&address), len) != 0 || listen(s, backlog) != 0) {
    int e = errno;
    close(s);
    return ErrnoStatus(e, "bind/listen");
  }
  char bound_host[INET6_ADDRSTRLEN];
  int family = 0;
  st = os_socket_name(s, false, bound_host, sizeof bound_host, bound_port, &family);
  if (!st.ok()) {
    close(s);
    return st;
  }
  *fd = s;
  return Status::Ok();
}

Status os_close_socket(int fd) {
  if (close(fd) != 0) return ErrnoStatus(errno, "close");
  return Status::Ok();
}

Status os_socket_name(int fd, bool peer, char* host, size_t host_len, int* port, int* family) {
  assert(host != nullptr && host_len >= INET6_ADDRSTRLEN);
  sockaddr_storage address;
  socklen_t len = sizeof address;
  int rc = peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&address), &len) : getsockname(fd, reinterpret_cast<sockaddr*>(&address), &len);
  if (rc != 0) return ErrnoStatus(errno, peer ? "getpeername" : "getsockname");
  const void* ip = nullptr;
  int p = 0;
  if (address.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&address);
    ip = &a->sin_addr;
    p = ntohs(a->sin_port);
  } else if (address.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&address);
    ip = &a->sin6_addr;
    p = ntohs(a->sin6_port);
  } else {
    return Status::Fail(Code::kEAFNOSUPPORT, EAFNOSUPPORT, "not an IPv4 or IPv6 socket");
  }
  if (inet_ntop(address.ss_family, ip, host, static_cast<socklen_t>(host_len)) == nullptr) return ErrnoStatus(errno, "inet_ntop");
  *port = p;
  *family = address.ss_family == AF_INET ? 4 : 6;
  return Status::Ok();
}

Status os_tcp_nodelay(int fd, bool on) {
  int v = on ? 1 : 0;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v) != 0) return ErrnoStatus(errno, "setsockopt(TCP_NODELAY)");
  return Status::Ok();
}

Status os_tcp_keepalive(int fd, bool on, int idle_seconds) {
  assert(idle_seconds >= 0 && idle_seconds <= 32767);
  int v = on ? 1 : 0;
  if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v) != 0) return ErrnoStatus(errno, "setsockopt(SO_KEEPALIVE)");
#ifdef TCP_KEEPIDLE
  if (on && idle_seconds > 0 && setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle_seconds, sizeof idle_seconds) != 0)
    return ErrnoStatus(errno, "setsockopt(TCP_KEEPIDLE)");
#endif
  return Status::Ok();
}

}  // namespace riopool

#endif  // !_WIN32
