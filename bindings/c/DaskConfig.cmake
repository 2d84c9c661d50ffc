# CMake package for libdask: find_package(Dask) then link Dask::dask (shared) or
# Dask::dask_static. Relocatable: paths are found from this file's installed location
# (<prefix>/lib/cmake/Dask).
get_filename_component(_dask_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

if(NOT TARGET Dask::dask)
  add_library(Dask::dask SHARED IMPORTED)
  set_target_properties(Dask::dask PROPERTIES
    IMPORTED_LOCATION "${_dask_prefix}/lib/libdask.so"
    IMPORTED_SONAME "libdask.so.0"
    INTERFACE_INCLUDE_DIRECTORIES "${_dask_prefix}/include")
endif()

if(NOT TARGET Dask::dask_static AND EXISTS "${_dask_prefix}/lib/libdask.a")
  add_library(Dask::dask_static STATIC IMPORTED)
  set_target_properties(Dask::dask_static PROPERTIES
    IMPORTED_LOCATION "${_dask_prefix}/lib/libdask.a"
    INTERFACE_INCLUDE_DIRECTORIES "${_dask_prefix}/include"
    INTERFACE_LINK_LIBRARIES "gcc_s;util;rt;pthread;m;dl")
endif()

set(Dask_INCLUDE_DIRS "${_dask_prefix}/include")
set(Dask_LIBRARIES Dask::dask)
unset(_dask_prefix)
