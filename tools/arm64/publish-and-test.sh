#!/usr/bin/env bash
# Publishes the CLI for linux-arm64 (self-contained: the runtime pack comes from NuGet) and runs the
# published binary under qemu user emulation: `samengine info` must report the AdvSimd (NEON) kernels
# and `samengine parity --backend cpu` must pass on each fixture. Exits non-zero on any failure.
#
#   tools/arm64/publish-and-test.sh [FIXTURE...]   (default: tests/fixtures/tiny, odd and sam2.1_tiny)
#
# Installs qemu-user-static and the arm64 C/C++ runtime with apt-get when they are missing (as root).
# On an arm64 machine the binary runs natively. Emulated timings mean nothing: this checks correctness.
# ARM64_PUBLISH_DIR overrides the output folder (default out/linux-arm64).
set -euo pipefail
cd "$(dirname "$0")/../.."

fixtures=("$@")
[ ${#fixtures[@]} -gt 0 ] || fixtures=(tests/fixtures/tiny tests/fixtures/odd tests/fixtures/sam2.1_tiny)
out=${ARM64_PUBLISH_DIR:-out/linux-arm64}
start=$SECONDS

run=()
if [ "$(uname -m)" != aarch64 ]; then
  if ! command -v qemu-aarch64-static >/dev/null 2>&1 || [ ! -e /lib/ld-linux-aarch64.so.1 ] \
      || [ ! -e /usr/lib/aarch64-linux-gnu/libstdc++.so.6 ] || [ ! -e /usr/lib/aarch64-linux-gnu/libssl.so.3 ]; then
    if [ "$(id -u)" != 0 ]; then
      echo "arm64: qemu-user-static and the arm64 runtime libraries are missing; run as root to install them" >&2
      exit 1
    fi
    # libssl: .NET's SHA-256 (the weight fingerprint `info` prints) needs it on Linux (Debian 12: libssl3).
    packages=(qemu-user-static libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64 libssl3:arm64)
    echo "arm64: installing ${packages[*]}"
    dpkg --add-architecture arm64
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  fi
  # A cross toolchain's sysroot if there is one, else Debian's multiarch layout under /.
  prefix=/
  [ -d /usr/aarch64-linux-gnu/lib ] && prefix=/usr/aarch64-linux-gnu
  run=(qemu-aarch64-static -L "$prefix")
fi
# The arm64 libicu is not installed; the CLI formats with the invariant culture anyway. W^X (the runtime's
# double-mapped JIT pages) is off: under qemu-user it is a known source of spurious crashes.
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
[ ${#run[@]} -eq 0 ] || export DOTNET_EnableWriteXorExecute=0

echo "arm64: dotnet publish src/SamEngine.Cli -c Release -r linux-arm64 --self-contained -o $out"
dotnet publish src/SamEngine.Cli -c Release -r linux-arm64 --self-contained -o "$out" -nologo -v quiet -clp:ErrorsOnly
bin="$out/SamEngine.Cli"
echo "arm64: published $(du -sh "$out" | cut -f1) in $((SECONDS - start)) s"

# The CPU backend must have picked the NEON kernels (printed by `info` as the device).
info=$("${run[@]}" "$bin" info --model tests/fixtures/tiny/model.safetensors --arch tests/fixtures/tiny/cases.json --backend cpu)
device=$(grep '^backend ' <<<"$info")
echo "arm64: $device"
if ! grep -q 'AdvSimd, Vector128 kernels' <<<"$device"; then
  echo "arm64: the CPU backend did not choose the AdvSimd (Vector128) kernels" >&2
  exit 1
fi

failed=0
for f in "${fixtures[@]}"; do
  t=$SECONDS
  log="$out/parity-$(basename "$f").txt"
  # A run killed by a signal (exit > 128: the emulator crashing, seen once under heavy load) is tried
  # again, at most twice; a parity failure (exit 1) or a usage error (2) is final.
  for attempt in 1 2 3; do
    set +e
    "${run[@]}" "$bin" parity --fixture "$f" --backend cpu >"$log" 2>&1
    code=$?
    set -e
    [ "$code" -gt 128 ] && [ "$attempt" -lt 3 ] && [ ${#run[@]} -gt 0 ] || break
    echo "arm64: parity on $f was killed by signal $((code - 128)) under qemu; running it again" >&2
  done
  if [ "$code" -eq 0 ]; then
    echo "arm64: $(tail -1 "$log") ($((SECONDS - t)) s)"
  else
    cat "$log" >&2
    echo "arm64: parity on $f FAILED (exit $code)" >&2
    failed=1
  fi
done
echo "arm64: done in $((SECONDS - start)) s"
exit $failed
