"""Chinese full-text search that works: a quiet jieba and the stemmer Sphinx really ships.

Sphinx 9.0's Chinese search uses the English snowball stemmer in JavaScript but ends
language_data.js with ``window.Stemmer = ChineseStemmer``, a class that does not exist, so the
search page throws and finds nothing (sphinx-doc/sphinx#14229, fixed upstream by #14416).  The JS
class name comes from ``language_name``: name the stemmer that is really shipped.
"""

import logging


def _quiet_jieba():
    """jieba announces building its dictionary on stderr at DEBUG level."""
    try:
        import jieba
    except ImportError:  # pragma: no cover - Sphinx then falls back to bigrams
        return
    jieba.setLogLevel(logging.INFO)


def _fix_chinese_search_stemmer():
    from sphinx import search
    from sphinx.search.zh import SearchChinese

    if SearchChinese.js_stemmer_rawcode != "english-stemmer.js":
        return  # a Sphinx that ships a consistent Chinese stemmer: nothing to fix

    class SearchChineseEnglishStemmer(SearchChinese):
        language_name = "English"

    search.languages["zh"] = SearchChineseEnglishStemmer


def setup(app):
    _quiet_jieba()
    _fix_chinese_search_stemmer()
