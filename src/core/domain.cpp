#include "core/domain.h"

#include <array>
#include <utility>

namespace sened {
namespace {

constexpr std::array<std::pair<ParticipantStatus, std::string_view>, 5> kParticipantStatuses{{
    {ParticipantStatus::kEnrolled, "enrolled"},
    {ParticipantStatus::kTesting, "testing"},
    {ParticipantStatus::kActive, "active"},
    {ParticipantStatus::kSuspended, "suspended"},
    {ParticipantStatus::kRetired, "retired"},
}};

constexpr std::array<std::pair<DeliveryStatus, std::string_view>, 8> kDeliveryStatuses{{
    {DeliveryStatus::kQueued, "queued"},
    {DeliveryStatus::kDelivered, "delivered"},
    {DeliveryStatus::kRegistered, "registered"},
    {DeliveryStatus::kRejected, "rejected"},
    {DeliveryStatus::kAssigned, "assigned"},
    {DeliveryStatus::kExecuted, "executed"},
    {DeliveryStatus::kRecalled, "recalled"},
    {DeliveryStatus::kExpired, "expired"},
}};

template <typename E, size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& table, E e) {
  for (const auto& [value, name] : table) {
    if (value == e) return name;
  }
  return "unknown";
}

template <typename E, size_t N>
std::optional<E> value_of(const std::array<std::pair<E, std::string_view>, N>& table,
                          std::string_view s) {
  for (const auto& [value, name] : table) {
    if (name == s) return value;
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(ParticipantStatus s) { return name_of(kParticipantStatuses, s); }
std::optional<ParticipantStatus> parse_participant_status(std::string_view s) {
  return value_of(kParticipantStatuses, s);
}
std::string_view to_string(DeliveryStatus s) { return name_of(kDeliveryStatuses, s); }
std::optional<DeliveryStatus> parse_delivery_status(std::string_view s) {
  return value_of(kDeliveryStatuses, s);
}

}  // namespace sened
