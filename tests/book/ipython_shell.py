"""A stand-in for an IPython shell's display formatters: records what gets registered."""

from __future__ import annotations


class Formatter:
    """One of IPython's formatters: ``registered`` maps a type to its function."""

    def __init__(self):
        self.registered = {}

    def for_type(self, kind, function):
        self.registered[kind] = function


class Shell:
    """``shell.display_formatter``'s mime-bundle formatter and its image/png formatter."""

    def __init__(self):
        formatters = {"image/png": Formatter()}
        self.display_formatter = type(
            "DisplayFormatter", (), {"mimebundle_formatter": Formatter(), "formatters": formatters}
        )()
