# The build's dependencies, each found the CMake way (a missing one names the Debian package that
# provides it), and the INTERFACE targets that give one module alone its dependency's headers
# (vae_dep_hdf5 for src/io, vae_dep_blas for src/model; src/dist takes MPI::MPI_C itself).
# Sets VAE_DEP_LIBRARIES: what the library links, whichever form of it (static or shared).
find_package(MPI COMPONENTS C)
if(NOT MPI_C_FOUND)
  message(FATAL_ERROR "MPI not found: install Debian's libopenmpi-dev and openmpi-bin (or run tools/setup.sh)")
endif()
find_package(HDF5 COMPONENTS C)
if(NOT HDF5_FOUND)
  message(FATAL_ERROR "HDF5 (C API) not found: install Debian's libhdf5-dev (or run tools/setup.sh)")
endif()
find_package(Threads REQUIRED)

# The BLAS: FindBLAS with VAE_BLAS_VENDOR as its BLA_VENDOR (OpenBLAS, FlexiBLAS, Intel10_64lp,
# Generic, ...); the vendor also chooses src/model's blas_<vendor>.c (CMakeLists.txt).
set(BLA_VENDOR ${VAE_BLAS_VENDOR})
find_package(BLAS)
if(NOT BLAS_FOUND)
  message(FATAL_ERROR "BLAS (VAE_BLAS_VENDOR=${VAE_BLAS_VENDOR}) not found: install Debian's libopenblas-dev (or run tools/setup.sh), or choose another -DVAE_BLAS_VENDOR")
endif()
# FindBLAS checks the Fortran interface; the model calls the C one, which a few vendors (ATLAS,
# some reference builds) keep in a separate libcblas.
include(CheckFunctionExists)
set(CMAKE_REQUIRED_LIBRARIES BLAS::BLAS)
check_function_exists(cblas_sgemm VAE_BLAS_HAS_CBLAS)
unset(CMAKE_REQUIRED_LIBRARIES)
set(VAE_BLAS_LIBRARIES BLAS::BLAS)
if(NOT VAE_BLAS_HAS_CBLAS)
  find_library(VAE_CBLAS_LIBRARY cblas)
  if(NOT VAE_CBLAS_LIBRARY)
    message(FATAL_ERROR "BLAS ${BLAS_LIBRARIES} has no cblas_sgemm and no libcblas was found: set -DVAE_CBLAS_LIBRARY=")
  endif()
  list(APPEND VAE_BLAS_LIBRARIES ${VAE_CBLAS_LIBRARY})
endif()
# Its cblas.h: Debian keeps each OpenBLAS build's own (which declares openblas_get_config) under
# include/<arch>/openblas-<threading>/, and include/<arch>/cblas.h is whichever BLAS the system's
# alternatives chose, so the vendor's folders are searched first.
set(suffixes)
if(VAE_BLAS_VENDOR STREQUAL "OpenBLAS")
  set(suffixes openblas-pthread openblas-openmp openblas-serial openblas)
elseif(VAE_BLAS_VENDOR STREQUAL "FlexiBLAS")
  set(suffixes flexiblas)
endif()
find_path(VAE_CBLAS_INCLUDE_DIR cblas.h PATH_SUFFIXES ${suffixes})
if(NOT VAE_CBLAS_INCLUDE_DIR)
  message(FATAL_ERROR "cblas.h of BLAS ${BLAS_LIBRARIES} not found: install Debian's libopenblas-dev, or set -DVAE_CBLAS_INCLUDE_DIR=")
endif()

# Optional: oneDNN (Debian's libdnnl-dev) for --precision bf16's matrix products (model/bf16.h).
# Without it the build is whole and --precision bf16 says what to install. VAE_BF16=OFF leaves it out.
option(VAE_BF16 "Use oneDNN, when found, for --precision bf16" ON)
set(VAE_HAVE_DNNL OFF)
if(VAE_BF16)
  find_path(VAE_DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.h)
  find_library(VAE_DNNL_LIBRARY dnnl)
  find_package(OpenMP COMPONENTS C)
  if(VAE_DNNL_INCLUDE_DIR AND VAE_DNNL_LIBRARY AND OpenMP_C_FOUND)
    set(VAE_HAVE_DNNL ON)
    message(STATUS "bf16 products: oneDNN ${VAE_DNNL_LIBRARY}")
  else()
    message(STATUS "bf16 products: none (install Debian's libdnnl-dev for --precision bf16)")
  endif()
endif()

add_library(vae_dep_hdf5 INTERFACE)
target_include_directories(vae_dep_hdf5 SYSTEM INTERFACE ${HDF5_C_INCLUDE_DIRS})
target_compile_definitions(vae_dep_hdf5 INTERFACE ${HDF5_C_DEFINITIONS})
add_library(vae_dep_blas INTERFACE)
target_include_directories(vae_dep_blas SYSTEM INTERFACE ${VAE_CBLAS_INCLUDE_DIR})
if(VAE_HAVE_DNNL)
  target_include_directories(vae_dep_blas SYSTEM INTERFACE ${VAE_DNNL_INCLUDE_DIR})
  target_link_libraries(vae_dep_blas INTERFACE OpenMP::OpenMP_C)
  list(APPEND VAE_BLAS_LIBRARIES ${VAE_DNNL_LIBRARY} OpenMP::OpenMP_C)
endif()

# MPI links only: its headers stay behind the wall of src/dist even for what links the library.
set(VAE_DEP_LIBRARIES $<LINK_ONLY:MPI::MPI_C> ${HDF5_C_LIBRARIES} ${VAE_BLAS_LIBRARIES} Threads::Threads m)
