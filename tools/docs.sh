#!/usr/bin/env bash
# Builds the API reference site from the library's XML documentation with docfx (a local dotnet tool, see
# .config/dotnet-tools.json) into docs/_site (ignored; open docs/_site/index.html). Any docfx warning (a broken
# cref or xref, a missing file) fails the build. CI runs it; run it after editing /// comments.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
start=$SECONDS
dotnet tool restore >/dev/null
# docfx reads the built assembly and its (public-only) XML rather than compiling the sources again.
dotnet build src/Ruler/Ruler.csproj -c Release --nologo -v quiet
rm -rf docs/api docs/_site
dotnet tool run docfx docs/docfx.json --warningsAsErrors
echo "docs: docs/_site/index.html ($((SECONDS - start)) s)"
