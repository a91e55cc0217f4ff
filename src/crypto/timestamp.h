// RFC 3161 time stamps: requests to a time-stamping authority (TSA) and
// checks of its answers, with OpenSSL's TS API.
//
// The hub time-stamps the bytes of each signed checkpoint note: the request
// carries the SHA-256 of those bytes (the message imprint), asks for the
// TSA's certificate in the answer (certReq) and a random nonce. The token
// kept is the DER TimeStampToken (a CMS SignedData) from the answer; anyone
// can check it later against the note bytes and the TSA's CA certificate,
// also with `openssl ts -verify -data NOTE -in TOKEN -token_in -CAfile CA`.
//
// Pure functions over their arguments (the CA file is read on each call);
// thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sened::crypto {

// Media types of RFC 3161 over HTTP.
inline constexpr std::string_view kTimestampQueryType = "application/timestamp-query";
inline constexpr std::string_view kTimestampReplyType = "application/timestamp-reply";

struct TimestampRequest {
  std::string der;     // the TimeStampReq to POST
  std::string digest;  // SHA-256 of the message, 32 bytes
  std::string nonce;   // the nonce as big-endian bytes
};

// A request for `message` (SHA-256 imprint, certReq true, a random 64-bit
// nonce). kInternal if OpenSSL fails.
Result<TimestampRequest> make_timestamp_request(std::string_view message);

// What a checked token says.
struct TimestampToken {
  std::string der;       // the TimeStampToken, DER
  int64_t gen_time = 0;  // genTime, seconds since the epoch
  std::string serial;    // serial number, lowercase hex
};

// Checks the TSA's answer to `request`: status granted, a signature by a
// certificate with the timeStamping purpose that chains to a CA in
// `ca_file` (PEM), and the request's imprint and nonce. Returns the token.
// kInvalidArgument if the answer does not parse or is not for this request;
// kUnavailable if the TSA refused (status other than granted);
// kPermissionDenied if the signature or its chain does not verify.
Result<TimestampToken> accept_timestamp_reply(std::string_view reply_der,
                                              const TimestampRequest& request,
                                              const std::string& ca_file);

// Checks a stored token against `message` and the CA in `ca_file`.
// kInvalidArgument if the token does not parse or its imprint is not a
// SHA-256 of `message`; kPermissionDenied if the signature or chain fails.
Result<TimestampToken> verify_timestamp_token(std::string_view token_der, std::string_view message,
                                              const std::string& ca_file);

}  // namespace sened::crypto
