#===- KilnMacros.cmake - helpers shared by kiln's CMake files ------------===#
#
# Every compiler library links the shared libMLIR.so / libLLVM-19.so (never
# the static component libraries: mixing them breaks global registries).
#
#===----------------------------------------------------------------------===#

# kiln_add_library(name SOURCES... [DEPENDS targets...] [LINK_LIBS libs...]
#                  [EXCEPTIONS])
# A static library of compiler code. EXCEPTIONS re-enables C++ exceptions for
# the one target that wraps yaml-cpp (Debian's LLVM is built without them).
function(kiln_add_library name)
  cmake_parse_arguments(ARG "EXCEPTIONS" "" "DEPENDS;LINK_LIBS" ${ARGN})
  add_library(${name} STATIC ${ARG_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PUBLIC MLIR LLVM ${ARG_LINK_LIBS})
  if(ARG_DEPENDS)
    add_dependencies(${name} ${ARG_DEPENDS})
  endif()
  if(ARG_EXCEPTIONS)
    target_compile_options(${name} PRIVATE -fexceptions)
  endif()
endfunction()

# kiln_add_tool(name SOURCES... [LINK_LIBS libs...])
# An executable placed in ${PROJECT_BINARY_DIR}/bin.
function(kiln_add_tool name)
  cmake_parse_arguments(ARG "" "" "LINK_LIBS" ${ARGN})
  add_executable(${name} ${ARG_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE ${ARG_LINK_LIBS} MLIR LLVM)
  set_target_properties(${name} PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin)
endfunction()
