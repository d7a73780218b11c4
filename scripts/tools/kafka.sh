#!/usr/bin/env bash
# Real Apache Kafka (KRaft, combined broker+controller) from Maven Central jars, for the tests.
# Prints the directory holding libs/ (the runtime classpath) and log4j2.yaml.
set -euo pipefail
source "$(dirname "$0")/cache-dir.sh"
KAFKA_VERSION="${KAFKA_VERSION:-4.3.1}"
LOG4J_VERSION=2.25.3
dest="$SIGNALINK_TOOLS/kafka-$KAFKA_VERSION"
if [ -f "$dest/.complete" ]; then echo "$dest"; exit 0; fi

command -v mvn >/dev/null || { echo "kafka.sh: Maven (mvn) and Java 17 are needed" >&2; exit 1; }
work=$(mktemp -d "$SIGNALINK_TOOLS/.kafka-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
cat >"$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.signalink.tools</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
POM
echo "kafka.sh: collecting Kafka $KAFKA_VERSION jars from Maven Central" >&2
mvn -q -B -f "$work/pom.xml" -Dmaven.repo.local="$SIGNALINK_TOOLS/maven-repo" \
  dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$work/out/libs" >&2
# Warnings and errors only, to stderr: the harness keeps the tail for its error messages.
cat >"$work/out/log4j2.properties" <<'LOG'
status = warn
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.err.ref = STDERR
LOG
touch "$work/out/.complete"
rm -rf "$dest"
mv "$work/out" "$dest"
echo "$dest"
