import pytest


def pytest_collection_modifyitems(config, items):
    # Anything needing namespaces or an external daemon is slow by definition.
    for item in items:
        if item.get_closest_marker("netns") or item.get_closest_marker("interop"):
            item.add_marker(pytest.mark.slow)
