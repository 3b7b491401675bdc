#!/bin/bash
# PID 1 of a user-mode Linux kernel (tests/interop/uml.py) booted with the host's / as
# its root (hostfs): mounts what a test needs, loads the modules the host kernel lacks
# (ESP, GCM, veth, tunnel devices load on demand), runs the script $UMLCMD and writes its exit
# status to $UMLOUT/rc, then powers off. Everything written outside the tmpfs mounts
# below lands on the host's filesystem.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mountpoint -q /dev || mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm 2>/dev/null
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run  # private /var/run: DPDK's runtime dir, charon's pid file
mkdir -p /run/lock /run/netns
# The host has no module tree for this kernel; modprobe and the kernel's on-demand
# loading are pointed at the package's, mounted under /run (nothing on the host changes).
mkdir -p /run/modroot/lib/modules
mount -t hostfs -o /usr/lib/uml/modules none /run/modroot/lib/modules
printf '#!/bin/sh\nexec /sbin/modprobe -d /run/modroot "$@"\n' > /run/modprobe
chmod +x /run/modprobe
echo /run/modprobe > /proc/sys/kernel/modprobe
/run/modprobe -a ipv6 xfrm_user esp4 esp6 gcm seqiv ctr ghash-generic veth af_packet 2>&1 |
  grep -v '^$'
ip link set lo up
hostname uml
echo "uml: running $UMLCMD (up $(cut -d' ' -f1 /proc/uptime) s)"
/bin/bash "$UMLCMD"
rc=$?
echo "$rc" > "$UMLOUT/rc"
echo "uml: exit status $rc (up $(cut -d' ' -f1 /proc/uptime) s)"
sync
poweroff -f
