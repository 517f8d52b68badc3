#!/usr/bin/env bash
# Everything jupyterlab-ddp needs on Debian 12 + Node 20: Debian's Python stack and Chromium,
# the npm dependencies, and the builds (bundled JupyterLab, server, extension).
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(python3-jupyter-server python3-jupyterlab-server python3-ipykernel python3-torch
  python3-cloudpickle python3-ipyparallel python3-pytest chromium
  # the Python package (pip, venv, hatchling) and the JupyterHub it is tested under
  python3-pip python3-venv python3-hatchling jupyterhub
  # the one-machine Slurm cluster of the cluster tests (scripts/slurm-testbed.sh)
  slurm-wlm munge iproute2 openssl)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "setup: please install these Debian packages first: ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

npm ci --no-audit --no-fund
npm run build
