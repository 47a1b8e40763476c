"""fastvrrp.config: read a keepalived.conf into the normalised model.

    config, diags = load("/etc/keepalived/keepalived.conf")

`load` reads the file with everything it includes (reader.py), builds the
model (build.py: fastvrrp.config.model.Config) and, with host=True, checks
the machine (interfaces, scripts).  It never raises for a bad config: every
problem is in `diags` (fastvrrp.config.ast.Diagnostics), `diags.errors`
non-empty meaning keepalived -t would fail.
"""


import gc
from contextlib import contextmanager


@contextmanager
def _no_gc():
    """Reading allocates many small acyclic objects: keep the cyclic GC out."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def load(path, config_id=None, *, host=False, all_config=False):
    """-> (Config, Diagnostics)."""
    from .ast import Diagnostics
    from .build import build
    from .reader import read_config
    diags = Diagnostics()
    with _no_gc():
        config = build(read_config(path, diags, config_id, all_config=all_config), diags)
    if host:
        from .host import check_host
        check_host(config, diags)
    return config, diags


def loads(text, config_id=None, filename="<string>", base_dir=None):
    """The same for text in memory -> (Config, Diagnostics); no host checks."""
    from .ast import Diagnostics
    from .build import build
    from .reader import read_text
    diags = Diagnostics()
    with _no_gc():
        return build(read_text(text, diags, filename, config_id, base_dir), diags), diags
