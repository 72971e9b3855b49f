#!/sabre/busybox sh
# Sabre function VM init (PID 1 in the function's read-only root): mount the virtual file systems,
# then run the function's gRPC server. If the server exits, the VM reboots, which ends QEMU
# (-no-reboot), so a crash is seen at once instead of a hang.
B=/sabre/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mount -t tmpfs -o mode=1777 tmpfs /tmp
$B mount -t tmpfs tmpfs /run
export HOME=/tmp PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=/sabre/function
cd /sabre/function
FUNCTION=$(cat /sabre/function-name)
echo "sabre: starting function $FUNCTION"
/usr/bin/python3 -u server.py
echo "sabre: function $FUNCTION exited with status $?"
$B reboot -f
