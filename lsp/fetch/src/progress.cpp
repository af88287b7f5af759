#include "fetch/progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace rwkv::fetch {

namespace {

constexpr auto redraw_interval = std::chrono::milliseconds(100);
constexpr auto plain_interval = std::chrono::seconds(30);  // without a known total
constexpr auto rate_window = std::chrono::seconds(5);
constexpr int bar_width = 24;

}  // namespace

bool stderr_is_terminal() noexcept { return ::isatty(STDERR_FILENO) == 1; }

progress_bar::progress_bar(std::ostream& out, bool interactive, std::string label)
    : out_(out), interactive_(interactive), label_(std::move(label)) {}

std::string progress_bar::format_bytes(double bytes) {
  char buf[32];
  if (bytes >= 1e9)
    std::snprintf(buf, sizeof buf, "%.2f GB", bytes / 1e9);
  else if (bytes >= 1e6)
    std::snprintf(buf, sizeof buf, "%.1f MB", bytes / 1e6);
  else if (bytes >= 1e3)
    std::snprintf(buf, sizeof buf, "%.0f kB", bytes / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f B", bytes);
  return buf;
}

std::string progress_bar::format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 99 * 3600.0) return "?";
  long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

double progress_bar::rate() const {
  if (samples_.size() < 2) return 0;
  double dt = std::chrono::duration<double>(samples_.back().first - samples_.front().first).count();
  if (dt <= 0) return 0;
  return static_cast<double>(samples_.back().second - samples_.front().second) / dt;
}

void progress_bar::update(std::uint64_t done, std::uint64_t total) {
  auto now = clock::now();
  if (!started_) {
    started_ = true;
    first_ = done;
    start_time_ = now;
    last_draw_ = now - redraw_interval;
  }
  if (!samples_.empty() && done < samples_.back().second) {  // the download started over
    samples_.clear();
    first_ = done;
    start_time_ = now;
  }
  samples_.emplace_back(now, done);
  while (samples_.size() > 2 && now - samples_.front().first > rate_window) samples_.pop_front();

  if (interactive_) {
    if (now - last_draw_ < redraw_interval) return;
    last_draw_ = now;
    draw(done, total);
    return;
  }
  // Plain output: a line per tenth of the file, or every half minute when the size is unknown.
  if (total > 0) {
    int decile = static_cast<int>(10 * static_cast<double>(done) / static_cast<double>(total));
    if (last_decile_ < 0) last_decile_ = decile;  // the starting point is not progress
    if (decile <= last_decile_ || decile >= 10) return;
    last_decile_ = decile;
  } else if (now - last_draw_ < plain_interval) {
    return;
  }
  last_draw_ = now;
  draw(done, total);
}

void progress_bar::draw(std::uint64_t done, std::uint64_t total) {
  double r = rate();
  std::string line = label_ + "  ";
  if (total > 0) {
    double frac = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
    char pct[16];
    std::snprintf(pct, sizeof pct, "%3d%%", static_cast<int>(frac * 100));
    line += pct;
    if (interactive_) {
      int filled = static_cast<int>(frac * bar_width);
      line.append(" [").append(static_cast<std::size_t>(filled), '=');
      if (filled < bar_width) line.append(1, '>').append(static_cast<std::size_t>(bar_width - filled - 1), ' ');
      line.append(1, ']');
    }
    line.append(1, ' ').append(format_bytes(static_cast<double>(done))).append(" / ");
    line.append(format_bytes(static_cast<double>(total)));
  } else {
    line.append(format_bytes(static_cast<double>(done)));
  }
  line.append("  ").append(r > 0 ? format_bytes(r) + "/s" : std::string("-- B/s"));
  if (total > 0)
    line.append("  ETA ").append(r > 0 ? format_duration(static_cast<double>(total - std::min(done, total)) / r) : "?");
  if (interactive_)
    out_ << "\r" << line << "\x1b[K" << std::flush;  // \x1b[K: clear the rest of the line
  else
    out_ << line << '\n' << std::flush;
}

void progress_bar::note(const std::string& text) {
  if (interactive_) {
    out_ << "\r\x1b[K" << text << '\n' << std::flush;
    last_draw_ = clock::now() - redraw_interval;  // the next update redraws the bar
  } else {
    out_ << text << '\n' << std::flush;
  }
}

void progress_bar::finish(std::uint64_t done) {
  if (!started_) {
    started_ = true;
    first_ = done;
    start_time_ = clock::now();
  }
  double secs = std::chrono::duration<double>(clock::now() - start_time_).count();
  std::uint64_t fetched = done - std::min(done, first_);
  std::string line = label_ + "  " + format_bytes(static_cast<double>(done));
  if (fetched != done) line += " (" + format_bytes(static_cast<double>(fetched)) + " this time)";
  line += " in " + format_duration(secs);
  if (secs > 0 && fetched > 0) line += ", " + format_bytes(static_cast<double>(fetched) / secs) + "/s";
  if (interactive_)
    out_ << "\r" << line << "\x1b[K\n" << std::flush;
  else
    out_ << line << '\n' << std::flush;
}

}  // namespace rwkv::fetch
