"""One test body, two implementations (aiohttp's parser tests do the same).

    packet = twin_fixture("fastvrrp._packet", "fastvrrp.reference.packet")

at module level gives a fixture `packet` parametrized with ids `compiled` and
`reference`.  A compiled module that cannot be imported is a test FAILURE,
never a skip: the reference twin must not quietly stand in for the core.
"""

import importlib

import pytest


def _load(name):
    try:
        return importlib.import_module(name)
    except ImportError as exc:  # pragma: no cover - only on a broken build
        pytest.fail("cannot import %s (is the compiled core built? `make build`): %s"
                    % (name, exc))


def twin_params(compiled, reference):
    return [pytest.param(compiled, id="compiled"), pytest.param(reference, id="reference")]


def twin_fixture(compiled, reference):
    @pytest.fixture(params=twin_params(compiled, reference))
    def _fixture(request):
        return _load(request.param)
    return _fixture


def assert_compiled(name):
    """The module imports and is a compiled extension, not a .py file."""
    module = _load(name)
    assert module.__file__.endswith(".so"), "%s is not compiled: %s" % (name, module.__file__)
