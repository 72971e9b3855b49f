#!/bin/sh
# Installs the Debian packages the microVM testbed (sabre-vmm) needs on the host; idempotent.
#   qemu-system-x86  QEMU microvm, the VMM            debootstrap     function root file systems
#   busybox-static   the guest initramfs              e2fsprogs       mkfs.ext4 -d
#   gcc, libc6-dev   compiling the QEMU preload bridge
#   skopeo           image transport (registries, OCI layouts, archives)   docker-registry  the tests' registry
#   buildah          building function images from Dockerfiles              python3  bcrypt (crypt) for the auth test's htpasswd
#   iproute2         ip and tc: the shaped link of bench store and e2e --link (network namespace, veth, tbf)
# (Kernel unpacking uses apt-get download + dpkg -x; XZ and cpio are handled in Java.)
set -eu
PACKAGES="qemu-system-x86 debootstrap busybox-static e2fsprogs gcc libc6-dev skopeo docker-registry buildah python3 iproute2"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
if [ -z "$missing" ]; then
  echo "sabre-vmm: host packages already installed"
  exit 0
fi
echo "sabre-vmm: installing$missing"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
