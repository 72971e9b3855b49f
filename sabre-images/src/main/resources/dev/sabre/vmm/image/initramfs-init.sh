#!/bin/sh
# Sabre initramfs: load the virtio and ext4 modules, mount the function's root read-only,
# bring up the user-mode network (QEMU slirp: 10.0.2.15/24, gateway 10.0.2.2), switch to /sabre/init.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t proc proc /proc
mount -t sysfs sysfs /sys

fail() {
    echo "sabre-init: FATAL: $*"
    reboot -f
    sleep 10
}

for m in $(cat /modules.list); do
    insmod "/lib/modules/$m.ko" || fail "insmod $m failed"
done

i=0
while [ ! -b /dev/vda ] || [ ! -e /sys/class/net/eth0 ]; do
    i=$((i + 1))
    [ "$i" -gt 1000 ] && fail "no root disk /dev/vda or no eth0 after 10 s"
    usleep 10000
done

mount -t ext4 -o ro /dev/vda /newroot || fail "cannot mount the root file system /dev/vda"

ip link set lo up
ip link set eth0 up || fail "cannot bring up eth0"
ip addr add 10.0.2.15/24 dev eth0 || fail "cannot configure eth0"
ip route add default via 10.0.2.2 dev eth0

[ -x /newroot/sabre/init ] || fail "the root file system has no /sabre/init"
umount /proc
umount /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /sabre/init
