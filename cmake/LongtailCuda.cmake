# The CUDA side: target longtail::cuda (headers in cuda/, nvcc only) when the CUDA language is
# available. LONGTAIL_CUDA=AUTO enables it when a CUDA compiler is found, ON requires one.
set(LONGTAIL_WITH_CUDA OFF)
if(NOT LONGTAIL_CUDA STREQUAL "OFF")
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES "75;80;90")  # T4 first, then A100, H100
    endif()
    enable_language(CUDA)
    set(LONGTAIL_WITH_CUDA ON)
  elseif(LONGTAIL_CUDA STREQUAL "ON")
    message(FATAL_ERROR "LONGTAIL_CUDA=ON but no CUDA compiler was found (set CMAKE_CUDA_COMPILER)")
  else()
    message(STATUS "longtail: no CUDA compiler found; CUDA kernels' tests and benchmarks are skipped")
  endif()
endif()

if(LONGTAIL_WITH_CUDA)
  find_package(CUDAToolkit REQUIRED)
  add_library(longtail_cuda INTERFACE)
  add_library(longtail::cuda ALIAS longtail_cuda)
  target_include_directories(longtail_cuda INTERFACE $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/cuda>
                                                     $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(longtail_cuda INTERFACE longtail::longtail CUDA::cudart)
  target_compile_features(longtail_cuda INTERFACE cuda_std_17)
  # Installed as longtail::cuda, component `cuda` of the package (cmake/longtailConfig.cmake.in).
  set_target_properties(longtail_cuda PROPERTIES EXPORT_NAME cuda)
  message(STATUS "longtail: CUDA kernels' tests and benchmarks for architectures ${CMAKE_CUDA_ARCHITECTURES}")
endif()
