# Writes the version script of the installed libvae.so (cmake -DDIR=include/vae -DOUT=vae.map -P):
# the names the public headers declare, functions and extern arrays, are exported; every other
# symbol, internal vae_ names too (vae_h5_*, vae_wordtab_*, ...), stays local. Run at build time
# from cmake/VaeInstall.cmake, so a declaration added to a header is exported at the next build.
file(GLOB headers ${DIR}/*.h)
set(names)
foreach(h ${headers})
  file(READ ${h} text)
  # Comments name functions without declaring them; a static inline one is no symbol of the library.
  string(REGEX REPLACE "/\\*([^*]|\\*+[^*/])*\\*+/" "" text "${text}")
  string(REGEX REPLACE "//[^\n]*" "" text "${text}")
  string(REGEX REPLACE "static inline[^(]*\\(" "(" text "${text}")
  # A name before "(" is a function, before "[" an extern array; "[" would break CMake's lists.
  string(REPLACE "[" "(" text "${text}")
  string(REGEX MATCHALL "vae_[a-z0-9_]+[ \t]*\\(" found "${text}")
  foreach(f ${found})
    string(REGEX REPLACE "[ \t]*\\($" "" f "${f}")
    list(APPEND names "${f}")
  endforeach()
endforeach()
list(REMOVE_DUPLICATES names)
list(SORT names)
list(LENGTH names count)
if(count EQUAL 0)
  message(FATAL_ERROR "VaeVersionScript: no declaration found in ${DIR}/*.h")
endif()
list(JOIN names ";\n    " lines)
file(WRITE ${OUT} "/* Generated from ${DIR}/*.h by cmake/VaeVersionScript.cmake: the public API. */
{
  global:
    ${lines};
  local: *;
};
")
