#!/usr/bin/env bash
# Batch throughput: images/hour of `amg` (generated:vit_b, official defaults, every mask made) and `embed`
# over a folder, and a batch of 20 images against 20 separate invocations of the same work.
#   bench/Batch/run.sh [AMG_IMAGES=3]     (prints a table; measure on an otherwise idle machine)
# The images are samples/shapes.png (640 x 480) copied under 20 names: every image costs the same.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
amg_images=${1:-3}
work=$(mktemp -d /tmp/samengine-batchbench.XXXXXX)
trap 'rm -rf "$work"' EXIT
# SAMENGINE_BIN: an existing publish folder (so that publishing does not load the machine just before timing).
bin=${SAMENGINE_BIN:-$work/bin}
[[ -n ${SAMENGINE_BIN:-} ]] || dotnet publish "$repo/src/SamEngine.Cli/SamEngine.Cli.csproj" -c Release -o "$bin" -v quiet -nologo >/dev/null
cli=(dotnet "$bin/SamEngine.Cli.dll")
mkdir -p "$work/images" "$work/amg-images" "$work/embed-one"
for i in $(seq 1 20); do cp "$repo/samples/shapes.png" "$work/images/$(printf 'img%02d' "$i").png"; done
for i in $(seq 1 "$amg_images"); do cp "$repo/samples/shapes.png" "$work/amg-images/$(printf 'img%02d' "$i").png"; done

seconds() { local start=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; echo "$(date +%s.%N) - $start" | bc; }
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"

batch_embed=$(seconds "${cli[@]}" embed --model generated:vit_b --images "$work/images" --out "$work/embed-batch")
separate_embed=$(seconds bash -c "for f in $work/images/*.png; do ${cli[*]} embed --model generated:vit_b --image \$f --out $work/embed-one/\$(basename \$f .png).safetensors; done")
batch_amg=$(seconds "${cli[@]}" amg --model generated:vit_b --pred-iou-thresh 0 --stability-score-thresh 0 --images "$work/amg-images" --out "$work/amg-batch")
# What a separate invocation costs besides its image's encoder: process start, JIT, model load and a
# decoder call, timed as `segment` from a saved embedding (no encoder run), 5 times.
start_load=$(seconds bash -c "for i in 1 2 3 4 5; do ${cli[*]} segment --model generated:vit_b --embedding $work/embed-one/img01.safetensors --point 320,240 --out $work/seg-\$i; done")
cmp -s "$work/embed-batch/img01.safetensors" "$work/embed-one/img01.safetensors" && same=yes || same=NO

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| run | images | seconds | images/hour |\n|---|---|---|---|\n'
printf '| embed, one batch | 20 | %.1f | %.0f |\n' "$batch_embed" "$(echo "20 * 3600 / $batch_embed" | bc -l)"
printf '| embed, 20 invocations | 20 | %.1f | %.0f |\n' "$separate_embed" "$(echo "20 * 3600 / $separate_embed" | bc -l)"
printf '| amg every mask, one batch | %d | %.1f | %.0f |\n' "$amg_images" "$batch_amg" "$(echo "$amg_images * 3600 / $batch_amg" | bc -l)"
printf 'start + model load of one invocation (segment from a saved embedding, mean of 5): %.2f s\n' "$(echo "$start_load / 5" | bc -l)"
printf 'batch saving per image (20 invocations - one batch) / 20: %.2f s\n' "$(echo "($separate_embed - $batch_embed) / 20" | bc -l)"
echo "batch embedding equals the single-image one: $same"
