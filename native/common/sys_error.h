// Turning a failed system call into the message kdp shows: "what: ENAME (description)", so a person
// reading a log sees which call failed, the errno name they can search for, and its meaning.
#pragma once
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace kdp {

inline std::string errnoMessage(const std::string& what, int err) {
  const char* name = strerrorname_np(err);
  std::string out = what + ": " + (name ? name : ("errno " + std::to_string(err)));
  out += " (";
  out += strerror(err);
  out += ")";
  return out;
}

// Thrown by the system-facing code; napi_args.h turns it into a JS Error with the same message and
// an `errno` name, so TypeScript can branch on the code without parsing text.
class SysError : public std::runtime_error {
 public:
  SysError(const std::string& what, int err) : std::runtime_error(errnoMessage(what, err)), err_(err) {}
  int err() const { return err_; }

 private:
  int err_;
};

}  // namespace kdp
