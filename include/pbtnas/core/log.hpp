#pragma once
// One rank-tagged logger, passed by reference (no global state). Library code logs through it;
// only the CLI decides where it goes.
#include <iostream>
#include <mutex>
#include <string>

namespace pbtnas {

class Logger {
 public:
  explicit Logger(int rank, std::ostream& out = std::cout, std::ostream& err = std::cerr)
      : rank_(rank), out_(out), err_(err) {}
  // Progress lines: printed as they are (rank 0's table and summary).
  void info(const std::string& line);
  // Diagnostics from any rank: "[rank R] line" on the error stream.
  void warn(const std::string& line);
  // A transient line (live progress). With redraw on it replaces the previous status line in
  // place (carriage return, no newline) and the next info() line overwrites it; otherwise it is
  // an ordinary line.
  void status(const std::string& line);
  void set_redraw(bool on) { redraw_ = on; }
  bool redraw() const { return redraw_; }
  int rank() const { return rank_; }

 private:
  int rank_;
  std::ostream& out_;
  std::ostream& err_;
  std::mutex mu_;
  bool redraw_ = false;
  bool status_shown_ = false;  // a status line is on screen without its newline
};

}  // namespace pbtnas
