#include "bench_support.h"

#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>

namespace sened::bench {

std::string letter_metadata(const std::string& ref, const std::string& subject, bool with_cc) {
  boost::json::object recipients{{"to", boost::json::array{"az.finance"}}};
  if (with_cc) recipients["cc"] = boost::json::array{"az.baku-executive"};
  boost::json::object m{{"sender_ref", ref},
                        {"kind", "letter"},
                        {"subject", subject},
                        {"recipients", std::move(recipients)}};
  return boost::json::serialize(m);
}

long peak_rss_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  return sorted[static_cast<size_t>(p * static_cast<double>(sorted.size() - 1))];
}

}  // namespace sened::bench
