// Download progress for people: on a terminal, one line redrawn in place with a bar, the rate and
// the time left; elsewhere (a log, CI), a plain line now and then so the log stays short.
//
// Not thread-safe; fed from the downloading thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <ostream>
#include <string>

namespace rwkv::fetch {

// True when stderr is a terminal (isatty), i.e. when redrawing a line in place makes sense.
bool stderr_is_terminal() noexcept;

class progress_bar {
 public:
  progress_bar(std::ostream& out, bool interactive, std::string label);

  // Bytes present so far out of total (0 = unknown). The first call sets the starting point, so
  // bytes resumed from an earlier run do not count towards the rate.
  void update(std::uint64_t done, std::uint64_t total);
  // Prints a line of text without garbling the bar (on a terminal the bar is redrawn below it).
  void note(const std::string& text);
  // Ends the display with a summary line.
  void finish(std::uint64_t done);

  // "1.5 GB", "902.0 MB", "12 kB", "512 B"
  static std::string format_bytes(double bytes);
  // "0:42", "1:05:00", "?" for unknown
  static std::string format_duration(double seconds);

 private:
  using clock = std::chrono::steady_clock;
  double rate() const;  // bytes per second over the last few seconds
  void draw(std::uint64_t done, std::uint64_t total);

  std::ostream& out_;
  bool interactive_;
  std::string label_;
  bool started_ = false;
  std::uint64_t first_ = 0;
  clock::time_point start_time_;
  clock::time_point last_draw_;
  int last_decile_ = -1;
  std::deque<std::pair<clock::time_point, std::uint64_t>> samples_;
};

}  // namespace rwkv::fetch
