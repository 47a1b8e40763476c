"""Build the compiled core: ext/*.pyx -> fastvrrp._packet, fastvrrp._wheel.

The extensions are not optional.  A build without Cython or without a working
C compiler fails loudly instead of producing a package that silently runs on
the pure-Python reference twins.
"""
import os
import sys

from setuptools import setup, Extension
from setuptools.command.build_ext import build_ext

try:
    from Cython.Build import cythonize
except ImportError:  # pragma: no cover - exercised only on broken build envs
    sys.exit(
        "fastvrrp: Cython 3 is required to build the compiled core "
        "(pip install 'Cython>=3'); refusing to build without it."
    )

# ext/<name>.pyx is compiled as fastvrrp._<name>.  ext/fastvrrp/_<name>.pxd
# are links to ext/<name>.pxd so that `cimport fastvrrp._<name>` resolves.
MODULES = ["packet", "wheel", "fastpath"]
# FASTVRRP_MODULES=packet builds only the named modules (developer loop).
if os.environ.get("FASTVRRP_MODULES"):
    MODULES = [m for m in MODULES if m in os.environ["FASTVRRP_MODULES"].split(",")]

CFLAGS = ["-O3", "-fno-strict-aliasing", "-Wno-unused-function"]
if os.environ.get("FASTVRRP_DEBUG_BUILD"):
    CFLAGS = ["-O0", "-g3"]


class strict_build_ext(build_ext):
    """build_ext that turns a missing or broken compiler into one clear error."""

    def run(self):
        try:
            super().run()
        except Exception as exc:  # DistutilsPlatformError, CompileError, ...
            sys.exit(
                "fastvrrp: building the compiled core failed: %s\n"
                "A C compiler and the Python headers are required "
                "(Debian: apt-get install gcc python3-dev)." % exc
            )


extensions = [
    Extension(
        "fastvrrp._%s" % name,
        ["ext/%s.pyx" % name],
        extra_compile_args=CFLAGS,
    )
    for name in MODULES
]

setup(
    ext_modules=cythonize(
        extensions,
        include_path=["ext"],
        language_level=3,
        annotate=bool(os.environ.get("FASTVRRP_ANNOTATE")),
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "initializedcheck": False,
            "cdivision": True,
            "embedsignature": True,
        },
    ),
    cmdclass={"build_ext": strict_build_ext},
)
