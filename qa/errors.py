"""Errors the user can act on. Each message names the next step; the CLI prints
it without a traceback and exits with `exit_code`."""


class QAError(Exception):
    """Base class for every error this package raises on purpose."""

    exit_code = 1


class InputError(QAError):
    """The question, query or file given by the user cannot be used."""

    exit_code = 2


class IndexMissingError(QAError):
    """No index on disk where one was expected."""


class IndexStaleError(QAError):
    """The index on disk was built for another corpus, model or chunker."""


class ModelError(QAError):
    """The embedding model cannot be built or loaded."""


class CorpusError(QAError):
    """A corpus file is missing or cannot be read."""


class ReaderError(QAError):
    """The reader's weights are missing, damaged or made for another base model."""
