// Build plotly-essen.min.js from plotly-essen.js with the plotly.js and esbuild pinned in package.json:
//     node essen_dash/vendor/build.mjs [OUTFILE]
// The same sources give the same bytes (tests/integration/test_plotly_bundle.py rebuilds and compares).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const version = JSON.parse(readFileSync(createRequire(import.meta.url).resolve('plotly.js/package.json'))).version;

await build({
    entryPoints: [join(here, 'plotly-essen.js')],
    outfile: process.argv[2] || join(here, 'plotly-essen.min.js'),
    bundle: true,
    minify: true,
    format: 'iife',
    globalName: 'Plotly',
    target: 'es2016',
    // as plotly.js's own build (esbuild-config.js); its stylesheets are those of the tile maps, not bundled
    define: { global: 'window', 'define.amd': 'false' },
    loader: { '.css': 'empty' },
    legalComments: 'eof',
    banner: { js: `/*! plotly.js ${version} (MIT licence, (c) Plotly, Inc.): its core and the trace types ` +
                  'registered in essen_dash/vendor/plotly-essen.js, built for essen-dash by build.mjs */' },
    logLevel: 'warning',
});
