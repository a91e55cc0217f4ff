// What the hub benchmarks share: the document they post, and the figures
// they read from /proc and from sorted samples.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace sened::bench {

// The metadata of a benchmark letter from az.mddt with `sender_ref` `ref`,
// to az.finance and, when `with_cc`, copied to az.baku-executive.
std::string letter_metadata(const std::string& ref, const std::string& subject, bool with_cc);

// Peak resident memory of a process, from /proc (kB; -1 if unknown).
long peak_rss_kb(pid_t pid);

// The value at fraction `p` (0..1) of `sorted` samples; 0 when there are none.
double percentile(const std::vector<double>& sorted, double p);

}  // namespace sened::bench
