// JSON forms of the domain types, as the API serves them and the CLI reads
// them. One place, so that the hub, the CLI and `envelope.json` agree.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <vector>

#include "core/domain.h"

namespace sened {

boost::json::object to_json(const Participant& p);
boost::json::object to_json(const Certificate& c);  // without the PEM
boost::json::object to_json(const FileInfo& f);
boost::json::object to_json(const Delivery& d);
boost::json::object to_json(const JournalEntry& e);
// The document with the metadata as sent plus what the hub added (id,
// sender, times, file sizes and digests).
boost::json::object to_json(const Document& d);
// The document with its per-recipient deliveries under "deliveries".
boost::json::object to_json(const Document& d, const std::vector<Delivery>& deliveries);
// The metadata in the form POST /v1/documents takes.
boost::json::object metadata_to_json(const DocumentMeta& m);

}  // namespace sened
