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

/* "mit Satz" beside a chart's downloads, a toggle button: the export prints the chart's German sentence under
 * it (caption=1). The links are set when it is toggled and again on the click on a link itself, so a link the
 * page re-rendered since still follows the button.
 */
(function () {
    function follow(button) {
        const on = button.getAttribute('aria-pressed') === 'true';
        button.closest('.downloads').querySelectorAll('a[href^="/download/chart"]').forEach(function (a) {
            const url = new URL(a.getAttribute('href'), window.location.origin);
            if (on) { url.searchParams.set('caption', '1'); } else { url.searchParams.delete('caption'); }
            a.setAttribute('href', url.pathname + '?' + url.searchParams.toString().replace(/%2C/g, ','));
        });
    }
    document.addEventListener('click', function (e) {
        const toggle = e.target.closest && e.target.closest('.caption-toggle');
        if (toggle) {
            toggle.setAttribute('aria-pressed', toggle.getAttribute('aria-pressed') === 'true' ? 'false' : 'true');
            follow(toggle);
            return;
        }
        const link = e.target.closest && e.target.closest('.downloads a[href^="/download/chart"]');
        const button = link && link.closest('.downloads').querySelector('.caption-toggle');
        if (button) follow(button);
    }, true);
})();
