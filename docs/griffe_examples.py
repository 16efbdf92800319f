"""A griffe extension for the API pages: the package's docstrings head their doctests
`Example:` (Google's spelling), which griffe's Google parser reads as an admonition of Markdown
text, where `>>>` lines would render as nested quotes. Renamed `Examples:`, the section griffe
parses into highlighted Python code. mkdocs.yml loads it (`extensions:`)."""

import re

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.M)


class ExampleSections(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE.sub(r"\1Examples:", obj.docstring.value)
