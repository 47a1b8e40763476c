"""A developer's profile of the running engine: FASTVRRP_PROFILE=PATH.

With the variable set, the event loop runs under cProfile and, when it ends
(a clean stop), the statistics go to PATH.<pid> (pstats format: read them with
`python -m pstats`).  The benchmarks inherit the environment, so
`FASTVRRP_PROFILE=/tmp/fv fastvrrp bench failover ...` profiles both roles.
"""

import contextlib
import os

ENV = "FASTVRRP_PROFILE"


@contextlib.contextmanager
def profiled(environ=os.environ):
    path = environ.get(ENV)
    if not path:
        yield
        return
    import cProfile
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        profile.dump_stats("%s.%d" % (path, os.getpid()))
