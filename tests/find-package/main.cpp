// Splits 100.00 USD three ways with the installed library and prints the parts.
#include <apportion/apportion.hpp>

#include <iostream>
#include <vector>

int main() {
  const apportion::Money pool = apportion::Money::parse("100.00", "USD");
  const std::vector<apportion::Decimal> weights = {apportion::Decimal(1), apportion::Decimal(1),
                                                   apportion::Decimal(1)};
  const char* separator = "";
  for (const apportion::Money& part : pool.allocate(weights)) {
    std::cout << separator << part.to_fixed();
    separator = " ";
  }
  std::cout << " (apportion " << APPORTION_VERSION_STRING << ")\n";
}
