# shellcheck shell=bash
# Finds a JDK 21 or newer: $JAVA_HOME, then the JDKs in the system's JVM folder (newest first),
# then `java` on the PATH. Prints its home; says what to install when there is none.
# Sourced by ./tally and .ci/run.

tally_jdk_major() { # <java home> -> major version, or nothing
  local home=$1 version=""
  if [ -f "$home/release" ]; then
    version=$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$home/release")
  fi
  if [ -z "$version" ] && [ -x "$home/bin/java" ]; then
    version=$("$home/bin/java" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n 1)
  fi
  [ -n "$version" ] || return 1
  case "$version" in
    1.*) echo "${version#1.}" | cut -d. -f1 ;;
    *) echo "$version" | cut -d. -f1 | cut -d- -f1 | cut -d+ -f1 ;;
  esac
}

tally_is_jdk21() { # <java home>
  local major
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 1
  major=$(tally_jdk_major "$1") || return 1
  [ "$major" -ge 21 ] 2>/dev/null
}

tally_find_jdk() {
  if [ -n "${JAVA_HOME:-}" ] && tally_is_jdk21 "$JAVA_HOME"; then
    echo "$JAVA_HOME"; return 0
  fi
  local dir best="" best_major=0 major
  for dir in /usr/lib/jvm/*/ /usr/java/*/ /opt/java/*/; do
    dir=${dir%/}
    [ -L "$dir" ] && continue
    tally_is_jdk21 "$dir" || continue
    major=$(tally_jdk_major "$dir")
    if [ "$major" -gt "$best_major" ]; then best=$dir; best_major=$major; fi
  done
  if [ -n "$best" ]; then echo "$best"; return 0; fi
  if command -v java >/dev/null 2>&1 && command -v javac >/dev/null 2>&1; then
    local home
    home=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
    if tally_is_jdk21 "$home"; then echo "$home"; return 0; fi
  fi
  {
    echo "Tally needs a JDK 21 or newer, and none was found"
    echo "  (looked at JAVA_HOME=${JAVA_HOME:-<unset>}, /usr/lib/jvm, and java on the PATH)."
    echo "Install one (Eclipse Temurin 21 or newer, or your distribution's openjdk-21+ package),"
    echo "then run again or point JAVA_HOME at it."
  } >&2
  return 1
}
