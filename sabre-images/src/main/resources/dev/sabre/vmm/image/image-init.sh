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
# True once a socket listens on port 50051 (C383 in /proc/net/tcp*; state 0A is LISTEN). Shell built-ins
# only: a fork per poll would take CPU from the process starting on the guest's one vCPU.
listening() {
    for table in /proc/net/tcp /proc/net/tcp6; do
        [ -r "$table" ] || continue
        while read -r _ local _ state _; do
            case "$local $state" in
                *:C383\ 0A) return 0 ;;
            esac
        done < "$table"
    done
    return 1
}
$B sh /sabre/process &
PID=$!
while kill -0 "$PID" 2>/dev/null; do
    if listening; then
        echo "sabre: function $FUNCTION ready on port 50051"
        break
    fi
    $B usleep 50000
done
wait "$PID"
echo "sabre: function $FUNCTION exited with status $?"
$B reboot -f
