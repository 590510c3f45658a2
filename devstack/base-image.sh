#!/usr/bin/env bash
# Builds a Java runtime base image as a tarball (docker-archive format, what `docker save` writes) from the JDK on
# this machine, without a container engine or a registry: a jlink'd runtime under /opt/java/openjdk, the C libraries
# it links against, a non-root user (10001) and a writable /tmp. For machines that cannot pull the default base
# (eclipse-temurin:21-jre):
#   ./tally base-image            -> .tally/images/tally-jre-base.tar
#   ./mvnw -B -Pimages package -Dtally.image.base=tar://$PWD/.tally/images/tally-jre-base.tar
# Reproducible: every file is stamped with the epoch and owned by root, entries sorted.
set -euo pipefail

java_home=$1
out=$2

for tool in jlink tar sha256sum ldd; do
  if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "$java_home/bin/$tool" ]; then
    echo "base-image: $tool is needed and not found" >&2
    exit 1
  fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root/opt/java" "$root/etc" "$root/tmp" "$root/lib64" "$root/lib/x86_64-linux-gnu"
chmod 1777 "$root/tmp"

# The modules Micronaut, Netty, Kafka, Lettuce, the PostgreSQL driver and Jackson use (java.desktop: java.beans).
modules=java.base,java.compiler,java.desktop,java.instrument,java.logging,java.management,java.naming,java.net.http
modules=$modules,java.scripting,java.security.jgss,java.security.sasl,java.sql,java.transaction.xa,java.xml,jdk.crypto.ec
modules=$modules,jdk.management,jdk.naming.dns,jdk.net,jdk.unsupported,jdk.zipfs,jdk.jfr
echo "base-image: jlink from $java_home"
"$java_home/bin/jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages --compress zip-6 \
  --output "$root/opt/java/openjdk"

# The shared libraries the runtime links against, and the dynamic loader.
{
  ldd "$root/opt/java/openjdk/bin/java"
  find "$root/opt/java/openjdk/lib" -name '*.so' -exec ldd {} \; 2>/dev/null
} | awk '/=> \// {print $3} /^\s*\/lib64\// {print $1}' | sort -u | while read -r lib; do
  case "$lib" in
    "$root"*) ;;
    *) mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib" ;;
  esac
done
cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"

cat > "$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
tally:x:10001:10001:tally:/tmp:/sbin/nologin
EOF
cat > "$root/etc/group" <<'EOF'
root:x:0:
tally:x:10001:
EOF
: > "$root/etc/nsswitch.conf"
echo "hosts: files dns" > "$root/etc/nsswitch.conf"

layer=$work/layer.tar
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=posix \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -cf "$layer" -C "$root" .
diff_id=sha256:$(sha256sum "$layer" | cut -d' ' -f1)
layer_name=$(echo "$diff_id" | cut -d: -f2).tar
mkdir -p "$work/image"
mv "$layer" "$work/image/$layer_name"

cat > "$work/image/config.json" <<EOF
{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z",
 "config":{"User":"10001:10001","WorkingDir":"/tmp",
  "Env":["PATH=/opt/java/openjdk/bin:/usr/bin:/bin","JAVA_HOME=/opt/java/openjdk","LANG=C.UTF-8"]},
 "rootfs":{"type":"layers","diff_ids":["$diff_id"]},
 "history":[{"created":"1970-01-01T00:00:00Z","created_by":"tally base-image: jlink runtime of $("$java_home/bin/java" -version 2>&1 | head -n 1 | tr -d '"')"}]}
EOF
config_name=$(sha256sum "$work/image/config.json" | cut -d' ' -f1).json
mv "$work/image/config.json" "$work/image/$config_name"
cat > "$work/image/manifest.json" <<EOF
[{"Config":"$config_name","RepoTags":["tally/jre-base:local"],"Layers":["$layer_name"]}]
EOF

mkdir -p "$(dirname "$out")"
# Entries by name (no "./" prefix: readers such as Jib refuse paths that are not plain names).
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$out" -C "$work/image" manifest.json "$config_name" "$layer_name"
echo "base-image: wrote $out ($(du -h "$out" | cut -f1)); build the images with"
echo "  ./mvnw -B -Pimages package -Dtally.image.base=tar://$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
