#pragma once
// Chargeback statements: what each group pays in all, across every pool, step and
// drill-down (docs/spec.md, "Statements"). A statement reads a result, the lines of the step
// chosen for each pool, and knows no strategy: the engine's lines are its leaves.

#include <vector>

#include "apportion/engine.hpp"

APPORTION_BEGIN_NAMESPACE

// The statements of allocation.statements over `result`, the run of that allocation (its
// lines and pool costs). SpecError, its path in `statements[i]`, for a statement that cannot
// be read as written: an unknown step in `steps`, two steps of one pool, a step that splits
// no pool, a `from` pool drawn from a step the statement does not read, a line drawn into
// two pools. A total that differs from the bill is a broken invariant: std::logic_error.
std::vector<Statement> build_statements(const Allocation& allocation, const Result& result);

APPORTION_END_NAMESPACE
