"""MkDocs hook: the docstrings cite with Sphinx roles (:func:`simulate`), which Markdown renders as the literal
text ":func:" before the code span; drop the role name and keep the code span."""

import re

_ROLE = re.compile(r":(?:func|class|mod|meth|attr|data|obj|exc|const):(?=<code>)")


def on_page_content(html, **kwargs):
    return _ROLE.sub("", html)
