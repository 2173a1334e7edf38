#!/usr/bin/env bash
# Mutation testing of the Ruler libraries with Stryker.NET (dotnet-stryker, a local tool in .config/dotnet-tools.json).
# By hand, not in CI: a core run takes well over 20 minutes on 2 cores (703 mutants to test; see tools/mutation-scores.md).
#
#   tools/mutation.sh                       # core files of src/Ruler against tests/Ruler.Tests
#   tools/mutation.sh kernels               # the fast kernels (RowKernels, ColumnKernels, ShortRows, NarrowKernels)
#   tools/mutation.sh nn                    # Ruler.Nn's layers and optimizers against tests/Ruler.Nn.Tests
#   tools/mutation.sh Modules/LayerNorm.cs Internal/Check.cs      # chosen files of src/Ruler (paths under src/Ruler)
#   tools/mutation.sh --nn Layers/Linear.cs                       # chosen files of src/Ruler.Nn
#   tools/mutation.sh Internal/RowKernels.cs:201-205              # only the mutants on lines 201-205 of a file
#
# Environment: FILTER overrides the test filter (dotnet test --filter syntax), OUT the output folder
# (default artifacts/mutation/<set>-<time>), CONCURRENCY the number of test runners (default 2).
# Prints the per-file table (tools/mutation-table.py) at the end, into $OUT/scores.md, and lists every survived or
# uncovered mutant in $OUT/survivors.md; the html report is in $OUT/reports.
#
# How instrumentation is kept to the files under test: Stryker.NET mutates *every* file of the project and only then
# drops the mutants outside its `mutate` globs, so with globs alone all ~3900 mutants of src/Ruler (the SIMD loops
# included) are compiled in, and the coverage pass and every test run go through their mutant switches: the first
# run, with globs only, was still in the coverage pass after 10 minutes. A mutant that a `// Stryker disable all`
# comment covers is never placed in the code at all. So the script runs in a scratch copy of the tree (under
# artifacts/mutation/, which git ignores) and prepends that comment to every .cs file of the project that is not
# under test; src/ itself is never touched. The globs (-m) still name the files under test, so the report lists
# only them. The copy also lets you keep building and testing in the worktree while Stryker, which builds and swaps
# the mutated assembly into the test project's bin/, runs; a killed run leaves nothing behind in the tree.
# REV=<commit> runs on that commit's files instead of the working tree (e.g. REV=main for a baseline); the Stryker
# config always comes from this tools/ folder. Tests that do not exercise the library code (CLI, inspect, bench,
# packaging, ONNX runner plumbing, the SIMD matrix child processes) are filtered out; the allocation tests stay (they
# kill mutants that drop a cached array or layout: same values, a new allocation per call).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

project=Ruler.csproj
src=src/Ruler
tests=tests/Ruler.Tests
set_name=custom
core=(RulerSpec.cs RulerLayout.cs GroupMoments.cs RulerOps.cs Internal/Check.cs 'Modules/*.cs' Internal/ReferenceKernels.cs)
kernels=(Internal/RowKernels.cs Internal/ColumnKernels.cs Internal/ShortRows.cs Internal/NarrowKernels.cs)
nn=('Layers/*.cs' 'Optim/*.cs')
# Test classes that do not exercise the library code under mutation (slow and irrelevant here).
core_filter='FullyQualifiedName!~Ruler.Tests.Inspect&FullyQualifiedName!~Ruler.Tests.BenchTests&FullyQualifiedName!~Ruler.Tests.BenchCommandTests&FullyQualifiedName!~Ruler.Tests.PackageXmlDocsTests&FullyQualifiedName!~Ruler.Tests.CommandLineTests&FullyQualifiedName!~Ruler.Tests.ExplainTests&FullyQualifiedName!~Ruler.Tests.PackageTests&FullyQualifiedName!~Ruler.Tests.FastPathSimdMatrixTests&FullyQualifiedName!~Ruler.Tests.OnnxRunnerTests'
# The kernels run also leaves out the two hammer tests (1-1.5 s of fixed duration each): they compare a module's answers
# from several threads with the same module's single-threaded answer, so a kernel mutant changes both sides; the
# kernels' own threading is checked bit for bit by the FastPath suites' one-thread/two-thread tests.
kernels_filter="$core_filter&FullyQualifiedName!~Ruler.Tests.ConcurrencyTests&FullyQualifiedName!~Ruler.Tests.AddNormConcurrencyTests"
nn_filter='FullyQualifiedName!~Ruler.Nn.Tests.TrainingTests&FullyQualifiedName!~Ruler.Nn.Tests.DataMnistTests&FullyQualifiedName!~Ruler.Nn.Tests.DataShakespeareTests'
filter=$core_filter

