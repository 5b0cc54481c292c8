// riopool native core: completions into Node's event loop (see notifier.h).
#include "notifier.h"

#if defined(__linux__) && defined(RIOPOOL_HAVE_UV)

#include <uv.h>

#include <memory>
#include <string>
#include <vector>

namespace riopool {
namespace {

// At most this many completions per JavaScript call; a larger drain makes several calls.
constexpr uint32_t kBatch = 1024;
// At most this many drains (each one or more JavaScript calls) per wake-up.
constexpr int kRounds = 4;

class UvNotifier final : public Notifier {
 public:
  UvNotifier(Napi::Env env, Ring& io, Napi::Function callback) : env_(env), io_(io), cells_(std::make_shared<Cells>()) {
    callback_ = Napi::Persistent(callback);
    // The ArrayBuffer shares the cells: its finalizer drops its share, so a view that JavaScript
    // keeps (or a buffer transferred away) never outlives the memory, whichever goes first.
    // (External ArrayBuffers are required, as for every slab: addon.cc.)
    auto share = std::make_unique<std::shared_ptr<Cells>>(cells_);
    Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(
        env, cells_->at, sizeof(cells_->at), [](Napi::Env, void*, std::shared_ptr<Cells>* s) { delete s; }, share.get());
    share.release();  // the finalizer's now (New threw, and nothing leaked, if it could not make the buffer)
    ops_ = Napi::Persistent(Napi::Int32Array::New(env, kBatch, buffer, 0).As<Napi::Object>());
    results_ = Napi::Persistent(Napi::Int32Array::New(env, kBatch, buffer, kBatch * sizeof(int32_t)).As<Napi::Object>());
    flags_ = Napi::Persistent(Napi::Int32Array::New(env, kBatch, buffer, 2 * kBatch * sizeof(int32_t)).As<Napi::Object>());
  }

  ~UvNotifier() override {
    // Destroyed from inside a callback (the last completion closed the pool, which closed the
    // registrar): tell Deliver to touch nothing of ours once the callback returns.
    if (delivering_ != nullptr) *delivering_ = false;
    if (poll_ == nullptr) return;
    uv_poll_stop(poll_);  // out of the loop's epoll set before the ring (and its fd) closes
    CloseHandle(poll_);
  }

  // Why the ring's fd and not an eventfd registered with the ring (docs/native.md, "Waking up"):
  // one system call less per wake-up (no read to reset a counter), and the kernel wakes a poller
  // of the ring's fd from this thread's own task work, while an eventfd signal raised from the
  // network's softirq may be deferred through an RCU callback (milliseconds).
  Status Open() {
    const int fd = io_.ReadyFd();
    if (fd < 0) return Status::Fail(Code::kENOSYS, 0, "this ring's completions cannot be watched by the event loop");
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env_, &loop) != napi_ok || loop == nullptr) {
      return Status::Fail(Code::kEIO, 0, "no libuv loop for this environment");
    }
    poll_ = new uv_poll_t;
    poll_->data = this;
    int r = uv_poll_init(loop, poll_, fd);
    if (r != 0) {
      delete poll_;  // not in the loop's handle list yet
    } else if ((r = uv_poll_start(poll_, UV_READABLE, &UvNotifier::OnReadable)) != 0) {
      CloseHandle(poll_);  // initialized: the loop lists it until it is closed
    }
    if (r != 0) {
      poll_ = nullptr;
      return Status::Fail(Code::kEIO, -r, std::string("uv_poll on the ring's fd: ") + uv_strerror(r));
    }
    KeepLoopAlive(false);
    return Status::Ok();
  }

  void KeepLoopAlive(bool alive) override {
    if (poll_ == nullptr || alive == alive_) return;
    alive_ = alive;
    if (alive) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    else uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  }

