# The files embedded into kpid as the dashboard, as NAME=PATH pairs. PATH is
# relative to api/dashboard/ ("npm:" = the npm install directory of the build,
# "docs:" = the repository's docs/). docs/openapi.json rides along so that the
# binary serves the very document the test suite validates (GET
# /v1/openapi.json), with no file system access.
# Included by api/CMakeLists.txt (dependencies) and embed.cmake (the table).
set(KPID_DASHBOARD_ASSETS
  "index.html=index.html"
  "app.css=app.css"
  "app.js=app.js"
  "drill.js=drill.js"
  "chart.umd.min.js=npm:node_modules/chart.js/dist/chart.umd.min.js"
  "openapi.json=docs:openapi.json"
)
