// Action files: the small JSON an EDMS drops in DIR/actions/ (or POSTs to
// the local API) to change a document's status at the hub, e.g.
// {"document":"…","action":"register","number":"07-118/k","date":"2026-12-03"}.
// Actions: register{number,date?}, reject{reason}, assign{executor},
// execute{reply?}, recall{recipient?}. Pure functions; thread-safe.
#pragma once

#include <string>

#include "core/status.h"

namespace sened::gateway {

// The hub call an action stands for.
struct ActionCall {
  std::string document;  // lowercase id
  std::string target;    // "/v1/documents/{id}/status" or ".../recall"
  std::string body;      // JSON
};

// kInvalidArgument with the reason for text that is not UTF-8, not a JSON
// object, has no document id, names an unknown action or lacks a field the
// action needs. The hub checks the values themselves.
Result<ActionCall> parse_action(const std::string& text);

}  // namespace sened::gateway
