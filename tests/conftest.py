import pytest


@pytest.fixture(scope="session")
def tokenizer(tmp_path_factory):
    from tiny_models import make_tokenizer

    return make_tokenizer(tmp_path_factory.mktemp("vocab"))


@pytest.fixture
def rotating_cache():
    """A real ``ReaderCache`` subclass whose first read deletes ``victims``: event files the scan
    already listed, as a trainer rotating its old event files while the sidebar reads would."""
    from attn_widget.tensorboard import ReaderCache

    class RotatingCache(ReaderCache):
        def __init__(self, victims):
            super().__init__()
            self.victims = list(victims)

        def rotate(self):
            while self.victims:
                self.victims.pop().unlink()

        def read_new(self, paths):
            self.rotate()
            return super().read_new(paths)

        def updated(self, path, stat=None):
            self.rotate()
            return super().updated(path, stat)

    return RotatingCache
