# Fails unless the shared library's dynamic symbol table defines apn_* symbols and no
# other global ones (like DuckDB's scripts/exported_symbols_check.py).
#   cmake -DNM=nm -DLIBRARY=libapportion.so -P check_exports.cmake
cmake_minimum_required(VERSION 3.20)

execute_process(COMMAND ${NM} -D --defined-only ${LIBRARY}
                RESULT_VARIABLE rc OUTPUT_VARIABLE listing ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NM} -D --defined-only ${LIBRARY} failed (${rc}): ${err}")
endif()

string(REPLACE "\n" ";" lines "${listing}")
set(exported 0)
set(foreign)
foreach(line IN LISTS lines)
  # "<address> <type> <name>": upper-case types are global, lower-case local.
  if(NOT line MATCHES "^[0-9a-fA-F]* *([A-Za-z]) (.+)$")
    continue()
  endif()
  set(type ${CMAKE_MATCH_1})
  set(name ${CMAKE_MATCH_2})
  string(TOUPPER "${type}" upper)
  if(NOT type STREQUAL upper)
    continue()
  endif()
  if(name MATCHES "^apn_")
    math(EXPR exported "${exported} + 1")
  else()
    list(APPEND foreign "${type} ${name}")
  endif()
endforeach()

if(foreign)
  list(JOIN foreign "\n  " foreign_text)
  message(FATAL_ERROR "${LIBRARY} exports symbols outside the apn_ prefix:\n  ${foreign_text}")
endif()
if(exported EQUAL 0)
  message(FATAL_ERROR "${LIBRARY} exports no apn_ symbol at all")
endif()
message(STATUS "${LIBRARY}: ${exported} apn_ symbols, nothing else")
