/* The address bar holds the whole view: every page writes its own controls into it, and remembers them so
 * the navigation link back to that page restores them (the Karte at Stadtteil level stays at that level).
 * Called from the pages' clientside callbacks (components.sync_query).
 */
window.essenQuery = {
    sync: function (page, names, values, memory) {
        const params = new URLSearchParams(window.location.search);
        const own = new URLSearchParams();
        names.forEach(function (n, i) {
            if (values[i]) { params.set(n, values[i]); own.set(n, values[i]); } else { params.delete(n); }
        });
        const plain = function (s) { return s.toString().replace(/%2C/g, ',').replace(/%3A/g, ':'); };
        const q = plain(params);
        window.history.replaceState(window.history.state, '', window.location.pathname + (q ? '?' + q : ''));
        const remembered = Object.assign({}, memory || {});
        remembered[page] = plain(own);
        return [Date.now(), remembered];
    }
};

/* "mit Satz" beside a chart's downloads: the export prints the chart's German sentence under it (caption=1).
 * The links are set when the box changes and again on the click itself, so a link the page re-rendered since
 * still follows the box.
 */
(function () {
    function follow(box) {
        box.closest('.downloads').querySelectorAll('a[href^="/download/chart"]').forEach(function (a) {
            const url = new URL(a.getAttribute('href'), window.location.origin);
            if (box.checked) { url.searchParams.set('caption', '1'); } else { url.searchParams.delete('caption'); }
            a.setAttribute('href', url.pathname + '?' + url.searchParams.toString().replace(/%2C/g, ','));
        });
    }
    document.addEventListener('change', function (e) {
        if (e.target.matches && e.target.matches('.caption-toggle')) follow(e.target);
    });
    document.addEventListener('click', function (e) {
        const link = e.target.closest && e.target.closest('.downloads a[href^="/download/chart"]');
        const box = link && link.closest('.downloads').querySelector('.caption-toggle');
        if (box) follow(box);
    }, true);
})();
