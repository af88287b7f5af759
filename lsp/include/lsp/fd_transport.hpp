// A transport over a pair of POSIX file descriptors: stdio for editors, (in_fd, out_fd) for the
// plugin's C ABI, or one socket descriptor used for both directions.
//
// Reading: run() reads in_fd on the calling thread with blocking reads (poll() first, together
// with a self-pipe so that stop() can interrupt it from any thread). Reading stdin on a
// dedicated blocking thread is the portable way; Asio cannot wait on a pipe everywhere.
// Writing: a writer thread owned by the transport writes the queued frames in order, so a worker
// thread that answers a request never blocks on a client that is slow to read. That thread
// blocks SIGPIPE for itself, so a vanished client gives EPIPE (then every later send is dropped)
// instead of killing an editor that hosts the plugin; no process-wide signal state is touched.
//
// Limit: if the client stops reading but keeps its end open, flush() and the destructor wait
// for it (as any writer on a full pipe does).
#pragma once

#include "lsp/transport.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace rwkv::lsp {

class fd_transport final : public transport {
 public:
  enum class ownership { borrow, own };  // `own`: the destructor closes in_fd and out_fd

  // in_fd and out_fd may be equal (a socket). Throws std::system_error if the self-pipe cannot be made.
  fd_transport(int in_fd, int out_fd, ownership owned = ownership::borrow, framing_limits limits = {});
  // Writes what is queued (see the limit above), joins the writer, closes owned descriptors.
  ~fd_transport() override;
  fd_transport(const fd_transport&) = delete;
  fd_transport& operator=(const fd_transport&) = delete;

  transport_status run(transport_handler& handler) override;
  void send(std::string body) override;
  void stop() override;
  void flush() override;

 private:
  void write_loop();
  bool write_all(const std::string& bytes);

  int in_fd_;
  int out_fd_;
  ownership owned_;
  int wake_read_ = -1;
  int wake_write_ = -1;
  std::atomic<bool> stop_requested_{false};
  message_reader reader_;

  std::mutex mutex_;
  std::condition_variable queued_;   // writer waits for work
  std::condition_variable drained_;  // flush() waits for the writer
  std::deque<std::string> queue_;
  bool writing_ = false;
  bool closing_ = false;
  bool broken_ = false;
  std::thread writer_;
};

// Serves on the process's stdin/stdout. Works on duplicates of fds 0 and 1 and then points fd 1
// at stderr, so that stray output from any library (a printf in a model loader) cannot corrupt
// the message stream.
std::unique_ptr<fd_transport> make_stdio_transport(framing_limits limits = {});

}  // namespace rwkv::lsp
