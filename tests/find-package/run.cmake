# Installs the built project into a fresh prefix, then builds and runs the consumer in this
# folder against it twice: through find_package(apportion) and through pkg-config.
#   cmake -DBUILD_DIR=... -DCONSUMER_DIR=... -DWORK_DIR=... -DCONFIG=... -DLIBDIR=...
#         -DCXX_COMPILER=... -DCXX_FLAGS=... -DLINKER_FLAGS=... -P run.cmake
# The compiler and its flags are the project's own, so that a sanitizer build links.
cmake_minimum_required(VERSION 3.20)

set(prefix ${WORK_DIR}/prefix)
set(expected "33.34 33.33 33.33")
file(REMOVE_RECURSE ${WORK_DIR})

function(step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
endfunction()

function(expect_output what program)
  step("${what}" ${program})
  if(NOT out MATCHES "^${expected} ")
    message(FATAL_ERROR "${what} printed \"${out}\", expected \"${expected} ...\"")
  endif()
  message(STATUS "${what}: ${out}")
endfunction()

set(config_args)
if(CONFIG)
  set(config_args --config ${CONFIG})
endif()
step("install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} ${config_args})

# find_package(apportion CONFIG REQUIRED) and apportion::apportion.
set(build ${WORK_DIR}/build)
step("configure the consumer" ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${build} -DCMAKE_PREFIX_PATH=${prefix}
     -DCMAKE_CXX_COMPILER=${CXX_COMPILER} "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
     "-DCMAKE_EXE_LINKER_FLAGS=${LINKER_FLAGS}" -DCMAKE_BUILD_TYPE=${CONFIG})
step("build the consumer" ${CMAKE_COMMAND} --build ${build} ${config_args})
set(consumer ${build}/consumer)
if(NOT EXISTS ${consumer})
  set(consumer ${build}/${CONFIG}/consumer)
endif()
expect_output("find_package consumer" ${consumer})

# pkg-config --cflags --libs apportion, from the installed apportion.pc.
find_program(PKG_CONFIG pkg-config REQUIRED)
step("pkg-config" ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${prefix}/${LIBDIR}/pkgconfig
     ${PKG_CONFIG} --cflags --libs apportion)
string(STRIP "${out}" flags)
message(STATUS "pkg-config --cflags --libs apportion: ${flags}")
if(NOT flags MATCHES "-lapportion-cpp")
  message(FATAL_ERROR "pkg-config does not link libapportion-cpp: ${flags}")
endif()
separate_arguments(flags UNIX_COMMAND "${flags}")
separate_arguments(extra_flags UNIX_COMMAND "${CXX_FLAGS} ${LINKER_FLAGS}")
step("compile with pkg-config flags" ${CXX_COMPILER} -std=c++20 ${extra_flags} ${CONSUMER_DIR}/main.cpp ${flags}
     -o ${WORK_DIR}/consumer-pkg-config)
expect_output("pkg-config consumer" ${WORK_DIR}/consumer-pkg-config)
