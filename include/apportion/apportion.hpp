#pragma once
// Umbrella header: everything the library offers from C++.

#include "apportion/allocate.hpp"
#include "apportion/catalog.hpp"
#include "apportion/config.hpp"
#include "apportion/decimal.hpp"
#include "apportion/errors.hpp"
#include "apportion/money.hpp"
#include "apportion/engine.hpp"
#include "apportion/json.hpp"
#include "apportion/quantity.hpp"
#include "apportion/render.hpp"
#include "apportion/spec.hpp"
#include "apportion/strategies.hpp"
#include "apportion/strategy.hpp"
#include "apportion/tags.hpp"
#include "apportion/time.hpp"
#include "apportion/value.hpp"
