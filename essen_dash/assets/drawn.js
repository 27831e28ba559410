/* What the browser draws from the numbers the server sends, so that an answer carries each figure once and no
 * markup per area or cell: the tables (components.html_table) and the ranks of a map switch (pages/karte.py).
 * Called from clientside callbacks.
 */
window.essenDrawn = {
    /* A view's table from its cells (display strings): header cells scoped to their column, figures aligned
     * right. Returns the components as Dash sends them. */
    table: function (cells) {
        if (!cells) { return null; }
        const element = function (type, children, props) {
            return {type: type, namespace: 'dash_html_components', props: Object.assign({children: children}, props)};
        };
        const aligned = cells.columns.map(function (c, i) {
            return cells.numeric.indexOf(i) >= 0 ? {className: 'num'} : {};
        });
        const head = element('Tr', cells.columns.map(function (c, i) {
            return element('Th', c, Object.assign({scope: 'col'}, aligned[i]));
        }));
        const body = cells.rows.map(function (row) {
            return element('Tr', row.map(function (v, i) { return element('Td', v, aligned[i]); }));
        });
        return element('Table', [element('Thead', head), element('Tbody', body)], {className: 'simple', id: cells.id});
    },

    /* Each value's rank, 1 for the highest, equal values sharing the best rank (as pandas' rank(method="min",
     * ascending=False) in essen_dash/frames.py); null where there is no value. */
    rankDescending: function (values) {
        const order = [];
        values.forEach(function (v, i) { if (v !== null && v !== undefined) { order.push(i); } });
        order.sort(function (a, b) { return values[b] - values[a]; });
        const rank = new Array(values.length).fill(null);
        order.forEach(function (i, k) {
            rank[i] = k > 0 && values[order[k - 1]] === values[i] ? rank[order[k - 1]] : k + 1;
        });
        return rank;
    },

    /* The values of a switch: a list as sent, or scaled integers (choropleth.scaled) divided back. */
    values: function (sent) {
        if (!sent || !sent.bdata) { return sent; }
        const bytes = Uint8Array.from(atob(sent.bdata), function (c) { return c.charCodeAt(0); });
        const Whole = {i2: Int16Array, i4: Int32Array}[sent.dtype];
        const whole = new Whole(bytes.buffer);
        return Array.from(whole, function (v) { return v === sent.missing ? null : v / sent.divisor; });
    },

    /* The map's patch of a switch (``operations`` as the server built them), with the values it merges into the
     * trace ``ranked`` unpacked and their ranks added as that trace's hovertext (choropleth.ranks). */
    mapSwitch: function (sent) {
        if (!sent) { return window.dash_clientside.no_update; }
        const self = window.essenDrawn;
        const operations = sent.operations.map(function (op) {
            const value = op.params && op.params.value;
            if (op.operation !== 'Merge' || op.location.length !== 2 || op.location[1] !== sent.ranked || !value.z) {
                return op;
            }
            const z = self.values(value.z);
            const ranked = Object.assign({}, value, {z: z, hovertext: self.rankDescending(z)});
            return Object.assign({}, op, {params: Object.assign({}, op.params, {value: ranked})});
        });
        return {__dash_patch_update: '__dash_patch_update', operations: operations};
    }
};
