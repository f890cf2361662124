"""Real offline demo models, loaded once per test session."""

import pytest

import bos_widget


@pytest.fixture(scope="session")
def smollm2():
    return bos_widget.demo_model("smollm2")


@pytest.fixture(scope="session")
def gemma3():
    return bos_widget.demo_model("gemma3")


@pytest.fixture(scope="session")
def minilm():
    return bos_widget.demo_model("minilm")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/models/" in str(item.fspath):
            item.add_marker(pytest.mark.models)
