// The plotly.js the app serves: only the trace types the dashboards draw (scatter, bar,
// histogram, choropleth), about a third of the full bundle once compressed. dcc.Graph uses
// window.Plotly when it is already there, so the full plotly.min.js is never downloaded.
// A trace type used in dashboards/components.py must be registered here (the browser tests
// draw every chart and fail on a console error).
var Plotly = require('plotly.js/lib/core');

Plotly.register([
    require('plotly.js/lib/scatter'),
    require('plotly.js/lib/bar'),
    require('plotly.js/lib/histogram'),
    require('plotly.js/lib/choropleth'),
]);

window.Plotly = Plotly;
