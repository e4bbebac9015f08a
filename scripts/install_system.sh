#!/usr/bin/env bash
# Installs, from Debian's (or Ubuntu's) packages, only the system tools that are missing, one
# decision per tool; a tool already on the machine is never replaced or upgraded.
#
#   scripts/install_system.sh node chromium chromedriver lavapipe
#
#   node          Node.js >= 18 and npm. `nodejs` only when there is no Node.js >= 18; `npm` only when
#                 no npm is on PATH (NodeSource's nodejs bundles npm, and apt refuses Debian's npm
#                 beside it: "nodejs : Conflicts: npm").
#   chromium      /usr/bin/chromium (the browser tests drive it headless, WebGPU on SwiftShader).
#   chromedriver  /usr/bin/chromedriver (wasm-bindgen-test-runner drives Chromium through it).
#   lavapipe      Mesa's software Vulkan driver (native wgpu tests on a machine without a GPU).
#   python3       Python 3 (the site's build script and `make demo`'s static server).
#
# Runs apt-get as root, or through sudo otherwise; apt-get update runs once, and only when
# something is to be installed.
set -euo pipefail

packages=()
want() { packages+=("$@"); }

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

for tool in "$@"; do
  case "$tool" in
    node)
      if [ "$(node_major)" -lt 18 ]; then
        want nodejs
        command -v npm >/dev/null || want npm
      elif ! command -v npm >/dev/null; then
        want npm
      fi
      ;;
    chromium)
      [ -x /usr/bin/chromium ] || want chromium
      ;;
    chromedriver)
      [ -x /usr/bin/chromedriver ] || want chromium-driver
      ;;
    lavapipe)
      compgen -G "/usr/share/vulkan/icd.d/lvp_icd.*.json" >/dev/null || want mesa-vulkan-drivers
      ;;
    python3)
      command -v python3 >/dev/null || want python3
      ;;
    *)
      echo "install_system.sh: unknown tool '$tool'" >&2
      exit 2
      ;;
  esac
done

if [ ${#packages[@]} -eq 0 ]; then
  echo "system tools: all present ($*)"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "system tools: installing ${packages[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${packages[@]}"
