"""The book's own Sphinx extension: everything ``conf.py`` would otherwise have to patch or define.

Each module handles one concern and has a ``setup(app)`` of its own; this one only chains them.
``conf.py`` puts ``book/_ext`` on ``sys.path`` and lists ``"numstab_book"`` in ``extensions``.
"""

from . import (bibliography, chinese_search, exercises, execution, font, i18n, interactive, mathjax,
               notebook_download, pdf)

_MODULES = (i18n, execution, bibliography, chinese_search, mathjax, font, notebook_download, exercises,
            interactive, pdf)


def setup(app):
    for module in _MODULES:
        module.setup(app)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
