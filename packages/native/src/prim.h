// riopool native core: the OS primitives.
//
// Glossary
//   page      the kernel's page size, asked at run time (page_size()), never a constant.
//   mapping   whole pages of anonymous, private, read-write memory from os_map().
//   Status    every primitive that can fail returns one: ok, or an errno-style Code (kEFAULT,
//             kEINVAL, kENOMEM, kEPERM, ...) with the OS error number, a message that states
//             what failed, and, for a refused lock or pin, the facts of the limit (its name and
//             value). The binding turns it into a JS Error with `code` = the code's name; the
//             TypeScript layer writes the advice (how to raise the limit).
//
// There is no policy here: no size classes, no reuse, no caching. Each primitive states what it
// assumes; the caller (the TypeScript core) decides when to call it.
//
// One implementation file per OS: prim_posix.cc, prim_windows.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace riopool {

// The failure codes, named after the errno values they stand for (CodeName gives the name the
// JavaScript error carries).
enum class Code : uint8_t {
  kOk = 0,
  kEFAULT,
  kEINVAL,
  kENOMEM,
  kEPERM,
  kEAGAIN,
  kENOSPC,
  kENOSYS,
  kEBUSY,
  kEBADF,
  kEADDRINUSE,
  kEADDRNOTAVAIL,
  kEACCES,
  kEAFNOSUPPORT,
  kEIO,
};
const char* CodeName(Code code);

// A limit that refused a lock or pin: its name (RLIMIT_MEMLOCK, the working-set size) and its
// value in bytes (-1: unlimited or unknown).
struct Limit {
  const char* name = nullptr;
  int64_t bytes = -1;
};

struct Status {
  Code code = Code::kOk;
  int sys = 0;  // the OS error number (errno, WSAGetLastError, GetLastError), 0 if none
  std::string message;
  Limit limit;  // set when a lock or pin was refused

  bool ok() const { return code == Code::kOk; }
  bool refused_by_limit() const { return limit.name != nullptr; }
  static Status Ok() { return Status{}; }
  static Status Fail(Code code, int sys, std::string message) {
    Status s;
    s.code = code;
    s.sys = sys;
    s.message = std::move(message);
    return s;
  }
};

// The OS page size in bytes (a power of two).
size_t page_size();

// Maps `bytes` of zeroed, read-write, private memory.
// Pre: bytes > 0 and bytes is a multiple of page_size().
// Post: on success *out is page aligned.
Status os_map(size_t bytes, void** out);

// Unmaps memory from os_map.
// Pre: addr and bytes are exactly what one os_map call returned and asked for; not yet unmapped.
Status os_unmap(void* addr, size_t bytes);

// Locks / unlocks the pages holding [addr, addr + bytes) in physical memory.
// Pre: bytes > 0; the range lies inside live mappings. Partial pages are locked whole.
// A refusal names the limit (RLIMIT_MEMLOCK, or the working-set size on Windows) and its value;
// the TypeScript layer writes the advice.
Status os_lock(void* addr, size_t bytes);
Status os_unlock(void* addr, size_t bytes);

// Process memory figures in bytes; -1 where the OS does not say.
struct MemoryStatus {
  int64_t pinned = -1;  // Linux VmPin: pages pinned by io_uring and other kernel users
  int64_t locked = -1;  // Linux VmLck: pages locked with mlock
  int64_t rss = -1;     // resident set size
  // The limit on locked and pinned memory that applies to this process (POSIX: the soft
  // RLIMIT_MEMLOCK; -1 when unlimited, or when the process may lock without limit: Linux's
  // CAP_IPC_LOCK in its effective set, which io_uring and mlock both honour).
  int64_t lock_limit = -1;
};
MemoryStatus os_memory_status();

// Counts the pages of [addr, addr + bytes) resident in physical memory.
// Pre: addr is page aligned; the range lies inside one live mapping.
// Sets *resident to -1 where the OS cannot tell.
Status os_residency(void* addr, size_t bytes, int64_t* resident);

// Sockets for the registered-I/O datapath. `host` is a numeric IPv4 or IPv6 address.
// os_tcp_listen: a listening TCP socket bound to host:port (port 0: any free port, returned in
// *bound_port), SO_REUSEADDR and TCP_NODELAY set (accepted sockets inherit TCP_NODELAY).
// os_tcp_socket: an unconnected TCP socket of host's family, TCP_NODELAY set.
// Sockets are blocking and close-on-exec: io_uring waits for readiness itself.
Status os_tcp_listen(const char* host, int port, int backlog, int* fd, int* bound_port);
Status os_tcp_socket(const char* host, int* fd);
Status os_close_socket(int fd);
// Fills `address` (at least 28 bytes) with host:port; *len is its length.
Status os_socket_address(const char* host, int port, void* address, uint32_t* len);

// The address of one end of a TCP socket: getsockname (peer false) or getpeername (peer true).
// Pre: fd is an open IPv4 or IPv6 socket of the caller's; for the peer, a connected one.
// Fills `host` (numeric, NUL-terminated; host_len at least 46, INET6_ADDRSTRLEN), *port and
// *family (4 or 6). Fails with the errno (EBADF, ENOTCONN as EIO, ...) and writes nothing else.
Status os_socket_name(int fd, bool peer, char* host, size_t host_len, int* port, int* family);
// TCP_NODELAY on or off. Pre: fd is an open TCP socket of the caller's.
Status os_tcp_nodelay(int fd, bool on);
// SO_KEEPALIVE on or off and, when on and idle_seconds > 0, TCP_KEEPIDLE (seconds of idle before
// the first probe). Pre: fd is an open TCP socket of the caller's; 0 <= idle_seconds <= 32767
// (Linux's bound for TCP_KEEPIDLE); the caller converts node:net's milliseconds.
Status os_tcp_keepalive(int fd, bool on, int idle_seconds);

// For the backend files: the limit that governs locking and pinning here (on POSIX the soft
// RLIMIT_MEMLOCK, on Windows the process's minimum working set), and, on POSIX, a Status from an
// errno value.
Limit MemlockLimit();
#ifndef _WIN32
Status ErrnoStatus(int e, const char* what);
#endif


}  // namespace riopool
