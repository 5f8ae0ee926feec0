#include "net/log_queue.h"

namespace paystream::net::log {

bool LogQueue::push(std::string line) {
  bool was_empty = false;
  {
    std::lock_guard lock(mutex_);
    if (line.size() > capacity_ - held_bytes_) {
      ++dropped_;
      return false;
    }
    held_bytes_ += line.size();
    ++pushed_;
    was_empty = lines_.empty();
    lines_.push_back(std::move(line));
  }
  if (was_empty) queued_cv_.notify_one();
  return true;
}

void LogQueue::take(std::vector<std::string>& out, std::chrono::milliseconds timeout) {
  out.clear();
  std::unique_lock lock(mutex_);
  queued_cv_.wait_for(lock, timeout, [this] { return !lines_.empty(); });
  taken_ = lines_.size();
  for (std::string& line : lines_) {
    taken_bytes_ += line.size();
    out.push_back(std::move(line));
  }
  lines_.clear();
}

void LogQueue::written(size_t lost) {
  {
    std::lock_guard lock(mutex_);
    held_bytes_ -= taken_bytes_;
    taken_bytes_ = 0;
    done_ += taken_;
    taken_ = 0;
    dropped_ += lost;
  }
  written_cv_.notify_all();
}

bool LogQueue::wait_drained(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  const uint64_t target = pushed_;
  return written_cv_.wait_for(lock, timeout, [this, target] { return done_ >= target; });
}

uint64_t LogQueue::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

size_t LogQueue::held_bytes() const {
  std::lock_guard lock(mutex_);
  return held_bytes_;
}

}  // namespace paystream::net::log
