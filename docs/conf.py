"""Sphinx configuration for the rwe_cart documentation (``make docs``)."""
from __future__ import annotations

import datetime
import os
from pathlib import Path

import matplotlib
import yaml

# Docstring examples draw figures; no window may open while the API pages are built.
matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

import rwe_cart  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent

project = "rwe_cart"
author = "The rwe_cart developers"
copyright = f"{datetime.date.today().year}, {author}"
release = rwe_cart.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_copybutton",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
# data_contract_adam.md is a part of data-contract.md (included there), not a page.
exclude_patterns = ["_build", "_generated", "data_contract_adam.md"]
templates_path = ["_templates"]

# Markdown pages: colon fences for admonitions, $...$ maths, anchors on headings so pages can
# link to sections.
myst_enable_extensions = ["colon_fence", "dollarmath", "deflist", "substitution"]
myst_heading_anchors = 3


def _citation() -> dict[str, str]:
    """The citing page's fields, read from CITATION.cff (the one source of the metadata).

    Also writes the BibTeX entry that the page includes, under docs/_generated/ (not kept
    in git).
    """
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    authors = " and ".join(a.get("name") or f"{a.get('given-names', '')} {a['family-names']}".strip()
                           for a in cff["authors"])
    released = str(cff["date-released"])
    bib = (f"@software{{rwe_cart,\n"
           f"  author  = {{{{{authors}}}}},\n"
           f"  title   = {{{{{cff['title']}}}}},\n"
           f"  version = {{{cff['version']}}},\n"
           f"  year    = {{{released[:4]}}},\n"
           f"  license = {{{cff['license']}}},\n"
           f"}}\n")
    out = HERE / "_generated"
    out.mkdir(exist_ok=True)
    (out / "citation.bib").write_text(bib, encoding="utf-8")
    return {"cff_message": " ".join(cff["message"].split()), "cff_authors": authors,
            "cff_title": cff["title"], "cff_version": str(cff["version"]),
            "cff_date": released, "cff_license": cff["license"]}


myst_substitutions = _citation()

# One stub page per public name, generated from docs/api/index.rst on every build.
autosummary_generate = True
autosummary_imported_members = True
# Module pages list what the module exports (its __all__), not every name it imports.
autosummary_ignore_module_all = False
autodoc_default_options = {"member-order": "bysource"}
# Parameter types are written in each numpydoc docstring; repeating the annotations in the
# signature line makes the long signatures of the plotting functions unreadable.
autodoc_typehints = "none"
# Result classes are built by the package, not by users: their constructor arguments
# (private fields included) are not part of the API, so a class page shows no signature.
autodoc_class_signature = "separated"

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "pydata_sphinx_theme"
html_title = f"rwe_cart {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_context = {"default_mode": "light"}
# Pages without sub-pages need no section navigation column.
html_sidebars = {page: [] for page in ("index", "getting-started", "data-contract",
                                        "api-conventions", "architecture", "changelog",
                                        "citing")}
html_static_path = ["_static"]
html_css_files = ["rwe_cart.css"]
html_show_sourcelink = False

copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True
