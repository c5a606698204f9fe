# The first moments of a kdp container, run by /bin/sh as root, as pid 1 of the container's own
# pid and mount namespaces (unshare(1) made every mount private and mounted a fresh /proc); see
# isolation.ts. It makes the host's filesystem read-only, gives the container its own /dev and
# /tmp, covers kdp's state with empty file systems except what the container may see, then becomes
# the container's user through setpriv(1). Any failure ends the container before it runs.
#
#   isolation-setup.sh MODE DIR DIR_ACCESS WORKLOADS RESOLV N HIDDEN_1 .. HIDDEN_N -- COMMAND...
#
# MODE isolated|privileged (privileged keeps the host's /dev and writable mounts); DIR the
# container's own directory, mounted DIR_ACCESS (rw|ro); WORKLOADS a directory shown read-only
# ('' for none); RESOLV a file shown read-only over /etc/resolv.conf in this mount namespace only
# (the pod's DNS settings; '' keeps the host's); HIDDEN paths covered by an empty tmpfs. Every value comes as an argument, never
# as script text.
set -euf
ifs=$IFS
mode=$1 dir=$2 dir_access=$3 workloads=$4 resolv=$5 count=$6
shift 6
hidden=''
while [ "$count" -gt 0 ]; do
  hidden="$hidden$1
"
  shift
  count=$((count - 1))
done
if [ "${1:-}" != -- ]; then
  echo 'kdp container set-up: bad arguments' >&2
  exit 125
fi
shift
nl='
'

# The directories to show are opened before anything covers them.
exec 3<"$dir"
if [ -n "$workloads" ]; then exec 4<"$workloads"; fi
if [ -n "$resolv" ]; then exec 5<"$resolv"; fi

skipped() {
  case $1 in /dev/*) [ "$mode" = isolated ] && return 0 ;; esac
  IFS=$nl
  for h in $hidden; do
    case $1 in "$h"/*)
      IFS=$ifs
      return 0
      ;;
    esac
  done
  IFS=$ifs
  return 1
}

# Namespace files (/run/netns/*) are let go first, in every mode: a copy of one in this mount
# namespace would keep that network namespace, its veth and its routes alive after `ip netns del`
# for as long as the container runs.
nsfs=$(grep ' - nsfs ' /proc/self/mountinfo | cut -d ' ' -f 5) || :
IFS=$nl
for mp in $nsfs; do
  case $mp in *\\*) mp=$(printf '%b' "$mp") ;; esac # mountinfo escapes blanks in octal
  umount --lazy "$mp" 2>/dev/null || : # gone already, or under another: nothing to keep
done
IFS=$ifs

if [ "$mode" = isolated ]; then
  # Read-only, one mount at a time: util-linux 2.38 has no recursive read-only bind. A remount
  # with `bind` changes this namespace's mount only, never the file system (the host keeps rw).
  mounts=$(cut -d ' ' -f 5,6 /proc/self/mountinfo) # read once: remounting changes the file
  while read -r mp opts; do
    case $mp in *\\*) mp=$(printf '%b' "$mp") ;; esac
    skipped "$mp" && continue
    mount -o "remount,bind,$opts,ro,nosuid,nodev" "$mp"
  done <<EOF
$mounts
EOF

  mount -t tmpfs -o mode=0755,nosuid,noexec,size=64k kdp-dev /dev
  mknod -m 666 /dev/null c 1 3
  mknod -m 666 /dev/zero c 1 5
  mknod -m 666 /dev/full c 1 7
  mknod -m 666 /dev/random c 1 8
  mknod -m 666 /dev/urandom c 1 9
  mknod -m 666 /dev/tty c 5 0
  ln -s /proc/self/fd /dev/fd
  ln -s /proc/self/fd/0 /dev/stdin
  ln -s /proc/self/fd/1 /dev/stdout
  ln -s /proc/self/fd/2 /dev/stderr
  mkdir /dev/shm
  mount -t tmpfs -o mode=1777,nosuid,nodev,noexec,size=64m kdp-shm /dev/shm
  mount -o remount,bind,ro,nosuid,noexec /dev
fi

mount -t tmpfs -o mode=1777,nosuid,nodev,size=64m kdp-tmp /tmp

covered=''
IFS=$nl
for h in $hidden; do
  if [ -d "$h" ]; then
    mount -t tmpfs -o mode=0755,nosuid,nodev,noexec,size=64k kdp-hidden "$h"
    covered="$covered$h$nl"
  fi
done
IFS=$ifs

show() { # fd path access
  mkdir -p "$2"
  mount --no-canonicalize --bind "/proc/self/fd/$1" "$2"
  mount -o "remount,bind,$3,nosuid,nodev" "$2"
}
show 3 "$dir" "$dir_access"
if [ -n "$workloads" ]; then show 4 "$workloads" ro; fi
# The pod's resolv.conf over the host's, here only: the host's file is never written.
if [ -n "$resolv" ]; then
  mount --no-canonicalize --bind /proc/self/fd/5 /etc/resolv.conf
  mount -o remount,bind,ro,nosuid,nodev /etc/resolv.conf
fi
exec 3<&- 4<&- 5<&-

IFS=$nl
for h in $covered; do mount -o remount,bind,ro,nosuid,nodev,noexec "$h"; done
IFS=$ifs
# Private /tmp; read-only too with readOnlyRootFilesystem, as a container image's /tmp would be
# (only now: what was shown may have needed directories made in it).
if [ "$dir_access" = ro ]; then mount -o remount,bind,ro,nosuid,nodev /tmp; fi

exec "$@"
