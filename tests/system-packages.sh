#!/usr/bin/env bash
# Debian packages that some tests use, installed where apt-get may run (root on Debian/Ubuntu):
#   chromium, chromium-driver: the browser test of report.html;
#   slurmctld, slurmd, slurm-client, munge: the one-node SLURM cluster of the sweep tests.
# Never fails the test command: without them those tests skip and say why.
packages=(chromium chromium-driver slurmctld slurmd slurm-client munge)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "system-packages: not root or no apt-get: ${missing[*]} not installed (their tests skip)"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
install() { apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; }
install || { apt-get update -qq >/dev/null 2>&1 && install; } \
    || echo "system-packages: apt-get could not install ${missing[*]} (their tests skip)"
exit 0
