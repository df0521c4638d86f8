# Install rules, like fmt's: headers, the library, a CMake package (apportion::apportion
# through find_package(apportion)) and a pkg-config file. Included from the top-level
# CMakeLists.txt when APPORTION_INSTALL is on.
#
# Targets installed and exported are those in the global property APPORTION_INSTALL_TARGETS;
# the C++ library is always one, and a later target (the C ABI library) joins with
#   set_property(GLOBAL APPEND PROPERTY APPORTION_INSTALL_TARGETS <target>)
# before this file is included. A target's PUBLIC_HEADER files (the C header) go to the
# include directory, next to the apportion/ folder of C++ headers.

include(CMakePackageConfigHelpers)

set(APPORTION_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/apportion CACHE STRING
    "Where to install apportion-config.cmake, relative to the prefix")
set(APPORTION_PKGCONFIG_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig CACHE STRING
    "Where to install apportion.pc, relative to the prefix")

set_property(GLOBAL APPEND PROPERTY APPORTION_INSTALL_TARGETS apportion)
get_property(_apportion_install_targets GLOBAL PROPERTY APPORTION_INSTALL_TARGETS)
list(REMOVE_DUPLICATES _apportion_install_targets)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/apportion
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h")

install(TARGETS ${_apportion_install_targets}
        EXPORT apportion-targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        PUBLIC_HEADER DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(EXPORT apportion-targets
        NAMESPACE apportion::
        FILE apportion-targets.cmake
        DESTINATION ${APPORTION_CMAKE_DIR})

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/apportion-config.cmake.in
                              ${PROJECT_BINARY_DIR}/apportion-config.cmake
                              INSTALL_DESTINATION ${APPORTION_CMAKE_DIR})
# Compatibility by major version, as fmt declares it.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/apportion-config-version.cmake
                                 VERSION ${PROJECT_VERSION}
                                 COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/apportion-config.cmake ${PROJECT_BINARY_DIR}/apportion-config-version.cmake
        DESTINATION ${APPORTION_CMAKE_DIR})

# The .pc file finds its prefix from its own location (${pcfiledir}), so an installed tree
# can move, and `cmake --install --prefix` elsewhere gives a working file.
if(IS_ABSOLUTE "${APPORTION_PKGCONFIG_DIR}")
  set(APPORTION_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _apportion_pc_up "/prefix/${APPORTION_PKGCONFIG_DIR}" "/prefix")
  set(APPORTION_PC_PREFIX "\${pcfiledir}/${_apportion_pc_up}")
  string(REGEX REPLACE "/$" "" APPORTION_PC_PREFIX "${APPORTION_PC_PREFIX}")
endif()
foreach(_dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_dir}}")
    set(APPORTION_PC_${_dir} "${CMAKE_INSTALL_${_dir}}")
  else()
    set(APPORTION_PC_${_dir} "\${prefix}/${CMAKE_INSTALL_${_dir}}")
  endif()
endforeach()
get_target_property(APPORTION_PC_LIBNAME apportion OUTPUT_NAME)
# A static library links libcurl into its user: pkg-config names it.
set(APPORTION_PC_REQUIRES_PRIVATE "")
if(APPORTION_HTTP)
  set(APPORTION_PC_REQUIRES_PRIVATE "Requires.private: libcurl")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/apportion.pc.in ${PROJECT_BINARY_DIR}/apportion.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/apportion.pc DESTINATION ${APPORTION_PKGCONFIG_DIR})
