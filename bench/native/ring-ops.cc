// ring-ops: which io_uring ops move bytes between memory in the ring's fixed-buffer table and a
// connected loopback TCP socket on this kernel, and how fast each one is. No liburing.
//
// Variants (receive op / send op, used by both ends of every connection):
//   1 rw_fixed    IORING_OP_READ_FIXED / IORING_OP_WRITE_FIXED, buf_index 0 (what riopool does)
//   2 send_fixed  READ_FIXED / IORING_OP_SEND, IORING_RECVSEND_FIXED_BUF in ioprio
//   3 send_zc     READ_FIXED / IORING_OP_SEND_ZC, IORING_RECVSEND_FIXED_BUF (+ REPORT_USAGE); a
//                 buffer is not reused before its IORING_CQE_F_NOTIF completion
//   4 recv_multi  multishot IORING_OP_RECV from a provided-buffer ring (IORING_REGISTER_PBUF_RING)
//                 whose buffers are carved from the registered region / WRITE_FIXED
//   5 plain       read(2) / write(2) on non-blocking sockets, no ring
//
// Design: one thread, and per case a fresh ring (SINGLE_ISSUER|DEFER_TASKRUN, or none if refused)
// and 50 TCP connections over 127.0.0.1 (listen/connect/accept, TCP_NODELAY). The client and the
// server end of each connection are both driven through that ring with the variant's ops (plain:
// both ends with non-blocking read/write in passes over the pairs; EAGAIN is counted, retried).
// A round: each client sends M bytes, each server echoes what it gets, and the round ends when
// every client has its M bytes back and no send is in flight. The loop is io_uring_enter(submit
// everything queued, min_complete 1, GETEVENTS), reap, repeat. send_zc: the round also waits for
// client notifications (the next round rewrites the pattern) but not for the servers': for TCP a
// notification comes when the peer ACKs, so a server keeps its buffer (receives nothing into it)
// until the next request carries the ACK. Waiting for those stalled every round ~40 ms on the
// delayed-ACK timer. For 64 KiB the same wait happens between a server's 8 KiB pieces (below).
//
// Memory: one 1 MiB page-aligned mmap region, registered as fixed buffer 0: [0, 68 KiB) holds the
// round's pattern (clients send from it), the rest 100 per-end receive buffers (1-3, 5) or the
// provided-buffer pool (4). For 100 ends to fit, a receive is at most 8 KiB: 64 KiB is sent in
// one op (short sends resubmitted) and received in <= 8 KiB pieces. In 1-3 a server end has one
// buffer (receive, echo, receive again); in 4 the pool (1024 x 64 B, 239 x 4 KiB, 119 x 8 KiB)
// lets it receive while echoing, and a multishot that ends (e.g. ENOBUFS) is re-armed.
//
// Verification: the pattern changes every round and pair p sends it from offset p, so stale,
// short or cross-connection data fails the byte compare clients do on every receive.
//
// Output per variant and size, median of 3 runs of ~1 s (by rt/s): status ("ok", or the errno
// the kernel returned and the op), round-trips/s (one per connection per round), MB/s (payload
// both ways, 2*M per round-trip), syscalls per round-trip (io_uring_enter calls; plain: read +
// write calls), each run's rt/s, and for send_zc the share of notifications flagged ZC_COPIED.
//
// Build: g++ -std=c++17 -O2 -Wall -Wextra -Werror -o /tmp/ring-ops bench/native/ring-ops.cc
// Run:   /tmp/ring-ops [variant 1-5 [size in bytes]]   (root, or RLIMIT_MEMLOCK >= 1 MiB)
#include <arpa/inet.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

