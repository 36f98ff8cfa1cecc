#!/usr/bin/env bash
# The include graph of the program goes downwards only. Each directory belongs to a layer (the list
# below, lowest first); a file may include headers of its own directory and of lower layers, never
# of its own layer's other directories or of a higher one, and always by a path from the source
# root ("engine/plan.hpp", not "plan.hpp" from elsewhere). Prints every include that breaks this.
#   bash tests/check_layers.sh SOURCE_DIR
set -euo pipefail
root="${1:?usage: check_layers.sh SOURCE_DIR}"
cd "$root"

# Lowest first; directories on one line share a layer. engine/lanes is part of engine, and
# strategies/<name>/ (one strategy's kernel, table and policy headers) of strategies. The
# strategies' .cpp files (src/strategies/registry.cpp, src/strategies/<name>/lanes.cpp)
# instantiate the engine's drivers over the policies: they form the "drivers" layer.
layers=(
  "common"
  "data strategy"
  "strategies"
  "grid indicators"
  "engine"
  "results gpu"
  "drivers"
  "robust report"
  "mpi"
  "cli"
  "main"
)
declare -A layer_of
for i in "${!layers[@]}"; do
  for d in ${layers[$i]}; do layer_of[$d]=$i; done
done
# The directory a file or an include path belongs to: src/x/..., gpu/..., mpi/...; src/main.cpp.
dir_of() {
  local p="${1#src/}"
  case "$p" in
    main.cpp) echo main ;;
    strategies/*.cpp) echo drivers ;;
    */*) echo "${p%%/*}" ;;
    *) echo "" ;;
  esac
}

bad=0
while IFS= read -r file; do
  from="$(dir_of "$file")"
  [ -n "${layer_of[$from]:-}" ] || { echo "$file: directory '$from' is in no layer of tests/check_layers.sh"; bad=1; continue; }
  while IFS=: read -r line inc; do
    inc="${inc#*\"}"; inc="${inc%\"*}"
    # Headers generated into the build tree are named by the layer that owns them.
    [ "$inc" = "report/assets.hpp" ] && [ "$from" = report ] && continue
    if [[ "$inc" != */* ]]; then
      if [ -e "$(dirname "$file")/$inc" ] && [ "$(dirname "$file")" != "." ]; then
        echo "$file:$line: includes \"$inc\" without its directory (write \"$(dirname "${file#src/}")/$inc\")"
      else
        echo "$file:$line: includes \"$inc\", a header of no directory"
      fi
      bad=1; continue
    fi
    to="$(dir_of "$inc")"
    [ "$to" = "$from" ] && continue
    if [ -z "${layer_of[$to]:-}" ]; then
      echo "$file:$line: includes \"$inc\" of directory '$to', which is in no layer"; bad=1; continue
    fi
    if [ "${layer_of[$to]}" -ge "${layer_of[$from]}" ]; then
      echo "$file:$line: $from (layer ${layer_of[$from]}) includes \"$inc\" of $to (layer ${layer_of[$to]}): includes go to lower layers only"
      bad=1
    fi
  done < <(grep -nE '^\s*#\s*include\s*"' "$file" | sed -E 's/^([0-9]+):.*(".*").*/\1:\2/')
done < <(git ls-files 'src/*.hpp' 'src/*.cpp' 'gpu/*.hpp' 'gpu/*.cpp' 'gpu/*.cu' 'mpi/*.hpp' 'mpi/*.cpp' 2> /dev/null \
         || find src gpu mpi -name '*.hpp' -o -name '*.cpp' -o -name '*.cu')
[ "$bad" = 0 ] || exit 1
echo "ok: includes go downwards (${#layers[@]} layers: $(printf '%s | ' "${layers[@]}" | sed 's/ | $//'))"
