#!/usr/bin/env bash
# Builds the image from the repository's Dockerfile, unchanged, and checks
# that it runs, on a machine with no Docker engine (and, if need be, no
# Docker Hub):
#
#   sudo scripts/docker_check.sh            # JOBS=1 to build with cargo -j 1
#   sudo scripts/docker_check.sh --clean    # the same, then delete the cache
#
# The builder is podman from Debian's packages, daemonless: `podman build
# --isolation chroot --network host` (RUN steps in a chroot, cargo reaching
# crates.io through the host's network), the container run by runc (crun
# refuses this VM's hybrid cgroups). Everything it makes lives under
# target/docker-check/ (container storage, its own, not the system's), which
# is reused by the next run (the base images, the dependency layer) and
# deleted with --clean.
#
# Base images: the Dockerfile's FROM lines, rust:1-bookworm and
# debian:bookworm-slim, are pulled when the registry answers (a short
# timeout); when it does not, stand-ins are made under the same names from
# Debian's own packages: debootstrap --variant=minbase bookworm from the
# host's apt mirror, trimmed as Debian's -slim images are (no docs, manual
# pages or translations), and for rust:1-bookworm that plus the build tools
# and the host's rustup toolchain placed as the official image places it
# (/usr/local/rustup, /usr/local/cargo, RUSTUP_HOME, CARGO_HOME, PATH),
# with the host's local certificate authorities (a TLS-intercepting proxy's).
#
# Then it reports the image's size and runs it (a fresh volume on /data,
# ports published on 127.0.0.1 only, host ports chosen by podman) and checks:
# the native protocol (HELLO, NICK, JOIN, MSG: exact lines), the process's
# uid (10001), `chatroom --check-health` inside the container and the
# image's HEALTHCHECK, GET /healthz on the admin port (200), SIGHUP reload
# (the log line, an open connection kept), the history database in the
# volume (owned by 10001, and the message read back after a restart), and a
# clean stop on SIGTERM. Exits non-zero, saying which check failed, on any
# failure. Needs root (container storage, chroot); takes many minutes the
# first time (the toolchain's image, then a release build of every crate).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
clean=false
for arg in "$@"; do
    case "$arg" in
        --clean) clean=true ;;
        -h | --help) sed -n '2,36p' "$0"; exit 0 ;;
        *) echo "docker_check: unknown argument $arg (try --help)" >&2; exit 2 ;;
    esac
done