namespace {

constexpr int kPairs = 50;
constexpr size_t kRegionSize = 1 << 20;
constexpr size_t kPatternArea = 68 << 10;
constexpr size_t kMaxChunk = 8 << 10;
constexpr unsigned kSqEntries = 256, kCqEntries = 4096, kMaxPool = 1024;
constexpr uint16_t kBgid = 0;
constexpr int kWarmupRounds = 20, kReps = 3;
constexpr double kCaseSeconds = 1.0;
enum Variant { kRwFixed, kSendFixed, kSendZc, kRecvMulti, kPlain, kVariantCount };
const char* const kNames[] = {"1 rw_fixed (read_fixed/write_fixed)", "2 send_fixed (read_fixed/send)",
                              "3 send_zc (read_fixed/send_zc)", "4 recv_multi (recv mshot/write_fixed)",
                              "5 plain (read/write)"};
enum OpKind : uint64_t { kOpRecv = 0, kOpSend = 1 };

struct Failure { int err; std::string what; };  // err 0: wrong data or EOF, not a refusal
uint8_t* g_region = nullptr;
unsigned g_setup_flags = 0;

int sys_setup(unsigned n, io_uring_params* p) { return (int)syscall(__NR_io_uring_setup, n, p); }
int sys_enter(int fd, unsigned n, unsigned wait, unsigned f) { return (int)syscall(__NR_io_uring_enter, fd, n, wait, f, 0, 0); }
int sys_register(int fd, unsigned op, void* arg, unsigned n) { return (int)syscall(__NR_io_uring_register, fd, op, arg, n); }
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// ---- a minimal ring: mmap'd SQ/CQ, queue SQEs, enter, reap CQEs ----
struct Ring {
  int fd = -1;
  void *map = MAP_FAILED, *sqe_map = MAP_FAILED;
  size_t map_len = 0, sqe_len = 0;
  unsigned *sq_head = nullptr, *sq_tail = nullptr, *sq_array = nullptr, *cq_head = nullptr, *cq_tail = nullptr;
  unsigned sq_mask = 0, sq_entries = 0, cq_mask = 0, sq_local = 0, sq_flushed = 0;
  io_uring_sqe* sqes = nullptr;
  io_uring_cqe* cqes = nullptr;
  uint64_t enters = 0;

  ~Ring() {
    if (sqe_map != MAP_FAILED) munmap(sqe_map, sqe_len);
    if (map != MAP_FAILED) munmap(map, map_len);
    if (fd >= 0) close(fd);
  }
  // Returns 0 or -errno; on success *flags_out holds the flags the kernel accepted.
  int open(unsigned flags, unsigned* flags_out) {
    io_uring_params p{};
    p.flags = flags | IORING_SETUP_CQSIZE;
    p.cq_entries = kCqEntries;
    fd = sys_setup(kSqEntries, &p);
    if (fd < 0) return -errno;
    if (!(p.features & IORING_FEAT_SINGLE_MMAP)) return -ENOTSUP;
    map_len = std::max<size_t>(p.sq_off.array + p.sq_entries * sizeof(unsigned),
                               p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe));
    map = mmap(nullptr, map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
    if (map == MAP_FAILED) return -errno;
    sqe_len = p.sq_entries * sizeof(io_uring_sqe);
    sqe_map = mmap(nullptr, sqe_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
    if (sqe_map == MAP_FAILED) return -errno;
    auto at = [this](unsigned off) { return reinterpret_cast<unsigned*>(static_cast<char*>(map) + off); };
    sq_head = at(p.sq_off.head), sq_tail = at(p.sq_off.tail), sq_array = at(p.sq_off.array);
    sq_mask = *at(p.sq_off.ring_mask), sq_entries = p.sq_entries;
    cq_head = at(p.cq_off.head), cq_tail = at(p.cq_off.tail), cq_mask = *at(p.cq_off.ring_mask);
    cqes = reinterpret_cast<io_uring_cqe*>(at(p.cq_off.cqes));
    sqes = static_cast<io_uring_sqe*>(sqe_map);
    sq_local = sq_flushed = *sq_tail;
    *flags_out = p.flags & ~IORING_SETUP_CQSIZE;
    return 0;
  }
  io_uring_sqe* sqe() {
    if (sq_local - __atomic_load_n(sq_head, __ATOMIC_ACQUIRE) >= sq_entries) enter(0);
    unsigned i = sq_local++ & sq_mask;
    sq_array[i] = i;
    memset(&sqes[i], 0, sizeof sqes[i]);
    return &sqes[i];
  }
  // Submits everything queued and, if wait > 0, waits for that many completions.
  void enter(unsigned wait) {
    __atomic_store_n(sq_tail, sq_local, __ATOMIC_RELEASE);
    for (;;) {
      ++enters;
      int r = sys_enter(fd, sq_local - sq_flushed, wait, wait ? IORING_ENTER_GETEVENTS : 0);
      if (r >= 0) { sq_flushed += r; return; }
      if (errno != EINTR) throw Failure{errno, "io_uring_enter"};
    }
  }
  template <class F> void reap(F&& handle) {
    unsigned head = *cq_head, tail = __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE);
    for (; head != tail; ++head) {
      io_uring_cqe c = cqes[head & cq_mask];
      __atomic_store_n(cq_head, head + 1, __ATOMIC_RELEASE);
      handle(c);
    }
  }
};

struct Seg { uint8_t* p; size_t len; int bid; };  // bytes to send; bid >= 0: a pool buffer
struct End {
  int fd = -1, pair = 0;
  bool client = false, sending = false, recving = false;
  uint8_t* buf = nullptr;  // own receive buffer (variants 1-3, plain)
  size_t got = 0;          // bytes received this round
  std::deque<Seg> sendq;   // in order, one send in flight per socket
  int notifs = 0;          // send_zc notifications still to come
  size_t off = 0, len = 0, sent = 0;  // plain variant: echo progress, client send progress
};
struct Result { double secs; uint64_t rounds, syscalls, zc_notifs, zc_copied; };

class Bench {
 public:
  Bench(Variant v, size_t m) : v_(v), m_(m), chunk_(std::min(m, kMaxChunk)), ends_(2 * kPairs) {}
  ~Bench() {
    for (End& e : ends_) if (e.fd >= 0) close(e.fd);
    if (pbuf_ != MAP_FAILED) munmap(pbuf_, pbuf_len_);
  }
  Result run() {
    open_sockets();
    if (v_ != kPlain) open_ring();
    uint32_t round = 0;
    while (round < kWarmupRounds) run_round(round++);
    ring_.enters = syscalls_ = zc_notifs_ = zc_copied_ = 0;
    uint64_t rounds = 0;
    double t0 = now(), secs;
    do { run_round(round++); ++rounds; } while ((secs = now() - t0) < kCaseSeconds);
    return {secs, rounds, v_ == kPlain ? syscalls_ : ring_.enters, zc_notifs_, zc_copied_};
  }

