// riopool native core: the `lock` and `none` backends.
//
// `lock` locks the pages of each registration (mlock / VirtualLock). Locks are not reference
// counted by the OS: unlocking one range unlocks every page in it, even a page that another
// registration still uses. So this backend counts, per page, how many live registrations cover
// it; it locks a page when its count goes 0 -> 1 and unlocks it at 1 -> 0.
//
// `none` hands out ids and locks nothing: the memory is page aligned but may be paged out.
// The pool reports it as unlocked.
#include <cerrno>
#include <unordered_map>

#include "backend.h"

namespace riopool {
namespace {

class LockBackend final : public Backend {
 public:
  explicit LockBackend(bool lock) : lock_(lock), ids_(1u << 24) {}
  ~LockBackend() override { Close(); }

  const char* kind() const override { return lock_ ? "lock" : "none"; }
  bool locks() const override { return lock_; }
  uint32_t capacity() const override { return ids_.limit(); }

  Status Register(void* addr, size_t len, uint32_t* id) override {
    if (closed_) return Status::Fail(Code::kEBADF, EBADF, "the backend is closed");
    uint32_t slot;
    if (!ids_.Take(&slot)) {
      return Status::Fail(Code::kENOSPC, ENOSPC, "every registration id is in use");
    }
    Range r{reinterpret_cast<uintptr_t>(addr), len};
    if (lock_) {
      Status s = LockPages(r);
      if (!s.ok()) {
        ids_.Put(slot);
        return s;
      }
    }
    if (slot >= ranges_.size()) ranges_.resize(slot + 1);
    ranges_[slot] = r;
    *id = slot;
    return Status::Ok();
  }

  Status Deregister(uint32_t id, bool memory_gone) override {
    if (closed_) return Status::Fail(Code::kEBADF, EBADF, "the backend is closed");
    Range r = ranges_[id];
    if (lock_) UnlockPages(r, memory_gone);
    ids_.Put(id);
    return Status::Ok();
  }

  void Close() override {
    if (closed_) return;
    closed_ = true;
    if (lock_) {
      // Whatever is still registered: unlock each counted page once.
      for (auto& entry : page_refs_) {
        os_unlock(reinterpret_cast<void*>(entry.first), page_size());
      }
      page_refs_.clear();
    }
  }

 private:
  struct Range {
    uintptr_t addr;
    size_t len;
  };

  Status LockPages(Range r) {
    const uintptr_t p = page_size();
    const uintptr_t first = r.addr / p * p;
    const uintptr_t end = r.addr + r.len;
    // Lock the pages nobody holds yet, one call per run of such pages.
    for (uintptr_t page = first; page < end; page += p) {
      if (page_refs_.count(page) != 0) continue;
      uintptr_t run_end = page + p;
      while (run_end < end && page_refs_.count(run_end) == 0) run_end += p;
      Status s = os_lock(reinterpret_cast<void*>(page), run_end - page);
      if (!s.ok()) {
        // Undo this call's own locks: the pages it added with a count of 0.
        for (uintptr_t q = first; q < page; q += p) {
          auto it = page_refs_.find(q);
          if (it != page_refs_.end() && it->second == 0) {
            os_unlock(reinterpret_cast<void*>(q), p);
            page_refs_.erase(it);
          }
        }
        return s;
      }
      for (uintptr_t q = page; q < run_end; q += p) page_refs_[q] = 0;
      page = run_end - p;
    }
    for (uintptr_t page = first; page < end; page += p) page_refs_[page]++;
    return Status::Ok();
  }

  void UnlockPages(Range r, bool memory_gone) {
    const uintptr_t p = page_size();
    const uintptr_t end = r.addr + r.len;
    for (uintptr_t page = r.addr / p * p; page < end; page += p) Release(page, memory_gone);
  }

  // Drops one reference on a page; unlocks it at zero unless the memory is gone.
  void Release(uintptr_t page, bool memory_gone) {
    auto it = page_refs_.find(page);
    if (it == page_refs_.end()) return;
    if (it->second > 1) {
      it->second--;
      return;
    }
    if (!memory_gone) os_unlock(reinterpret_cast<void*>(page), page_size());
    page_refs_.erase(it);
  }

  bool lock_;
  bool closed_ = false;
  IdTable ids_;
  std::vector<Range> ranges_;
  std::unordered_map<uintptr_t, uint32_t> page_refs_;
};

}  // namespace

std::unique_ptr<Backend> OpenLockBackend(bool lock, Status* /*status*/) {
  return std::unique_ptr<Backend>(new LockBackend(lock));
}

std::vector<const char*> CompiledBackends() {
  std::vector<const char*> names;
#if defined(__linux__) && __has_include(<linux/io_uring.h>)
  names.push_back("uring");
#endif
#ifdef _WIN32
  names.push_back("rio");
#endif
  names.push_back("lock");
  names.push_back("none");
  return names;
}

}  // namespace riopool
