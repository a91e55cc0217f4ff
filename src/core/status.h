// Error values for Sened.
//
// Expected failures travel as values: a `Status` (a canonical code and a
// message) or a `Result<T>` (a value or a non-ok Status). Codes map one to one
// onto the API's error codes and HTTP statuses, so a failure deep in the store
// reaches the client with the same meaning. Thread-compatible value types.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace sened {

enum class Code {
  kOk,
  kInvalidArgument,       // the caller sent something malformed (400)
  kPermissionDenied,      // authenticated, but not allowed (403)
  kNotFound,              // no such thing, or not visible to the caller (404)
  kConflict,              // clashes with the current state (409)
  kPayloadTooLarge,       // over a configured limit (413)
  kUnsupportedMediaType,  // wrong Content-Type (415)
  kPolicyRefused,         // well-formed, but a configured policy refuses it (422)
  kUnavailable,           // try again later (503)
  kInternal,              // a bug or a broken invariant (500)
};

// The API's name for a code, e.g. "invalid_argument".
std::string_view code_name(Code code);
// The HTTP status that carries a code.
int http_status(Code code);
// The code whose API name is `name` (the inverse of code_name), for reading
// an error answer; nullopt for a name this build does not know.
std::optional<Code> code_from_name(std::string_view name);

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is prefixed with `context` ("context: message").
  Status with_context(std::string_view context) const;
  std::string to_string() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status invalid_argument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status permission_denied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
inline Status not_found(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status conflict(std::string m) { return {Code::kConflict, std::move(m)}; }
inline Status payload_too_large(std::string m) { return {Code::kPayloadTooLarge, std::move(m)}; }
inline Status unsupported_media_type(std::string m) {
  return {Code::kUnsupportedMediaType, std::move(m)};
}
inline Status policy_refused(std::string m) { return {Code::kPolicyRefused, std::move(m)}; }
inline Status unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
inline Status internal_error(std::string m) { return {Code::kInternal, std::move(m)}; }

// A value of type T or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace sened

// Returns early from the enclosing function with the status if it is not ok.
#define SENED_RETURN_IF_ERROR(expr)        \
  do {                                     \
    ::sened::Status sened_st_ = (expr);    \
    if (!sened_st_.ok()) return sened_st_; \
  } while (0)