files=()
if [[ $# -eq 0 || $1 == core ]]; then
  set_name=core; files=("${core[@]}")
elif [[ $1 == kernels ]]; then
  set_name=kernels; files=("${kernels[@]}"); filter=$kernels_filter
elif [[ $1 == nn || $1 == --nn ]]; then
  project=Ruler.Nn.csproj; src=src/Ruler.Nn; tests=tests/Ruler.Nn.Tests; filter=$nn_filter
  if [[ $1 == nn || $# -eq 1 ]]; then set_name=nn; files=("${nn[@]}"); else shift; set_name=nn-custom; files=("$@"); fi
else
  files=("$@")
fi
[[ $set_name == custom && $# -eq 0 ]] && { echo "no files" >&2; exit 2; }
filter=${FILTER:-$filter}

# A file may carry a line range, FILE:FROM-TO; Stryker's mutate patterns take a character span, {start..end}.
path_of() { [[ $1 =~ ^(.+\.cs):[0-9]+-[0-9]+$ ]] && echo "${BASH_REMATCH[1]}" || echo "$1"; }
for f in "${files[@]}"; do
  compgen -G "$src/$(path_of "$f")" > /dev/null || { echo "mutation.sh: no file matches $src/$(path_of "$f")" >&2; exit 2; }
done

stamp=$(date -u +%Y%m%d-%H%M%S)
out=${OUT:-$repo/artifacts/mutation/$set_name-$stamp}
scratch=$repo/artifacts/mutation/tree-$set_name-$stamp
mkdir -p "$out" "$scratch"
if [[ -n ${REV:-} ]]; then
  git archive "$REV" | tar -xf - -C "$scratch"
else
  # What `git status` would see: tracked and untracked-but-not-ignored files, without bin/obj.
  git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' p; do [[ -e $p ]] && printf '%s\0' "$p"; done \
    | tar --null -T - -cf - | tar -xf - -C "$scratch"
fi

# Every other .cs file of the project: no mutant placed (see the header).
( cd "$scratch/$src"
  shopt -s globstar nullglob
  declare -A target=()
  for f in "${files[@]}"; do for g in $(path_of "$f"); do target[$g]=1; done; done
  for g in **/*.cs; do
    [[ $g == bin/* || $g == obj/* || -n ${target[$g]:-} ]] && continue
    { printf '// Stryker disable all\n'; cat "$g"; } > "$g.tmp" && mv "$g.tmp" "$g"
  done )

mutate=()
for f in "${files[@]}"; do
  if [[ $f =~ ^(.+\.cs):([0-9]+)-([0-9]+)$ ]]; then
    # Character offsets (UTF-16 code units, as Roslyn counts them; the sources are BMP-only) of the first and last line.
    span=$(python3 - "$scratch/$src/${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "${BASH_REMATCH[3]}" <<'PY'
import sys
lines = open(sys.argv[1], encoding='utf-8-sig').read().split('\n')
a, b = int(sys.argv[2]), int(sys.argv[3])
if not 1 <= a <= b <= len(lines): sys.exit(f"mutation.sh: lines {a}-{b} outside 1-{len(lines)} of {sys.argv[1]}")
start = sum(len(l) + 1 for l in lines[:a - 1])
print(f"{start}..{start + sum(len(l) + 1 for l in lines[a - 1:b]) - 1}")
PY
) || exit 2
    mutate+=(-m "**/$src/${BASH_REMATCH[1]}{$span}")
  else
    mutate+=(-m "**/$src/$f")
  fi
done

echo "mutation.sh: $set_name: ${files[*]} in $src${REV:+ at $REV ($(git rev-parse --short "$REV"))}, tests $tests, filter: $filter" | tee "$out/command.txt"
cd "$scratch/$tests"
dotnet tool restore > /dev/null
start=$(date +%s)
nice -n 5 dotnet tool run dotnet-stryker -- \
  --config-file "$repo/tools/stryker-config.json" \
  --project "$project" \
  --concurrency "${CONCURRENCY:-2}" \
  --test-case-filter "$filter" \
  --output "$out" \
  --skip-version-check \
  "${mutate[@]}" 2>&1 | tee "$out/stryker.log"
echo "mutation.sh: $(( ($(date +%s) - start) / 60 )) min" | tee -a "$out/command.txt"

report=$(find "$out" -name mutation-report.json | head -1)
python3 "$repo/tools/mutation-table.py" "$report" "$src/" | tee "$out/scores.md"
python3 "$repo/tools/mutation-table.py" "$report" "$src/" --survivors > "$out/survivors.md"
rm -rf "$scratch"
