#!/sabre/busybox sh
# Sabre init for a function from a container image (PID 1 in its read-only root): mount the virtual file
# systems, start the image's process as its config says (/sabre/process, written at build time: environment,
# user and groups, working directory, command line), say the function is ready once something listens on
# port 50051 (the image's process need not say so itself), and reboot when the process exits, which ends
# QEMU (-no-reboot), so a crash is seen at once instead of a hang.
B=/sabre/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mount -t tmpfs -o mode=1777 tmpfs /tmp
$B mount -t tmpfs tmpfs /run
FUNCTION=$($B cat /sabre/function-name)
echo "sabre: starting function $FUNCTION from its image"
$B sh /sabre/process &
PID=$!
# 50051 is C383 in /proc/net/tcp; state 0A is LISTEN.
while $B kill -0 "$PID" 2>/dev/null; do
    if $B grep -qsE '^ *[0-9]+: [0-9A-F]+:C383 [0-9A-F]+:[0-9A-F]+ 0A ' /proc/net/tcp /proc/net/tcp6; then
        echo "sabre: function $FUNCTION ready on port 50051"
        break
    fi
    $B usleep 20000
done
wait "$PID"
echo "sabre: function $FUNCTION exited with status $?"
$B reboot -f
