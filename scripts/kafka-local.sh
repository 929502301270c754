#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft) for tests and CI, run from its Maven Central
# jars because there is no Docker engine on the build machines.
#
#   bash scripts/kafka-local.sh start|stop|status
#
# Environment (all optional):
#   KAFKA_VERSION          @default 4.1.1 (3.9.x also works: it logs through reload4j)
#   KAFKA_PORT             client listener port            @default 9092
#   KAFKA_CONTROLLER_PORT  KRaft controller listener port  @default 9093
#   KAFKA_HOME             cache folder for jars and runs  @default <cwd>/.cache/kafka-local
#   KAFKA_START_TIMEOUT    seconds to wait for readiness   @default 120
#   KAFKA_STOP_TIMEOUT     seconds before SIGKILL          @default 30
#   KAFKA_HEAP_OPTS        JVM heap flags                  @default -Xms256m -Xmx1g
#   KAFKA_MAVEN_REPO       Maven local repository          @default Maven's own (~/.m2/repository)
#   KAFKA_OWNER_PID        stop the broker when this process exits (test runs that may be killed)
#   KAFKA_KEEP_DATA        1: `stop` keeps the data and `start` restarts on it (a broker restart
#                          that keeps its topics); otherwise every start is an empty broker
#
# On start it prints `KAFKA_BROKERS=127.0.0.1:<port>` as its last line.
set -euo pipefail
cmd="${1:-start}"
SCRIPT="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"

KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
KAFKA_HOME="${KAFKA_HOME:-$PWD/.cache/kafka-local}"
# 127.0.0.1, never localhost: the broker binds IPv4 only and localhost may resolve to ::1 first.
HOST=127.0.0.1
PORT="${KAFKA_PORT:-9092}"
CPORT="${KAFKA_CONTROLLER_PORT:-9093}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"

VDIR="$KAFKA_HOME/$KAFKA_VERSION"
LIB="$VDIR/lib"
# One run folder per client port, so a test broker on a free port never touches the CI broker.
RUN="$KAFKA_HOME/run-$PORT"
DATA="$RUN/data"
LOGS="$RUN/logs"
CONF="$RUN/conf"
PIDFILE="$RUN/kafka.pid"

case "$KAFKA_VERSION" in
  3.*)         LOGGING=reload4j ;;
  4.0.*|4.1.*) LOGGING=log4j2; L4J="${LOG4J2_VERSION:-2.24.3}" ;;
  4.2.*)       LOGGING=log4j2; L4J="${LOG4J2_VERSION:-2.25.3}" ;;
  *)           LOGGING=log4j2; L4J="${LOG4J2_VERSION:-2.25.5}" ;;
esac

say() { echo "kafka-local: $*"; }
die() { echo "kafka-local: $*" >&2; exit 1; }

log_tail() {
  local f
  for f in "$LOGS/kafka.out" "$LOGS/server.log"; do
    if [ -f "$f" ]; then echo "--- tail of $f" >&2; tail -n 60 "$f" >&2; fi
  done
}

# node is always present here; it avoids differences between nc builds and bash /dev/tcp.
port_open() {
  node -e "const s=require('net').connect($1,'$HOST');s.on('connect',()=>{s.end();process.exit(0)});s.on('error',()=>process.exit(1));setTimeout(()=>process.exit(1),1000)"
}

running_pid() {
  if [ -f "$PIDFILE" ]; then
    local pid
    pid="$(cat "$PIDFILE")"
    if kill -0 "$pid" 2>/dev/null; then echo "$pid"; return 0; fi
  fi
  return 1
}

