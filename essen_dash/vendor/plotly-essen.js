// The plotly.js the app loads in the browser and in the export helper: plotly.js's core (with the scatter
// trace) and the trace types the app's figures draw, nothing else (no WebGL, no tile maps, no 3-D). The full
// bundle takes Chromium about six times as long to start. tests/integration/test_plotly_bundle.py checks that
// every trace type a view draws is registered here. Built by build.mjs (make plotly-js).
'use strict';

var Plotly = require('plotly.js/lib/core');

Plotly.register([
    require('plotly.js/lib/bar'),
    require('plotly.js/lib/heatmap'),
    require('plotly.js/lib/table'),
    require('plotly.js/lib/scattergeo'),
    require('plotly.js/lib/choropleth'),
]);

module.exports = Plotly;
