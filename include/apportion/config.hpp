#pragma once
// Version and namespace macros shared by every apportion header.

#define APPORTION_VERSION_MAJOR 0
#define APPORTION_VERSION_MINOR 1
#define APPORTION_VERSION_PATCH 0
// One number that compares in release order: major * 10000 + minor * 100 + patch.
#define APPORTION_VERSION \
  (APPORTION_VERSION_MAJOR * 10000 + APPORTION_VERSION_MINOR * 100 + APPORTION_VERSION_PATCH)
#define APPORTION_VERSION_STRING "0.1.0"

// The inline ABI namespace lets a future incompatible v2 live beside v1 in one program.
#define APPORTION_BEGIN_NAMESPACE \
  namespace apportion {           \
  inline namespace v1 {
#define APPORTION_END_NAMESPACE \
  }                             \
  }