 private:
  // An initialized handle is freed only from its close callback (the loop lists it until then).
  static void CloseHandle(uv_poll_t* poll) {
    uv_close(reinterpret_cast<uv_handle_t*>(poll), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  }

  static void OnReadable(uv_poll_t* handle, int status, int /*events*/) {
    auto* self = static_cast<UvNotifier*>(handle->data);
    if (status < 0) return;
    // Level-triggered: the fd stays readable until the CQ is drained. A batch's callback usually
    // submits (its microtask), and what completes inline there (a send the socket took at once)
    // is in the CQ when the callback returns: delivered now, not after another trip through
    // epoll. Bounded, so that a ring that never runs dry does not starve the rest of the loop.
    for (int round = 0; round < kRounds && self->Deliver(); round++) {
    }
  }

  // Drains every ready completion first (so the callback never runs inside the drain), then
  // hands them to JavaScript in batches of at most kBatch. True if it delivered any and this
  // notifier is still open.
  bool Deliver() {
    ready_.clear();
    io_.Drain(
        [](void* context, uint32_t op, int32_t result, uint32_t flags) {
          static_cast<std::vector<Completion>*>(context)->push_back(Completion{static_cast<int32_t>(op), result, static_cast<int32_t>(flags)});
        },
        &ready_);
    KeepLoopAlive(io_.InFlight() > 0);
    if (ready_.empty()) return false;
    Napi::Env env = env_;
    Napi::HandleScope scope(env);
    // The views' values only (a Napi::Int32Array would ask V8 for each one's type, buffer and
    // data: three calls a wake-up); the cells are written through cells_.
    Napi::Object ops = ops_.Value();
    Napi::Object results = results_.Value();
    Napi::Object flags = flags_.Value();
    Napi::Function callback = callback_.Value();
    int32_t* const cells = cells_->at;
    bool alive = true;
    delivering_ = &alive;
    for (size_t at = 0; at < ready_.size(); at += kBatch) {
      const size_t n = std::min<size_t>(kBatch, ready_.size() - at);
      for (size_t i = 0; i < n; i++) {
        cells[i] = ready_[at + i].op;
        cells[kBatch + i] = ready_[at + i].result;
        cells[2 * kBatch + i] = ready_[at + i].flags;
      }
      Call(env, callback, ops, results, flags, n);
      if (!alive) return false;  // this notifier (and the ring) were closed by the callback
    }
    delivering_ = nullptr;
    KeepLoopAlive(io_.InFlight() > 0);
    return true;
  }

  // The one call into JavaScript. It uses napi_make_callback directly, not the C++ wrapper,
  // because a worker or process that is stopping may refuse to run JavaScript here, and the
  // wrapper's reaction (constructing an Error) is a fatal error then. An exception the callback
  // throws is the application's and is reported as node would (uncaughtException); a refusal to
  // run is ignored: the environment is going away and its cleanup closes the ring.
  // The callback is its own receiver (the reactor's is an arrow function, which has no `this` of
  // its own): no lookup of the global object per call.
  static void Call(Napi::Env env, Napi::Function callback, Napi::Object ops, Napi::Object results, Napi::Object flags, size_t n) {
    napi_value count;
    if (napi_create_uint32(env, static_cast<uint32_t>(n), &count) != napi_ok) return;
    napi_value argv[4] = {ops, results, flags, count};
    napi_value result;
    napi_status status = napi_make_callback(env, nullptr, callback, callback, 4, argv, &result);
    if (status == napi_ok) return;
    napi_value error;
    if (napi_get_and_clear_last_exception(env, &error) != napi_ok) return;
    napi_valuetype type;
    if (napi_typeof(env, error, &type) == napi_ok && type != napi_undefined) napi_fatal_exception(env, error);
  }

  Napi::Env env_;
  Ring& io_;
  Napi::FunctionReference callback_;
  // The three Int32Arrays of a batch are views of one block of cells: ops at 0, results at
  // kBatch, flags at 2 * kBatch.
  struct Cells {
    int32_t at[3 * kBatch] = {};
  };
  std::shared_ptr<Cells> cells_;
  Napi::ObjectReference ops_;
  Napi::ObjectReference results_;
  Napi::ObjectReference flags_;
  struct Completion {
    int32_t op;
    int32_t result;
    int32_t flags;
  };
  std::vector<Completion> ready_;
  uv_poll_t* poll_ = nullptr;
  bool alive_ = true;
  // While Deliver runs: its flag that the destructor clears.
  bool* delivering_ = nullptr;
};

}  // namespace

std::unique_ptr<Notifier> Notifier::Start(Napi::Env env, Ring& io, Napi::Function callback, Status* status) {
  std::unique_ptr<UvNotifier> n(new UvNotifier(env, io, callback));
  *status = n->Open();
  if (!status->ok()) return nullptr;
  return n;
}

}  // namespace riopool

#else

namespace riopool {
std::unique_ptr<Notifier> Notifier::Start(Napi::Env, Ring&, Napi::Function, Status* status) {
  *status = Status::Fail(Code::kENOSYS, 0, "this build has no registered-I/O notifier (Linux with libuv's uv.h only)");
  return nullptr;
}
}  // namespace riopool

#endif
