// riopool native core: completions into Node's event loop.
//
// A libuv poll handle on Node's own loop watches the ring's own fd (Ring::ReadyFd), which polls
// readable while completions wait in the CQ. When it is readable, every ready completion is
// drained in one native call and
// handed to the JavaScript callback as one batch: callback(ops, results, flags, count), three
// Int32Arrays reused from batch to batch (views of one block of cells the notifier writes directly). The callback runs through node's MakeCallback, so the microtasks it
// queues (the TypeScript reactor's one submit per turn) run right after it. No thread of our own.
//
// The poll handle keeps the loop alive only while operations are in flight, as a socket with a
// pending read does; an idle ring does not hold a process open.
#pragma once

#include <napi.h>

#include <memory>

#include "backend.h"

namespace riopool {

class Notifier {
 public:
  // Starts watching; nullptr with *status set where it cannot (ENOSYS: built without libuv's
  // header, or not Linux).
  static std::unique_ptr<Notifier> Start(Napi::Env env, Ring& io, Napi::Function callback, Status* status);
  virtual ~Notifier() = default;
  // References or unreferences the loop (true while operations are in flight).
  virtual void KeepLoopAlive(bool alive) = 0;
};

}  // namespace riopool
