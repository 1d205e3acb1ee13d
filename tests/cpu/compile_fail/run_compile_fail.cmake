# Compile-failure test (cmake -P script, run by CTest): compiles SOURCE with -fsyntax-only, which
# instantiates templates and so fires their static_asserts, and checks the outcome.
#   -DCXX=<C++ compiler>  -DSOURCE=<file>  -DINCLUDES=<dir|dir|...>  (longtail's and Eigen's)
#   -DCASE=<name>   defines LONGTAIL_CF_<name>: the compile must FAIL, its output must match
#                   -DEXPECT=<regex> (the library's static_assert message) and must not match
#                   -DREJECT=<regex> when given
#   no CASE         the control: the file without any case must compile (so a case fails for the
#                   one refused call it adds, and every accepted form in the file still compiles)
foreach(var CXX SOURCE INCLUDES)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_compile_fail.cmake: -D${var}=... is required")
  endif()
endforeach()

string(REPLACE "|" ";" include_dirs "${INCLUDES}")
set(args -std=c++17 -fsyntax-only)
foreach(dir IN LISTS include_dirs)
  list(APPEND args "-I${dir}")
endforeach()
if(DEFINED CASE)
  list(APPEND args "-DLONGTAIL_CF_${CASE}")
endif()

execute_process(COMMAND "${CXX}" ${args} "${SOURCE}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(log "${out}${err}")

if(NOT DEFINED CASE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "control compile of ${SOURCE} failed (it must compile without a case):\n${log}")
  endif()
  message(STATUS "control compile of ${SOURCE}: ok")
  return()
endif()

if(rc EQUAL 0)
  message(FATAL_ERROR "case ${CASE} compiled, but the library must refuse it")
endif()
if(NOT log MATCHES "${EXPECT}")
  message(FATAL_ERROR "case ${CASE} failed to compile, but without the expected message /${EXPECT}/:\n${log}")
endif()
if(DEFINED REJECT AND log MATCHES "${REJECT}")
  message(FATAL_ERROR "case ${CASE}: the compiler output matches /${REJECT}/, which it must not:\n${log}")
endif()
message(STATUS "case ${CASE} refused with the expected message")