 private:
  void open_sockets() {
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct Guard { int fd; ~Guard() { if (fd >= 0) close(fd); } } guard{lfd};
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (lfd < 0 || bind(lfd, (sockaddr*)&a, sizeof a) || listen(lfd, kPairs) ||
        getsockname(lfd, (sockaddr*)&a, &alen))
      throw Failure{errno, "listener"};
    for (int i = 0; i < 2 * kPairs; ++i) {
      End& e = ends_[i];
      e.pair = i / 2, e.client = i % 2 == 0;
      e.buf = g_region + kPatternArea + i * chunk_;
      e.fd = e.client ? socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0) : accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
      if (e.fd < 0 || (e.client && connect(e.fd, (sockaddr*)&a, sizeof a))) throw Failure{errno, "connect/accept"};
      int one = 1;
      setsockopt(e.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (v_ == kPlain) fcntl(e.fd, F_SETFL, fcntl(e.fd, F_GETFL) | O_NONBLOCK);
    }
  }
  void open_ring() {
    unsigned accepted;
    if (int r = ring_.open(g_setup_flags, &accepted)) throw Failure{-r, "io_uring_setup"};
    iovec iov{g_region, kRegionSize};
    if (sys_register(ring_.fd, IORING_REGISTER_BUFFERS, &iov, 1) < 0) throw Failure{errno, "register buffers"};
    if (v_ == kRecvMulti) open_pbuf_ring();
  }
  void open_pbuf_ring() {
    unsigned count = std::min<size_t>((kRegionSize - kPatternArea) / chunk_, kMaxPool), entries = 1;
    while (entries < count) entries <<= 1;
    pbuf_len_ = (entries * sizeof(io_uring_buf) + 4095) & ~size_t{4095};
    void* m = mmap(nullptr, pbuf_len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) throw Failure{errno, "mmap pbuf ring"};
    pbuf_ = static_cast<io_uring_buf_ring*>(m);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<uintptr_t>(m), reg.ring_entries = entries, reg.bgid = kBgid;
    if (sys_register(ring_.fd, IORING_REGISTER_PBUF_RING, &reg, 1) < 0) throw Failure{errno, "register pbuf ring"};
    pbuf_mask_ = entries - 1, pool_count_ = static_cast<int>(count);
    for (unsigned i = 0; i < count; ++i) return_buf(i);
    for (End& e : ends_) post_recv(e);  // one multishot per socket, re-armed when it ends
  }
  void fill_pattern(uint32_t round) {
    uint8_t seed = static_cast<uint8_t>(round * 17 + (round >> 8));
    for (size_t i = 0; i < m_ + kPairs; ++i) g_region[i] = static_cast<uint8_t>(i * 131 + seed);
  }
  void verify(End& c, const uint8_t* p, size_t n) {
    if (c.got + n > m_) throw Failure{0, "more bytes than sent"};
    if (memcmp(p, g_region + c.pair + c.got, n) != 0) throw Failure{0, "data mismatch"};
    c.got += n;
    if (c.got == m_) ++clients_done_;
  }
  void run_round(uint32_t round) {
    fill_pattern(round);
    clients_done_ = 0;
    for (End& e : ends_) e.got = e.sent = e.len = e.off = 0;
    v_ == kPlain ? plain_round() : ring_round();
  }

