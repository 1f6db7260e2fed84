# What `cmake --install` puts in place: the three programs (linked with the static library, which
# they need for internals), the public headers, and the shared libvae.so with its CMake package
# (find_package(vae) -> vae::vae). The shared library is built from the same objects as the static
# one; its version script exports what include/vae/*.h declares and hides the rest.
file(GLOB VAE_PUBLIC_HEADERS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/include/vae/*.h)
set(VAE_VERSION_SCRIPT ${PROJECT_BINARY_DIR}/vae.map)
add_custom_command(OUTPUT ${VAE_VERSION_SCRIPT}
                   COMMAND ${CMAKE_COMMAND} -DDIR=${PROJECT_SOURCE_DIR}/include/vae -DOUT=${VAE_VERSION_SCRIPT}
                           -P ${CMAKE_CURRENT_LIST_DIR}/VaeVersionScript.cmake
                   DEPENDS ${VAE_PUBLIC_HEADERS} ${CMAKE_CURRENT_LIST_DIR}/VaeVersionScript.cmake
                   COMMENT "Version script of libvae.so from include/vae/*.h" VERBATIM)
add_library(vae_shared SHARED ${VAE_MODULE_OBJECTS} ${VAE_VERSION_SCRIPT})
set_target_properties(vae_shared PROPERTIES OUTPUT_NAME vae EXPORT_NAME vae
                      VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}
                      LINK_DEPENDS ${VAE_VERSION_SCRIPT})
target_include_directories(vae_shared INTERFACE $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                           $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(vae_shared PRIVATE vae_flags ${VAE_DEP_LIBRARIES})
target_link_options(vae_shared PRIVATE -Wl,--version-script=${VAE_VERSION_SCRIPT})
# A sanitized library needs its runtime loaded first, so the consumer's program links it too.
if(VAE_SANITIZE)
  target_link_options(vae_shared INTERFACE -fsanitize=address,undefined)
endif()

# Installed, they keep the run path of libraries found outside the system's folders (an MPI or
# HDF5 of a cluster's modules), so that they run without LD_LIBRARY_PATH.
set_target_properties(vae-prep vae-dist vae-infer vae_shared PROPERTIES INSTALL_RPATH_USE_LINK_PATH ON)
install(TARGETS vae-prep vae-dist vae-infer RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS vae_shared EXPORT vaeTargets LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/vae DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

include(CMakePackageConfigHelpers)
set(VAE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/vae)
install(EXPORT vaeTargets NAMESPACE vae:: DESTINATION ${VAE_CMAKE_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/vaeConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/vaeConfig.cmake INSTALL_DESTINATION ${VAE_CMAKE_DIR})
# 0.x: a minor release may change the API, so only the same major.minor is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/vaeConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/vaeConfig.cmake ${PROJECT_BINARY_DIR}/vaeConfigVersion.cmake
        DESTINATION ${VAE_CMAKE_DIR})
