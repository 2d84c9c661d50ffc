# The package's shared library; its routines are registered (src/init.c) and named from R
# through their C_ objects (call.R).
.onUnload <- function(libpath) {
  # The library keeps the host-task trampoline's address for the rest of the process
  # (operations cannot be unregistered), so the DLL is deliberately left loaded.
  invisible(NULL)
}