  // ---- ring variants ----
  void ring_round() {
    for (End& e : ends_) maybe_recv(e);
    for (int p = 0; p < kPairs; ++p) {
      ends_[2 * p].sendq.push_back(Seg{g_region + p, m_, -1});
      kick_send(ends_[2 * p]);
    }
    while (clients_done_ < kPairs || busy_ > 0) {
      ring_.enter(1);
      ring_.reap([this](const io_uring_cqe& c) { handle(c); });
      if (!pending_.empty() && pool_free_ > 0) {
        for (End* e : pending_) post_recv(*e);
        pending_.clear();
      }
    }
  }
  void handle(const io_uring_cqe& c) {
    End& e = ends_[c.user_data >> 1];
    if (c.flags & IORING_CQE_F_NOTIF) {
      --e.notifs, busy_ -= e.client, ++zc_notifs_;
      zc_copied_ += (c.res & IORING_NOTIF_USAGE_ZC_COPIED) != 0;
      maybe_recv(e);
    } else if ((c.user_data & 1) == kOpSend) {
      on_send(e, c);
    } else {
      on_recv(e, c);
    }
  }
  const char* send_name() const {
    return v_ == kSendFixed ? "send" : v_ == kSendZc ? "send_zc" : "write_fixed";
  }
  void kick_send(End& e) {
    if (e.sending || e.sendq.empty()) return;
    const Seg& s = e.sendq.front();
    io_uring_sqe* q = ring_.sqe();
    q->opcode = v_ == kSendFixed ? IORING_OP_SEND : v_ == kSendZc ? IORING_OP_SEND_ZC : IORING_OP_WRITE_FIXED;
    if (v_ == kSendFixed) q->ioprio = IORING_RECVSEND_FIXED_BUF;
    if (v_ == kSendZc) q->ioprio = IORING_RECVSEND_FIXED_BUF | IORING_SEND_ZC_REPORT_USAGE;
    q->fd = e.fd, q->addr = reinterpret_cast<uintptr_t>(s.p), q->len = static_cast<uint32_t>(s.len);
    q->buf_index = 0, q->user_data = static_cast<uint64_t>(&e - ends_.data()) << 1 | kOpSend;
    e.sending = true, ++busy_;
  }
  void on_send(End& e, const io_uring_cqe& c) {
    e.sending = false, --busy_;
    if (c.flags & IORING_CQE_F_MORE) ++e.notifs, busy_ += e.client;  // a send_zc notification follows
    if (c.res <= 0) throw Failure{c.res < 0 ? -c.res : 0, send_name()};
    Seg& s = e.sendq.front();
    s.p += c.res, s.len -= c.res;
    if (s.len == 0 && s.bid >= 0) return_buf(s.bid);
    if (s.len == 0) e.sendq.pop_front();
    kick_send(e);
    maybe_recv(e);
  }
  // Variants 1-3: a client re-posts at once; a server only once its echo no longer uses the buffer.
  void maybe_recv(End& e) {
    if (v_ == kRecvMulti || e.recving || e.got >= m_) return;
    if (!e.client && (e.sending || !e.sendq.empty() || e.notifs > 0)) return;
    post_recv(e);
  }
  void post_recv(End& e) {
    io_uring_sqe* q = ring_.sqe();
    q->fd = e.fd, q->user_data = static_cast<uint64_t>(&e - ends_.data()) << 1 | kOpRecv;
    if (v_ == kRecvMulti) {
      q->opcode = IORING_OP_RECV, q->ioprio = IORING_RECV_MULTISHOT;
      q->flags = IOSQE_BUFFER_SELECT, q->buf_group = kBgid;
    } else {
      q->opcode = IORING_OP_READ_FIXED, q->addr = reinterpret_cast<uintptr_t>(e.buf);
      q->len = static_cast<uint32_t>(chunk_), q->buf_index = 0;
    }
    e.recving = true;
  }
  void on_recv(End& e, const io_uring_cqe& c) {
    e.recving = false;
    bool multi = v_ == kRecvMulti;
    if (multi && !(c.flags & IORING_CQE_F_MORE)) pending_.push_back(&e);  // re-arm later
    if (multi && c.res == -ENOBUFS && pool_free_ < pool_count_) return;  // re-armed when one returns
    if (c.res <= 0) throw Failure{c.res < 0 ? -c.res : 0, c.res < 0 ? (multi ? "recv" : "read_fixed") : "EOF"};
    size_t n = c.res;
    uint8_t* p = e.buf;
    int bid = -1;
    if (multi) {
      if (!(c.flags & IORING_CQE_F_BUFFER)) throw Failure{0, "recv without buffer"};
      bid = c.flags >> IORING_CQE_BUFFER_SHIFT, --pool_free_;
      p = g_region + kPatternArea + bid * chunk_;
    }
    if (e.client) {
      verify(e, p, n);
      if (bid >= 0) return_buf(bid);
      maybe_recv(e);
    } else {
      e.got += n;
      e.sendq.push_back(Seg{p, n, bid});
      kick_send(e);
    }
  }
  // Not pbuf_->bufs: in C++ the uapi __DECLARE_FLEX_ARRAY's empty struct has size 1, which moves
  // bufs[] to offset 8. The ring is an array of io_uring_buf whose slot 0 holds the tail.
  void return_buf(int bid) {
    io_uring_buf& b = reinterpret_cast<io_uring_buf*>(pbuf_)[pbuf_tail_ & pbuf_mask_];
    b.addr = reinterpret_cast<uintptr_t>(g_region + kPatternArea + bid * chunk_);
    b.len = static_cast<uint32_t>(chunk_), b.bid = static_cast<uint16_t>(bid);
    __atomic_store_n(&pbuf_->tail, ++pbuf_tail_, __ATOMIC_RELEASE);
    ++pool_free_;
  }

