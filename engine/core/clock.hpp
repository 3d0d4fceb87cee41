#pragma once
// All engine logic reads time from a Clock. The daemon uses the real one; tests and `simulate` use a virtual clock
// that only moves when told, so a 30-day drip runs in milliseconds.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace nurture::engine {

using TimePoint = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class RealClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};

class VirtualClock final : public Clock {
 public:
  explicit VirtualClock(TimePoint start) : now_ms_(to_ms(start)) {}
  TimePoint now() const override { return TimePoint(std::chrono::milliseconds(now_ms_.load())); }
  void set(TimePoint time) { now_ms_ = to_ms(time); }
  void advance(std::chrono::milliseconds by) { now_ms_ += by.count(); }

 private:
  static std::int64_t to_ms(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  }
  std::atomic<std::int64_t> now_ms_;
};

inline std::int64_t to_unix_ms(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
inline TimePoint from_unix_ms(std::int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

}  // namespace nurture::engine
