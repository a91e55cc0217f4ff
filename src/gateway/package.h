// Reading an outbox package that the EDMS dropped: a folder with
// `envelope.json` (the metadata of POST /v1/documents, whose `files` list
// names the files in order) and `files/` holding exactly those files, plus
// an optional detached signature "NAME.p7s" beside a listed file NAME.
//
// Everything in a package is untrusted. read_package() refuses, with
// kInvalidArgument and a reason a person can act on: an envelope that is not
// UTF-8 JSON or not valid metadata; a file name that could leave the package
// (separators, "..", absolute paths); symbolic links anywhere; a `files/`
// whose contents do not match the list (missing or extra files). Pure
// function of the folder's contents; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace sened::gateway {

// Largest envelope.json read; real ones are a few kilobytes.
inline constexpr size_t kMaxEnvelopeBytes = 1024 * 1024;

struct Package {
  std::string name;        // the package folder's name
  std::string sender_ref;  // from the envelope, else derived from the name
  // The metadata to send: the envelope with sender_ref filled in.
  std::string metadata_json;
  // Names under files/: the listed files, then each NAME.p7s signature,
  // which is sent as the `signature` part right after NAME's file part.
  std::vector<std::string> files;
};

// The sender_ref for a package whose envelope has none: "gw-" and the
// folder name when that is short, plain ASCII; else "gw-" and a digest of
// the name. Stable, so that every retry of a package names the same
// document.
std::string derived_sender_ref(const std::string& package_name);

// Reads and checks the package folder `folder` (whose last component is the
// package name).
Result<Package> read_package(const std::string& folder);

}  // namespace sened::gateway
