import pytest


@pytest.fixture(scope="session")
def tokenizer(tmp_path_factory):
    from tiny_models import make_tokenizer

    return make_tokenizer(tmp_path_factory.mktemp("vocab"))