resolve_jars() {
  if [ -f "$LIB/.complete" ]; then return 0; fi
  mkdir -p "$KAFKA_HOME"
  # Two test runs starting at once must not both rewrite the same lib folder.
  if command -v flock >/dev/null; then
    exec 9>"$KAFKA_HOME/.resolve-$KAFKA_VERSION.lock"
    flock -w 600 9 || die "timed out waiting for another jar download"
    if [ -f "$LIB/.complete" ]; then exec 9>&-; return 0; fi
  fi
  command -v mvn >/dev/null || die "mvn not found: install Maven 3.8+ (apt-get install maven)"
  mkdir -p "$VDIR"
  local logdeps
  if [ "$LOGGING" = reload4j ]; then
    logdeps='<dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
    <dependency><groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>1.2.25</version></dependency>'
  else
    logdeps="<dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-api</artifactId><version>$L4J</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$L4J</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$L4J</version></dependency>"
  fi
  # The kafka_2.13 POM carries only slf4j-api: without a logging backend there is no
  # server.log, and the readiness check below would never succeed.
  cat > "$VDIR/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.test</groupId><artifactId>kafka-local-runtime</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    $logdeps
  </dependencies>
  <build><plugins><plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId><version>3.6.1</version></plugin></plugins></build>
</project>
EOF
  rm -rf "$LIB"
  say "resolving Kafka $KAFKA_VERSION jars from Maven Central (first run only)"
  local repo_opt=()
  if [ -n "${KAFKA_MAVEN_REPO:-}" ]; then repo_opt=("-Dmaven.repo.local=$KAFKA_MAVEN_REPO"); fi
  mvn -B -q "${repo_opt[@]}" -f "$VDIR/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -Dmdep.prependGroupId=true -DoutputDirectory="$LIB" \
    || die "mvn could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION (is Maven Central reachable?)"
  ls "$LIB"/*kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 || die "kafka_2.13-$KAFKA_VERSION.jar missing from $LIB"
  touch "$LIB/.complete"
  # Close the lock: the broker started next would otherwise inherit it and hold it for its lifetime.
  exec 9>&- 2>/dev/null || true
}

write_conf() {
  mkdir -p "$CONF" "$LOGS" "$DATA"
  cat > "$CONF/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CPORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CPORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
delete.topic.enable=true
log.message.timestamp.after.max.ms=9223372036854775807
num.network.threads=2
num.io.threads=4
log.cleaner.dedupe.buffer.size=33554432
EOF
  if [ "$LOGGING" = log4j2 ]; then
    printf '%s\n' 'share.coordinator.state.topic.replication.factor=1' 'share.coordinator.state.topic.min.isr=1' >> "$CONF/server.properties"
    cat > "$CONF/log4j2.properties" <<'EOF'
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.req.name = kafka.request.logger
logger.req.level = WARN
logger.sc.name = state.change.logger
logger.sc.level = WARN
EOF
    LOG_OPTS="-Dlog4j2.configurationFile=$CONF/log4j2.properties"
  else
    cat > "$CONF/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=${kafka.logs.dir}/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
EOF
    LOG_OPTS="-Dlog4j.configuration=file:$CONF/log4j.properties"
  fi
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then rm -f "$PIDFILE"; say "not running (port $PORT)"; return 0; fi
  # kafka.Kafka registers a shutdown hook; kafka-server-stop.sh also just sends SIGTERM.
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for i in $(seq 1 $((STOP_TIMEOUT * 2))); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then say "SIGKILL after ${STOP_TIMEOUT}s"; kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$PIDFILE"
  # Data is wiped on every start anyway; keep only the logs for a post-mortem.
  [ "${KAFKA_KEEP_DATA:-0}" = 1 ] || rm -rf "$DATA"
  say "stopped (port $PORT)"
}

start() {
  local jv
  command -v java >/dev/null || die "java not found: Kafka $KAFKA_VERSION needs Java 17+"
  jv="$(java -version 2>&1 | sed -E -n 's/.* version "([0-9]+).*/\1/p' | head -n1)"
  [ "${jv:-0}" -ge 17 ] || die "need Java 17+, found '${jv}'"
  if running_pid >/dev/null; then say "already running on $HOST:$PORT"; echo "KAFKA_BROKERS=$HOST:$PORT"; return 0; fi
  if port_open "$PORT"; then die "$HOST:$PORT already in use (set KAFKA_PORT)"; fi
  if port_open "$CPORT"; then die "$HOST:$CPORT already in use (set KAFKA_CONTROLLER_PORT)"; fi
  resolve_jars
  local cp="$LIB/*" cluster_id
  if [ "${KAFKA_KEEP_DATA:-0}" = 1 ] && [ -f "$DATA/meta.properties" ]; then
    say "restarting on the kept data in $DATA"
    write_conf
  else
    # A fresh data dir on every start: tests rely on an empty broker, and a stale KRaft
    # metadata log from another cluster id would refuse to load.
    rm -rf "$RUN"
    write_conf
    cluster_id="$(java -Xmx256m $LOG_OPTS -Dkafka.logs.dir="$LOGS" -cp "$cp" kafka.tools.StorageTool random-uuid | tail -n1)"
    # Static quorum (controller.quorum.voters): no --standalone, which 4.x rejects with voters.
    java -Xmx256m $LOG_OPTS -Dkafka.logs.dir="$LOGS" -cp "$cp" kafka.tools.StorageTool \
         format -t "$cluster_id" -c "$CONF/server.properties" --ignore-formatted > "$LOGS/format.out" 2>&1 \
      || { cat "$LOGS/format.out" >&2; die "storage format failed"; }
  fi
  # On a restart with kept data the log already says "started": wait for one more such line.
  local started_before
  started_before="$(grep -c 'Kafka Server started' "$LOGS/server.log" 2>/dev/null || true)"
  local heap="${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}"
  local jvm="-XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true -XX:+ExitOnOutOfMemoryError"
  # setsid: the broker must not die with the shell that started it (vitest globalSetup, CI step).
  # shellcheck disable=SC2086
  setsid nohup java $heap $jvm $LOG_OPTS -Dkafka.logs.dir="$LOGS" -cp "$cp" kafka.Kafka "$CONF/server.properties" \
        > "$LOGS/kafka.out" 2>&1 < /dev/null &
  local pid=$!
  echo "$pid" > "$PIDFILE"
  local deadline=$((SECONDS + START_TIMEOUT))
  until port_open "$PORT" && [ "$(grep -c 'Kafka Server started' "$LOGS/server.log" 2>/dev/null || true)" -gt "${started_before:-0}" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then log_tail; rm -f "$PIDFILE"; die "broker exited during start-up"; fi
    if [ "$SECONDS" -ge "$deadline" ]; then log_tail; stop >&2; die "not ready after ${START_TIMEOUT}s"; fi
    sleep 0.5
  done
  if [ -n "${KAFKA_OWNER_PID:-}" ]; then
    # A killed test run never reaches its teardown; this watchdog stops the broker instead.
    KAFKA_PORT="$PORT" KAFKA_HOME="$KAFKA_HOME" setsid nohup bash -c \
      'while kill -0 "$0" 2>/dev/null && kill -0 "$1" 2>/dev/null; do sleep 2; done; if kill -0 "$1" 2>/dev/null; then exec bash "$2" stop; fi' \
      "$KAFKA_OWNER_PID" "$pid" "$SCRIPT" > /dev/null 2>&1 < /dev/null &
  fi
  say "Kafka $KAFKA_VERSION ready on $HOST:$PORT (pid $pid, logs in $LOGS)"
  echo "KAFKA_BROKERS=$HOST:$PORT"
}

status() {
  local pid
  if pid="$(running_pid)"; then say "running on $HOST:$PORT (pid $pid)"; return 0; fi
  say "stopped (port $PORT)"; return 1
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: kafka-local.sh start|stop|status" >&2; exit 2 ;;
esac
