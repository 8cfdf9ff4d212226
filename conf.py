"""Sphinx configuration for the book "Parallelism and the GIL".

Build from the repository root with this directory as the configuration
directory and ``docs/`` as the source directory (``nox -s docs`` does this).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "docs"))  # the book's own extension: docs/gilbook

project = "Parallelism and the GIL"
author = "The Parallelism and the GIL authors"
copyright = f"2026, {author}"
language = "en"

extensions = [
    "myst_nb",  # also provides MyST Markdown; listing myst_parser too is an error
    "sphinx.ext.extlinks",
    "sphinx_copybutton",
    "gilbook.sphinx_ext",
]
exclude_patterns = ["gilbook", "_templates", "**/__pycache__", "**.ipynb_checkpoints"]

# --- MyST and MyST-NB -------------------------------------------------------
myst_enable_extensions = ["colon_fence", "deflist", "substitution"]
myst_heading_anchors = 3
nb_execution_mode = "cache"  # `nox -s docs -- --fresh` clears the cache
nb_execution_raise_on_error = True  # a failing example fails the build, and the
# book's extension ends the log with the example's stderr and the command that
# reproduces it (gilbook.sphinx_ext.execution_failure): MyST-NB's own traceback,
# through jupyter-cache and the page's cell, would only bury them.
nb_execution_show_tb = False
# Per cell. Each example run has its own, shorter timeout (gilbook.runner), so
# this only catches a cell that hangs outside an example.
nb_execution_timeout = 1800
nb_merge_streams = True
nb_render_markdown_format = "myst"

# Links into the Python documentation. (Intersphinx would need the network at
# build time, and the book must build offline.)
extlinks = {"pydoc": ("https://docs.python.org/3/%s", "%s")}

# --- HTML -------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = project
html_static_path = ["docs/_static"]
templates_path = ["docs/_templates"]
html_css_files = ["gilbook.css"]
html_favicon = "docs/_static/favicon.svg"
html_last_updated_fmt = "%Y-%m-%d"
html_show_sourcelink = False
html_use_index = False  # the book has no index entries worth a page
html_theme_options = {
    "repository_url": "",
    "use_download_button": False,
    "show_toc_level": 2,
    "home_page_in_toc": True,
}
html_context = {"default_mode": "auto"}

copybutton_exclude = ".linenos, .gp, .go"
