"""Author-year labels in the reference list.

The text cites "(Glorot and Bengio, 2010)"; label the list the same way instead of pybtex's plain
[1], [2], ... (which the text never shows).  ``conf.py`` selects the style by its name,
``bibtex_default_style = "author_year_labels"``.
"""

from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle

STYLE = "author_year_labels"


class AuthorYearLabels(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            names = [" ".join(p.last_names) for p in entry.persons.get("author", [])]
            who = f"{names[0]} et al." if len(names) > 2 else " and ".join(names)
            yield f"{who}, {entry.fields.get('year', '')}".replace("{", "").replace("}", "")


class AuthorYearStyle(PlainStyle):
    default_label_style = AuthorYearLabels
    default_sorting_style = "author_year_title"


def setup(app):
    register_plugin("pybtex.style.formatting", STYLE, AuthorYearStyle, force=True)
