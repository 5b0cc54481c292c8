// riopool native core: OS primitives for Windows.
#ifdef _WIN32

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <psapi.h>

#include <string>

#include "prim.h"

namespace riopool {

Status WinStatus(DWORD e, const char* what) {
  Code code = Code::kEIO;
  switch (e) {
    case ERROR_INVALID_PARAMETER: code = Code::kEINVAL; break;
    case ERROR_NOACCESS:
    case ERROR_INVALID_ADDRESS: code = Code::kEFAULT; break;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_WORKING_SET_QUOTA:
    case ERROR_COMMITMENT_LIMIT: code = Code::kENOMEM; break;
    case ERROR_ACCESS_DENIED:
    case ERROR_PRIVILEGE_NOT_HELD: code = Code::kEPERM; break;
    default: break;
  }
  return Status::Fail(code, static_cast<int>(e),
                      std::string(what) + " failed with Windows error " + std::to_string(e));
}

// The limit every refused lock names: the process's minimum working-set size, in bytes.
Limit MemlockLimit() {
  Limit limit;
  limit.name = "the minimum working-set size";
  SIZE_T lo = 0;
  SIZE_T hi = 0;
  if (GetProcessWorkingSetSize(GetCurrentProcess(), &lo, &hi)) limit.bytes = static_cast<int64_t>(lo);
  return limit;
}

size_t page_size() {
  static const size_t size = [] {
    SYSTEM_INFO info;
    GetSystemInfo(&info);
    return static_cast<size_t>(info.dwPageSize);
  }();
  return size;
}

Status os_map(size_t bytes, void** out) {
  void* p = VirtualAlloc(nullptr, bytes, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
  if (p == nullptr) return WinStatus(GetLastError(), "VirtualAlloc");
  *out = p;
  return Status::Ok();
}

Status os_unmap(void* addr, size_t /*bytes*/) {
  if (!VirtualFree(addr, 0, MEM_RELEASE)) return WinStatus(GetLastError(), "VirtualFree");
  return Status::Ok();
}

Status os_lock(void* addr, size_t bytes) {
  if (!VirtualLock(addr, bytes)) {
    Status s = WinStatus(GetLastError(), "VirtualLock");
    if (s.code == Code::kENOMEM || s.code == Code::kEPERM) s.limit = MemlockLimit();
    return s;
  }
  return Status::Ok();
}

Status os_unlock(void* addr, size_t bytes) {
  if (!VirtualUnlock(addr, bytes)) return WinStatus(GetLastError(), "VirtualUnlock");
  return Status::Ok();
}

MemoryStatus os_memory_status() {
  MemoryStatus m;
  PROCESS_MEMORY_COUNTERS pmc;
  if (K32GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof pmc)) {
    m.rss = static_cast<int64_t>(pmc.WorkingSetSize);
  }
  return m;
}

Status os_residency(void* /*addr*/, size_t /*bytes*/, int64_t* resident) {
  *resident = -1;  // QueryWorkingSetEx could tell; not needed by the pool yet.
  return Status::Ok();
}

// The registered-I/O datapath's sockets: not built on Windows yet (the `rio` datapath is
// declared, not implemented; docs/native.md). Each says so with ENOSYS.
Status os_tcp_listen(const char*, int, int, int*, int*) {
  return Status::Fail(Code::kENOSYS, 0, "the registered-I/O datapath is not implemented on Windows yet");
}
Status os_tcp_socket(const char*, int*) {
  return Status::Fail(Code::kENOSYS, 0, "the registered-I/O datapath is not implemented on Windows yet");
}
Status os_close_socket(int) {
  return Status::Fail(Code::kENOSYS, 0, "the registered-I/O datapath is not implemented on Windows yet");
}
Status os_socket_address(const char*, int, void*, uint32_t*) {
  return Status::Fail(Code::kENOSYS, 0, "the registered-I/O datapath is not implemented on Windows yet");
}
Status os_socket_name(int, bool, char*, size_t, int*, int*) {
  return Status::Fail(Code::kENOSYS, 0, "the registered-I/O datapath is not implemented on Windows yet");
}
Status os_tcp_nodelay(int, bool) {
  return Status::Fail(Code::kENOSYS, 0, "the registered-I/O datapath is not implemented on Windows yet");
}
Status os_tcp_keepalive(int, bool, int) {
  return Status::Fail(Code::kENOSYS, 0, "the registered-I/O datapath is not implemented on Windows yet");
}

}  // namespace riopool

#endif  // _WIN32
