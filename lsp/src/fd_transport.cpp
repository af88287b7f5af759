#include "lsp/fd_transport.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <system_error>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

namespace rwkv::lsp {
namespace {

constexpr std::size_t read_chunk = 64 * 1024;

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

}  // namespace

fd_transport::fd_transport(int in_fd, int out_fd, ownership owned, framing_limits limits)
    : in_fd_(in_fd), out_fd_(out_fd), owned_(owned), reader_(limits) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
    throw std::system_error(errno, std::generic_category(), "fd_transport: pipe2");
  wake_read_ = fds[0];
  wake_write_ = fds[1];
  writer_ = std::thread([this] { write_loop(); });
}

fd_transport::~fd_transport() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  queued_.notify_all();
  writer_.join();
  ::close(wake_read_);
  ::close(wake_write_);
  if (owned_ == ownership::own) {
    ::close(in_fd_);
    if (out_fd_ != in_fd_) ::close(out_fd_);
  }
}

transport_status fd_transport::run(transport_handler& handler) {
  std::string buffer(read_chunk, '\0');
  for (;;) {
    if (!deliver_messages(reader_, handler)) return transport_status::stopped;
    if (stop_requested_) return transport_status::stopped;

    pollfd fds[2] = {{in_fd_, POLLIN, 0}, {wake_read_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      handler.on_transport_error(errno_text("poll"));
      return transport_status::failed;
    }
    if (fds[1].revents != 0) {
      char sink[64];
      while (::read(wake_read_, sink, sizeof sink) > 0) {
      }
      if (stop_requested_) return transport_status::stopped;
    }
    if (fds[0].revents & POLLNVAL) {
      handler.on_transport_error("input descriptor is not open");
      return transport_status::failed;
    }
    if (fds[0].revents == 0) continue;

    ssize_t n = ::read(in_fd_, buffer.data(), buffer.size());
    if (n > 0) {
      reader_.feed(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    } else if (n == 0) {
      return reader_.mid_message() ? transport_status::truncated : transport_status::closed;
    } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
      handler.on_transport_error(errno_text("read"));
      return transport_status::failed;
    }
  }
}

void fd_transport::send(std::string body) {
  std::string frame = frame_message(body);
  {
    std::lock_guard lock(mutex_);
    if (broken_ || closing_) return;
    queue_.push_back(std::move(frame));
  }
  queued_.notify_one();
}

void fd_transport::stop() {
  stop_requested_ = true;
  char byte = 1;
  // A full wake pipe already holds a wake-up, so EAGAIN is fine to ignore.
  [[maybe_unused]] ssize_t ignored = ::write(wake_write_, &byte, 1);
}

void fd_transport::flush() {
  std::unique_lock lock(mutex_);
  drained_.wait(lock, [&] { return broken_ || (queue_.empty() && !writing_); });
}

bool fd_transport::write_all(const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(out_fd_, bytes.data() + done, bytes.size() - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // The descriptor was inherited in non-blocking mode; wait instead of spinning.
      pollfd fd{out_fd_, POLLOUT, 0};
      ::poll(&fd, 1, -1);
    } else {
      return false;
    }
  }
  return true;
}

void fd_transport::write_loop() {
  // SIGPIPE raised by write() is directed at the writing thread: blocked here, it stays pending
  // on this thread and is discarded when it exits, and write() reports EPIPE instead.
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);

  std::unique_lock lock(mutex_);
  for (;;) {
    queued_.wait(lock, [&] { return closing_ || !queue_.empty(); });
    if (queue_.empty()) break;  // closing and drained
    std::deque<std::string> batch;
    batch.swap(queue_);
    writing_ = true;
    lock.unlock();
    bool ok = true;
    for (const auto& frame : batch)
      if (!(ok = write_all(frame))) break;
    lock.lock();
    writing_ = false;
    if (!ok) {
      broken_ = true;
      queue_.clear();
    }
    if (queue_.empty()) drained_.notify_all();
  }
  drained_.notify_all();
}

std::unique_ptr<fd_transport> make_stdio_transport(framing_limits limits) {
  int in = ::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
  if (in < 0) throw std::system_error(errno, std::generic_category(), "duplicating stdin");
  int out = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  if (out < 0) {
    int err = errno;
    ::close(in);
    throw std::system_error(err, std::generic_category(), "duplicating stdout");
  }
  ::dup2(STDERR_FILENO, STDOUT_FILENO);
  return std::make_unique<fd_transport>(in, out, fd_transport::ownership::own, limits);
}

}  // namespace rwkv::lsp
