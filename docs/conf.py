"""Sphinx configuration of commae's documentation: the narrative pages (MyST Markdown) and the API reference.

The pages are Markdown files read by ``myst_parser``; their Python examples
are doctests that ``python -m pytest`` runs. The reference is generated from ``commae.__all__`` at build time (the
``commae-api`` directive below), so a name added to the package's public API
appears in the docs without editing them. Build with warnings as errors::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import types

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

sys.path.insert(0, os.path.abspath(".."))  # the checkout's commae, not an installed copy

import commae  # noqa: E402

project = "commae"
author = "commae developers"
copyright = "commae developers"
release = version = commae.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.mathjax", "sphinx.ext.viewcode", "numpydoc", "myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
myst_heading_anchors = 3  # [text](page.md#a-section-title) links, as GitHub makes them
html_theme = "alabaster"
html_static_path: list[str] = []

autodoc_member_order = "bysource"
autodoc_typehints = "none"  # types are in the numpydoc Parameters sections
numpydoc_show_class_members = False  # autodoc's :members: lists them once
numpydoc_class_members_toctree = False


def _module_of(name: str, obj: object) -> str:
    """The submodule that defines a public name (``commae.training`` for ``fit``)."""
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    module = getattr(obj, "__module__", None)
    if not (isinstance(module, str) and module.startswith("commae.")):
        return "commae"
    return ".".join(module.split(".")[:2])  # a subpackage's names stay together (commae.channels.awgn -> commae.channels)


def _directive(name: str, obj: object) -> list[str]:
    target = f"commae.{name}"
    if isinstance(obj, types.ModuleType):
        # names it shares with the top level are documented there, once (a second entry would be a duplicate)
        shared = sorted(set(getattr(obj, "__all__", dir(obj))) & set(commae.__all__))
        return [f".. automodule:: {obj.__name__}", "   :members:"] + ([f"   :exclude-members: {', '.join(shared)}"] if shared else []) + [""]
    if inspect.isclass(obj):
        if issubclass(obj, BaseException):
            return [f".. autoexception:: {target}", ""]
        return [f".. autoclass:: {target}", "   :members:", ""]
    if callable(obj):
        return [f".. autofunction:: {target}", ""]
    return [f".. py:data:: {target}", f"   :value: {obj!r}", ""]


class CommaeAPI(SphinxDirective):
    """Every name of ``commae.__all__``, grouped by the module that defines it."""

    def run(self) -> list[nodes.Node]:
        groups: dict[str, list[str]] = {}
        for name in commae.__all__:
            groups.setdefault(_module_of(name, getattr(commae, name)), []).append(name)
        lines: list[str] = []
        for module_name, names in groups.items():
            module = importlib.import_module(module_name)
            summary = " ".join((inspect.getdoc(module) or "").split("\n\n", 1)[0].split())
            title = "Package" if module_name == "commae" else f"``{module_name}`` — {summary}".rstrip(" —")
            lines += [title, "-" * len(title), ""]
            for name in names:
                lines += _directive(name, getattr(commae, name))
        content = StringList(lines, source="commae.__all__")
        section = nodes.section()
        nested_parse_with_titles(self.state, content, section)
        return section.children


def setup(app):
    app.add_directive("commae-api", CommaeAPI)
    return {"parallel_read_safe": True}