  // ---- plain variant: non-blocking read/write, both ends, one pass over the pairs at a time ----
  size_t sys_io(ssize_t r, const char* what) {
    ++syscalls_;
    if (r > 0) return static_cast<size_t>(r);
    if (r < 0 && errno == EAGAIN) return 0;
    throw Failure{r < 0 ? errno : 0, r < 0 ? what : "EOF"};
  }
  void plain_round() {
    while (clients_done_ < kPairs) {
      for (int p = 0; p < kPairs; ++p) {
        End &c = ends_[2 * p], &s = ends_[2 * p + 1];
        if (c.got == m_) continue;
        if (c.sent < m_) c.sent += sys_io(write(c.fd, g_region + p + c.sent, m_ - c.sent), "write");
        if (s.len == 0 && s.got < m_) {
          s.len = sys_io(read(s.fd, s.buf, chunk_), "read"), s.off = 0;
          s.got += s.len;
        }
        if (s.len > 0) {
          s.off += sys_io(write(s.fd, s.buf + s.off, s.len - s.off), "write");
          if (s.off == s.len) s.len = 0;
        }
        if (size_t n = sys_io(read(c.fd, c.buf, chunk_), "read")) verify(c, c.buf, n);
      }
    }
  }

  Variant v_;
  size_t m_, chunk_;
  std::vector<End> ends_;
  Ring ring_;
  int clients_done_ = 0, busy_ = 0;  // busy_: sends in flight + client send_zc notifications
  uint64_t syscalls_ = 0, zc_notifs_ = 0, zc_copied_ = 0;
  io_uring_buf_ring* pbuf_ = static_cast<io_uring_buf_ring*>(MAP_FAILED);
  size_t pbuf_len_ = 0;
  uint16_t pbuf_tail_ = 0;
  unsigned pbuf_mask_ = 0;
  int pool_free_ = 0, pool_count_ = 0;
  std::vector<End*> pending_;  // multishot receives to re-arm
};

std::string flag_names(unsigned f) {
  return std::string(f & IORING_SETUP_SINGLE_ISSUER ? "SINGLE_ISSUER|" : "") +
         (f & IORING_SETUP_DEFER_TASKRUN ? "DEFER_TASKRUN|" : "") + "CQSIZE";
}
std::string errno_text(const Failure& f) {
  if (f.err == 0) return "FAIL (" + f.what + ")";
  const char* name = strerrorname_np(f.err);
  return std::string(name ? name : "E?") + " " + std::to_string(f.err) + " (" + f.what + ")";
}

void run_case(Variant v, size_t m) {
  std::vector<Result> runs;
  std::string status = "ok";
  try {
    for (int i = 0; i < kReps; ++i) runs.push_back(Bench(v, m).run());
  } catch (const Failure& f) { status = errno_text(f); }
  auto rate = [](const Result& r) { return r.rounds * kPairs / r.secs; };
  std::sort(runs.begin(), runs.end(), [&](const Result& a, const Result& b) { return rate(a) < rate(b); });
  std::string sz = m >= 1024 ? std::to_string(m >> 10) + "KiB" : std::to_string(m) + "B";
  if (status != "ok" || runs.empty()) return (void)printf("%-40s %6s  %s\n", kNames[v], sz.c_str(), status.c_str());
  const Result& med = runs[runs.size() / 2];
  double rts = med.rounds * kPairs;
  std::string all;
  for (const Result& r : runs) all += (all.empty() ? "" : "/") + std::to_string((long)rate(r));
  if (med.zc_notifs) all += "  (zc notifs: " + std::to_string(med.zc_copied * 100 / med.zc_notifs) + "% copied)";
  printf("%-40s %6s  %-4s %10.0f %9.1f %8.3f  %s\n", kNames[v], sz.c_str(), status.c_str(), rts / med.secs,
         rts * 2 * m / med.secs / 1e6, med.syscalls / rts, all.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  int only_variant = argc > 1 ? atoi(argv[1]) : 0;  // optional: run one variant (1-5) ...
  size_t only_size = argc > 2 ? strtoul(argv[2], nullptr, 10) : 0;  // ... and one size (bytes)
  setvbuf(stdout, nullptr, _IOLBF, 0);  // line-buffered: partial output survives a kill
  utsname u{};
  uname(&u);
  printf("kernel: %s %s %s %s\n", u.sysname, u.release, u.version, u.machine);
  void* m = mmap(nullptr, kRegionSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return perror("mmap"), 1;
  g_region = static_cast<uint8_t*>(m);
  memset(g_region, 0, kRegionSize);
  {
    Ring probe;
    unsigned want = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    int r = probe.open(want, &g_setup_flags);
    if (r < 0) {
      printf("setup flags: SINGLE_ISSUER|DEFER_TASKRUN refused: %s\n", errno_text(Failure{-r, "setup"}).c_str());
      Ring plain;
      if ((r = plain.open(0, &g_setup_flags)) < 0) return printf("io_uring_setup failed: %d\n", -r), 1;
    }
    printf("setup flags accepted: %s (cq %u, sq %u)\n", flag_names(g_setup_flags).c_str(), kCqEntries, kSqEntries);
  }
  printf("%d TCP pairs over 127.0.0.1, 1 MiB registered region, median of %d runs of ~%.0f s each\n",
         kPairs, kReps, kCaseSeconds);
  printf("%-40s %6s  %-4s %10s %9s %8s  %s\n", "variant (recv/send)", "size", "stat", "rt/s", "MB/s", "sys/rt",
         "runs rt/s");
  for (int v = 0; v < kVariantCount; ++v)
    for (size_t size : {size_t{64}, size_t{4096}, size_t{65536}})
      if ((!only_variant || only_variant == v + 1) && (!only_size || only_size == size))
        run_case(static_cast<Variant>(v), size);
  return 0;
}
