# Builds and runs one CMake consumer project from scratch (cmake -P script, run by CTest).
#   -DMODE=find_package      configure longtail alone (no tests/benchmarks/examples/CUDA), install
#                            it into WORK_DIR/prefix, then build find_package/ against that prefix
#   -DMODE=find_package_cuda the same with the CUDA target (-DCUDA_COMPILER=nvcc), then build the
#                            CUDA consumer find_package_cuda/ (find_package(longtail COMPONENTS cuda))
#   -DMODE=find_package_torch the same with longtail::torch (libtorch; -DTORCH_DIR=<Torch's config
#                            dir>), then build the libtorch consumer find_package_torch/
#                            (find_package(longtail COMPONENTS torch))
#   -DMODE=add_subdirectory  build add_subdirectory/ with LONGTAIL_SOURCE_DIR = the source tree
#   -DLONGTAIL_SOURCE_DIR=<longtail source tree>  -DWORK_DIR=<scratch dir, wiped first>
#   optional: -DGENERATOR, -DMAKE_PROGRAM, -DCXX_COMPILER, -DEIGEN3_DIR (forwarded to every configure)
# Everything is local: no network access is needed.

foreach(var MODE LONGTAIL_SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_consumer.cmake: -D${var}=... is required")
  endif()
endforeach()

set(common_args -DCMAKE_BUILD_TYPE=Release)
if(GENERATOR)
  list(APPEND common_args -G "${GENERATOR}")
endif()
if(MAKE_PROGRAM)
  list(APPEND common_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
if(CXX_COMPILER)
  list(APPEND common_args "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
endif()
if(EIGEN3_DIR)
  list(APPEND common_args "-DEigen3_DIR=${EIGEN3_DIR}")
endif()

function(step name)
  message(STATUS "[${MODE}] ${name}: ${ARGN}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "[${MODE}] ${name} failed (${rc})")
  endif()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
get_filename_component(here "${CMAKE_CURRENT_LIST_FILE}" DIRECTORY)

# Configures longtail alone (ARGS: extra cache settings), installs it into WORK_DIR/prefix, sets
# `prefix` to that in the caller and checks that the EXPECT files were installed.
function(install_longtail)
  cmake_parse_arguments(arg "BUILD" "" "ARGS;EXPECT" ${ARGN})
  set(prefix "${WORK_DIR}/prefix" PARENT_SCOPE)
  step("configure longtail" "${CMAKE_COMMAND}" -S "${LONGTAIL_SOURCE_DIR}" -B "${WORK_DIR}/longtail-build" ${common_args}
       -DLONGTAIL_BUILD_TESTS=OFF -DLONGTAIL_BUILD_BENCHMARKS=OFF -DLONGTAIL_BUILD_EXAMPLES=OFF
       -DLONGTAIL_INSTALL=ON ${arg_ARGS} "-DCMAKE_INSTALL_PREFIX=${WORK_DIR}/prefix")
  if(arg_BUILD)  # a compiled component (longtail::torch is a static library)
    step("build longtail" "${CMAKE_COMMAND}" --build "${WORK_DIR}/longtail-build")
  endif()
  step("install longtail" "${CMAKE_COMMAND}" --install "${WORK_DIR}/longtail-build" --prefix "${WORK_DIR}/prefix")
  foreach(f ${arg_EXPECT})
    if(NOT EXISTS "${WORK_DIR}/prefix/${f}")
      message(FATAL_ERROR "[${MODE}] the install lacks ${f}")
    endif()
  endforeach()
endfunction()

if(MODE STREQUAL "find_package")
  install_longtail(ARGS -DLONGTAIL_CUDA=OFF -DLONGTAIL_TORCH=OFF
                   EXPECT include/longtail/longtail.hpp include/longtail/cpu/focal_bce.hpp)
  step("configure consumer" "${CMAKE_COMMAND}" -S "${here}/find_package" -B "${WORK_DIR}/build" ${common_args}
       "-DCMAKE_PREFIX_PATH=${prefix}" "-DEXPECTED_PREFIX=${prefix}" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
elseif(MODE STREQUAL "find_package_cuda")
  # Install with the CUDA target, then a CUDA consumer (one architecture: this checks packaging).
  install_longtail(ARGS -DLONGTAIL_CUDA=ON "-DCMAKE_CUDA_COMPILER=${CUDA_COMPILER}" -DLONGTAIL_TORCH=OFF
                   EXPECT include/longtail/cuda.cuh share/cmake/longtail/longtailCudaTargets.cmake)
  step("configure consumer" "${CMAKE_COMMAND}" -S "${here}/find_package_cuda" -B "${WORK_DIR}/build" ${common_args}
       "-DCMAKE_PREFIX_PATH=${prefix}" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF "-DCMAKE_CUDA_COMPILER=${CUDA_COMPILER}"
       -DCMAKE_CUDA_ARCHITECTURES=75)
elseif(MODE STREQUAL "find_package_torch")
  # Without the Python module (not part of the CMake package) to keep the build to one library.
  install_longtail(BUILD ARGS -DLONGTAIL_CUDA=OFF -DLONGTAIL_TORCH=ON -DLONGTAIL_TORCH_PYTHON=OFF "-DTorch_DIR=${TORCH_DIR}"
                   EXPECT include/longtail/torch/losses.hpp share/cmake/longtail/longtailTorchTargets.cmake)
  step("configure consumer" "${CMAKE_COMMAND}" -S "${here}/find_package_torch" -B "${WORK_DIR}/build" ${common_args}
       "-DCMAKE_PREFIX_PATH=${prefix}" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF "-DTorch_DIR=${TORCH_DIR}")
elseif(MODE STREQUAL "add_subdirectory")
  # CUDA and torch off: a CPU-only consumer should not pay for CUDA compiler or libtorch detection.
  step("configure consumer" "${CMAKE_COMMAND}" -S "${here}/add_subdirectory" -B "${WORK_DIR}/build" ${common_args}
       "-DLONGTAIL_SOURCE_DIR=${LONGTAIL_SOURCE_DIR}" -DLONGTAIL_CUDA=OFF -DLONGTAIL_TORCH=OFF)
else()
  message(FATAL_ERROR "run_consumer.cmake: MODE must be find_package, find_package_cuda, find_package_torch or add_subdirectory (got '${MODE}')")
endif()

step("build consumer" "${CMAKE_COMMAND}" --build "${WORK_DIR}/build")
step("run consumer" "${WORK_DIR}/build/consumer")