say() { echo "docker_check: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run it as root (container storage and chroot builds need it)"

# --- tools --------------------------------------------------------------------
need=()
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v curl >/dev/null || need+=(curl)
[ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null \
        || die "apt-get install ${need[*]}"
fi

work=${DOCKER_CHECK_DIR:-$root/target/docker-check}
mkdir -p "$work/tmp"
# Podman's large temporary files (layers being committed) stay in the cache
# directory too, not in /var/tmp.
export TMPDIR="$work/tmp"

# Overlay where the kernel allows it (fast, small), vfs (full copies) where not.
driver=${STORAGE_DRIVER:-}
if [ -z "$driver" ]; then
    if [ -d "$work/storage/vfs" ]; then
        driver=vfs
    else
        driver=overlay
        podman --root "$work/storage" --runroot "$work/run" --storage-driver overlay \
            info >/dev/null 2>&1 || driver=vfs
    fi
fi
# Podman without systemd complains at every container with a HEALTHCHECK
# that it cannot set a timer for it: that line is left out.
podman_opts=(--root "$work/storage" --runroot "$work/run" --storage-driver "$driver"
    --runtime runc --cgroup-manager cgroupfs --events-backend file)
pm() {
    podman "${podman_opts[@]}" "$@" 2> >(grep -v 'unable to get systemd connection' >&2)
}
say "podman $(podman --version | awk '{print $3}'), storage $driver in $work/storage"

# The container's limits: podman's defaults (nofile 1048576) are above what
# this machine lets a process raise to, and runc would fail; nproc likewise.
nofile=$(ulimit -Hn)
[ "$nofile" = unlimited ] && nofile=65536
[ "$nofile" -gt 65536 ] && nofile=65536
limits=(--ulimit "nofile=$nofile:$nofile" --ulimit nproc=4096:4096)

# --- base images ----------------------------------------------------------------
slim=docker.io/library/debian:bookworm-slim
rust=docker.io/library/rust:1-bookworm
standin_label=org.chatroom.docker-check.standin

# The host's Debian mirror: the first one listed for bookworm (deb822 or
# one-line sources); its security archive beside it.
apt_mirror() {
    local f uri
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -e "$f" ] || continue
        uri=$(awk '/^URIs:/ {u=$2} /^Suites:/ && / bookworm( |$)/ {print u; exit}' "$f")
        [ -n "$uri" ] && { echo "$uri"; return; }
    done
    uri=$(awk '$1=="deb" && $3=="bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    echo "${uri:-http://deb.debian.org/debian}"
}

is_standin() {
    [ "$(pm image inspect --format "{{index .Labels \"$standin_label\"}}" "$1" 2>/dev/null)" = yes ]
}

# A pull with a short timeout: on a machine that reaches Docker Hub the real
# bases are used.
try_pull() {
    say "pulling $1 (at most ${PULL_TIMEOUT:-30} s)"
    timeout "${PULL_TIMEOUT:-30}" podman "${podman_opts[@]}" pull -q "$1" >/dev/null 2>"$work/tmp/pull.err" \
        && return 0
    say "cannot pull $1: $(tail -n 1 "$work/tmp/pull.err" | cut -c1-200)"
    return 1
}

make_slim() {
    local mirror security rootfs
    mirror=$(apt_mirror)
    security=${mirror%/debian}/debian-security
    [ "$security" = "$mirror/debian-security" ] && security=http://deb.debian.org/debian-security
    rootfs="$work/tmp/slim-rootfs"
    rm -rf "$rootfs"
    say "stand-in $slim: debootstrap --variant=minbase bookworm from $mirror"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/tmp/debootstrap.log" 2>&1 \
        || { tail -n 20 "$work/tmp/debootstrap.log" >&2; die "debootstrap"; }
    # Trimmed as Debian's -slim images are, and kept so by dpkg.
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
    cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
    rm -f "$rootfs/etc/apt/sources.list"
    cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
    find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$rootfs"/usr/share/{groff,info,linda,locale,man}/* "$rootfs"/usr/share/lintian/overrides/* \
        "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/log/* \
        "$rootfs"/var/cache/debconf/*-old "$rootfs"/etc/hostname "$rootfs"/etc/resolv.conf
    tar -C "$rootfs" --numeric-owner -cf - . | pm import -q \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' \
        --change "LABEL $standin_label=yes" \
        - "$slim" >/dev/null || die "podman import of the bookworm-slim stand-in"
    rm -rf "$rootfs"
}

make_rust() {
    local sysroot version host toolchain ctx
    command -v rustc >/dev/null && command -v rustup >/dev/null \
        || die "no rustup toolchain on this machine to put in the rust:1-bookworm stand-in"
    sysroot=$(rustc --print sysroot)
    version=$(rustc --version | awk '{print $2}')
    host=$(rustc -vV | awk '/^host:/ {print $2}')
    toolchain="$version-$host"
    ctx="$work/tmp/rust-context"
    rm -rf "$ctx"
    mkdir -p "$ctx/toolchain"
    say "stand-in $rust: bookworm-slim + build tools + rust $toolchain from $sysroot"
    # The toolchain without its documentation; hard links where possible.
    for d in bin etc lib libexec; do
        [ -e "$sysroot/$d" ] && { cp -al "$sysroot/$d" "$ctx/toolchain/" 2>/dev/null \
            || cp -a "$sysroot/$d" "$ctx/toolchain/"; }
    done
    cp "$(command -v rustup)" "$ctx/rustup"
    # The host's own certificate authorities (Debian's place for them), so
    # that cargo in the build reaches crates.io as the host does, through a
    # TLS-intercepting proxy if there is one.
    mkdir -p "$ctx/local-ca"
    find /usr/local/share/ca-certificates -name '*.crt' -exec cp {} "$ctx/local-ca/" \; 2>/dev/null || true
    cat >"$ctx/settings.toml" <<EOF
version = "12"
default_toolchain = "$toolchain"
profile = "minimal"
EOF
    cat >"$ctx/Containerfile" <<EOF
FROM $slim
LABEL $standin_label=yes
ENV RUSTUP_HOME=/usr/local/rustup \\
    CARGO_HOME=/usr/local/cargo \\
    PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    RUST_VERSION=$version
RUN apt-get update \\
    && apt-get install -y --no-install-recommends ca-certificates curl git gcc g++ \\
       libc6-dev make pkg-config libssl-dev xz-utils \\
    && rm -rf /var/lib/apt/lists/*
COPY local-ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates
COPY toolchain /usr/local/rustup/toolchains/$toolchain
COPY settings.toml /usr/local/rustup/settings.toml
COPY rustup /usr/local/cargo/bin/rustup
RUN cd /usr/local/cargo/bin \\
    && for p in cargo rustc rustdoc cargo-clippy clippy-driver rustfmt cargo-fmt \\
       rust-gdb rust-gdbgui rust-lldb; do ln -s rustup \$p; done \\
    && chmod -R a+w "\$RUSTUP_HOME" "\$CARGO_HOME" \\
    && rustup --version && cargo --version && rustc --version
EOF
    pm build -q --isolation chroot --network host --pull=never --format docker \
        -t "$rust" "$ctx" >/dev/null || die "building the rust:1-bookworm stand-in"
    rm -rf "$ctx"
}

base_image() {
    local name=$1 make=$2
    if pm image exists "$name"; then
        if is_standin "$name"; then
            say "$name: the stand-in made by an earlier run"
        else
            say "$name: pulled by an earlier run"
        fi
        return
    fi
    try_pull "$name" && return
    "$make"
}

base_image "$slim" make_slim
base_image "$rust" make_rust
for image in "$slim" "$rust"; do
    is_standin "$image" && say "$image: STAND-IN (made here from Debian's packages)"
done

# --- the image ------------------------------------------------------------------
image=localhost/chatroom:docker-check
jobs=()
[ -n "${JOBS:-}" ] && jobs=(--build-arg "CARGO_BUILD_JOBS=$JOBS")
say "building $image from $root/Dockerfile (this takes a while the first time)"
previous=$(pm image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
started=$(date +%s)
pm build --isolation chroot --network host --pull=never --format docker --layers \
    "${jobs[@]}" -t "$image" -f "$root/Dockerfile" "$root" >"$work/build.log" 2>&1 \
    || { tail -n 40 "$work/build.log" >&2; die "podman build (whole log: $work/build.log)"; }
say "built in $(($(date +%s) - started)) s"
# The image this build replaced; the build stage's layers stay, as the
# cache of the next run (--clean deletes them).
if [ -n "$previous" ] && [ "$previous" != "$(pm image inspect --format '{{.Id}}' "$image")" ]; then
    pm rmi "$previous" >/dev/null 2>&1 || true
fi

size=$(pm image inspect --format '{{.Size}}' "$image")
slim_size=$(pm image inspect --format '{{.Size}}' "$slim")
binary=$(pm run --rm --no-healthcheck "${limits[@]}" --entrypoint stat "$image" -c %s /usr/local/bin/chatroom)
mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }
echo "image size: $(mib "$size") ($size bytes): base bookworm-slim $(mib "$slim_size"), chatroom binary $(mib "$binary")"
libs=$(pm run --rm --no-healthcheck "${limits[@]}" --entrypoint /usr/bin/ldd "$image" /usr/local/bin/chatroom 2>"$work/tmp/ldd.err") \
    || die "ldd in the image: $libs $(cat "$work/tmp/ldd.err")"
if grep -q 'not found' <<<"$libs"; then die "shared libraries missing in the image: $libs"; fi
echo "shared libraries: $(awk '{print $1}' <<<"$libs" | tr '\n' ' ')"

# --- run it -----------------------------------------------------------------------
name=chatroom-docker-check-$$
volume=chatroom-docker-check-$$
cleanup() {
    exec 4>&-
    pm rm -f -t 5 "$name" >/dev/null 2>&1 || true
    pm volume rm -f "$volume" >/dev/null 2>&1 || true
    rm -rf "$work/tmp"
    if $clean; then
        # Not `podman system reset`: that would also remove the networks
        # the system's podman has configured.
        pm rm -a -f >/dev/null 2>&1 || true
        pm rmi -a -f >/dev/null 2>&1 || true
        pm volume prune -f >/dev/null 2>&1 || true
        # podman's own clean-up of a stopped container may still be
        # writing there for a moment: a second try.
        if rm -rf "$work" 2>/dev/null || { sleep 2; rm -rf "$work"; }; then
            say "deleted $work"
        else
            say "could not delete all of $work"
        fi
    fi
}
trap cleanup EXIT
# The server's log (stderr), without its colours.
logs() { pm logs "$name" 2>&1 | sed 's/\x1b\[[0-9;]*m//g'; }
fail() {
    echo "--- the container's log (last 40 lines):" >&2
    logs | tail -n 40 >&2 || true
    say "FAILED: $*"
    exit 1
}

pm volume create "$volume" >/dev/null
pm run -d --name "$name" "${limits[@]}" -v "$volume:/data" \
    -p 127.0.0.1::5555 -p 127.0.0.1::9555 "$image" >/dev/null \
    || die "podman run"
port_of() { pm port "$name" "$1/tcp" | head -n 1 | sed 's/.*://'; }
native=$(port_of 5555)
admin=$(port_of 9555)
[ -n "$native" ] && [ -n "$admin" ] || fail "no published ports"
say "running $name: native 127.0.0.1:$native, admin 127.0.0.1:$admin"

# Ready when /healthz answers (listeners bound, database open).
status=
for _ in $(seq 1 100); do
    status=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$admin/healthz" || true)
    [ "$status" = 200 ] && break
    pm container exists "$name" && [ "$(pm inspect -f '{{.State.Running}}' "$name")" = true ] \
        || fail "the container stopped"
    sleep 0.1
done
[ "$status" = 200 ] || fail "GET /healthz: $status, not 200"
echo "ok: GET /healthz on the admin port: 200"

# A line from the server (CR LF or LF), within 5 s.
recv() {
    local line
    IFS= read -r -t 5 line <&"$1" || fail "no line from the server (expected: $2)"
    line=${line%$'\r'}
    [ "$line" = "$2" ] || fail "expected '$2', got '$line'"
}
recv_like() {
    local line
    IFS= read -r -t 5 line <&"$1" || fail "no line from the server (expected: $2)"
    line=${line%$'\r'}
    # shellcheck disable=SC2053
    [[ $line == $2 ]] || fail "expected a line like '$2', got '$line'"
}
send() { printf '%s\r\n' "$2" >&"$1"; }
version=$(awk -F'"' '/^version *=/ {print $2; exit}' "$root/Cargo.toml")
hello="HELLO chatroom $version Welcome! Pick a nickname: NICK <name>"

# On descriptor 4: the greeting, then whale's NICK and JOIN #docker (what
# follows the NAMES line is the caller's to read).
whale_joins() {
    recv 4 "$hello"
    send 4 "NICK whale"
    recv 4 "OK NICK whale"
    send 4 "JOIN #docker"
    recv 4 "JOIN #docker whale"
    recv 4 "NAMES #docker whale"
}

exec 4<>"/dev/tcp/127.0.0.1/$native" || fail "connect to 127.0.0.1:$native"
whale_joins
recv 4 "OK JOIN #docker"
send 4 "MSG #docker hello from the container"
recv 4 "OK MSG #docker"
echo "ok: native protocol: HELLO, NICK, JOIN, MSG answered with the exact lines"

uid=$(pm exec "$name" awk '/^Uid:/ {print $2 "/" $3 "/" $4 "/" $5}' /proc/1/status)
[ "$uid" = "10001/10001/10001/10001" ] || fail "the server runs as uid $uid, not 10001"
echo "ok: the server (pid 1) runs as uid 10001"

out=$(pm exec "$name" chatroom --config /etc/chatroom/chatroom.toml --check-health 2>&1) \
    || fail "chatroom --check-health in the container: $out"
echo "ok: chatroom --check-health in the container exits 0 ($out)"
hc=$(pm inspect -f '{{json .Config.Healthcheck.Test}}' "$name")
out=$(pm healthcheck run "$name" 2>&1) || fail "the image's HEALTHCHECK $hc: $out"
echo "ok: the image's HEALTHCHECK passes: $hc"

pm kill --signal HUP "$name" >/dev/null || fail "podman kill --signal HUP"
reloaded=false
for _ in $(seq 1 50); do
    logs | grep -q 'configuration reloaded' && { reloaded=true; break; }
    sleep 0.1
done
$reloaded || fail "no 'configuration reloaded' in the log after SIGHUP"
send 4 "PING after-reload"
recv 4 "PONG after-reload"
echo "ok: SIGHUP: '$(logs | grep 'configuration reloaded' | tail -n 1 | sed 's/^.*INFO //')'; the open connection still answers"
send 4 "QUIT"
recv 4 "OK QUIT"
exec 4>&-

mount=$(pm volume inspect -f '{{.Mountpoint}}' "$volume")
db="$mount/data/history.db"
[ -f "$db" ] || fail "no data/history.db in the volume ($(find "$mount" | head -n 20 | tr '\n' ' '))"
owner=$(stat -c %u:%g "$db")
[ "$owner" = 10001:10001 ] || fail "data/history.db in the volume is owned by $owner, not 10001:10001"
echo "ok: the volume holds data/history.db, owner 10001:10001 ($(cd "$mount" && find . -type f -printf '%P %s B, ' | sed 's/, $//'))"

pm stop -t 10 "$name" >/dev/null || fail "podman stop"
code=$(pm inspect -f '{{.State.ExitCode}}' "$name")
[ "$code" = 0 ] || fail "exit code $code after SIGTERM"
logs | grep -q 'exiting' || fail "no 'exiting' in the log after SIGTERM"
echo "ok: SIGTERM: the server logs 'exiting' and exits 0"

# The message outlives the container's process: a restart reads it back.
pm start "$name" >/dev/null || fail "podman start"
native=$(port_of 5555)
for _ in $(seq 1 100); do
    exec 4<>"/dev/tcp/127.0.0.1/$native" 2>/dev/null && break
    sleep 0.1
done
whale_joins
recv_like 4 "HISTORY #docker *Z whale hello from the container"
recv 4 "OK JOIN #docker"
send 4 "QUIT"
recv 4 "OK QUIT"
exec 4>&-
echo "ok: after a restart the room's history comes back from the volume"

pm stop -t 10 "$name" >/dev/null
pm rm "$name" >/dev/null
pm volume rm "$volume" >/dev/null
echo "docker_check: all checks passed (image $image, $(mib "$size"))"
