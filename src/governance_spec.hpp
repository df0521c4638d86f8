#pragma once
// The governance sections of a spec (budgets, anomalies, reconcile, scorecards,
// unit_economics): read from the spec document, written into the result document.
// Private to the spec runner.

#include <memory>

#include <nlohmann/json.hpp>

#include "apportion/governance.hpp"
#include "apportion/value.hpp"

APPORTION_BEGIN_NAMESPACE

// Reads the sections present in `spec`; null when it has none.
std::shared_ptr<const Governance> read_governance(ObjectReader& spec);
// Adds the report's sections to a result document.
void write_governance(const GovernanceReport& report, const Decimal& precision, nlohmann::ordered_json& doc);

// A tag set as a JSON object (spec.cpp).
nlohmann::ordered_json tags_json(const Tags& tags);

APPORTION_END_NAMESPACE
