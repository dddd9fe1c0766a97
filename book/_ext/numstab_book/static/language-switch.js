// The language switch: one link per other edition of this page, in the page's header, to the same
// page and the same section (the chapter's section labels are the same in every language).
// numstab_book.i18n writes each edition as <link rel="alternate" hreflang data-numstab-language>.
(function () {
  function install() {
    const alternates = document.querySelectorAll('link[rel="alternate"][data-numstab-language]');
    if (!alternates.length || document.querySelector('.numstab-language-switch')) return;
    const tip = document.querySelector('meta[name="numstab-language-switch"]');
    const bar = document.querySelector('.article-header-buttons') ||
                document.querySelector('.header-article-items__end') || document.body;
    alternates.forEach(function (link) {
      const a = document.createElement('a');
      a.className = 'btn btn-sm numstab-language-switch';
      a.setAttribute('hreflang', link.getAttribute('hreflang'));
      a.setAttribute('lang', link.getAttribute('hreflang'));
      a.dataset.numstabLanguage = link.dataset.numstabLanguage;
      if (tip) a.title = tip.content;
      a.textContent = link.title;
      const base = link.getAttribute('href');
      // the section the reader is in now, not the one the page was opened at
      const follow = function () { a.href = base + window.location.search + window.location.hash; };
      follow();
      window.addEventListener('hashchange', follow);
      a.addEventListener('mousedown', follow);
      a.addEventListener('focus', follow);
      bar.insertBefore(a, bar.firstChild);
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', install);
  else install();
})();
